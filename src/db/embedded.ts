import { randomBytes } from 'node:crypto';
import { readFile, writeFile } from 'node:fs/promises';
import net from 'node:net';
import path from 'node:path';
import pg from 'pg';
import { AppError } from '../shared/errors.ts';
import type { Logger } from '../shared/logger.ts';
import { asUnreachable } from './pool.ts';
import { packagedBinaries, usableBinaries, type Binaries } from './embedded.binaries.ts';
import {
  initialiseDataDir,
  isInitialised,
  locateDataDir,
  PASSWORD_FILE,
  PORT_FILE,
  readDataFile,
  removeDataDir,
  writeSecretFile,
  type DataDir,
} from './embedded.datadir.ts';
import {
  embeddedFailure,
  runProgram,
  startServerProcess,
  type RunAs,
  type ServerProcess,
} from './embedded.process.ts';

export interface EmbeddedServer {
  /** Connection string with the superuser's password: never log it (describeDatabase is safe). */
  url: string;
  port: number;
  /** Where PostgreSQL's files are (EMBEDDED_PG_DIR, or where its symlink points). */
  dataDir: string;
  stop(): Promise<void>;
}

const USER = 'postgres';
/** What releases before the password file used: a data directory still on it gets a new one. */
export const LEGACY_PASSWORD = 'rr-sync-embedded';

/**
 * Start (and on first use initialise) an embedded PostgreSQL for users without a database of
 * their own. It listens on 127.0.0.1 only, on a free port remembered per data directory (so two
 * checkouts run side by side), with a random superuser password kept in a 0600 file in the data
 * directory. PostgreSQL refuses to run as root, so as root it runs as the `postgres` system user.
 * Every failure is an AppError (`db.embedded_failed`, exit 4, or `config.invalid` for a taken
 * EMBEDDED_PG_PORT), never an unhandled 'error' event.
 */
export async function startEmbeddedPostgres(options: EmbeddedOptions): Promise<EmbeddedServer> {
  try {
    return await start(options);
  } catch (err) {
    if (err instanceof AppError) throw err;
    // A file system error (EMBEDDED_PG_DIR under a file, a read-only disk…) is still a start-up
    // failure the user can act on, not an "unexpected failure".
    const reason = (err as NodeJS.ErrnoException).message ?? String(err);
    throw embeddedFailure(
      'failed',
      `The embedded PostgreSQL (EMBEDDED_PG_DIR ${path.resolve(options.dir)}) could not start: ${reason}`,
      { dataDir: path.resolve(options.dir) },
      err,
    );
  }
}

interface EmbeddedOptions {
  dir: string;
  /** EMBEDDED_PG_PORT; unset: a free port, remembered in the data directory. */
  port?: number;
  /** EMBEDDED_PG_SYSTEM_DIR: as root, where binaries and data go when `postgres` cannot reach ours. */
  systemDir?: string;
  logger: Logger;
  persistent?: boolean;
  database?: string;
  /** Tests: PostgreSQL binaries other than the packaged ones. */
  binaries?: Binaries;
}

async function start(options: EmbeddedOptions): Promise<EmbeddedServer> {
  const { logger } = options;
  const systemDir = path.resolve(options.systemDir ?? '/var/lib/rr-sync');
  // A taken EMBEDDED_PG_PORT fails before anything is created on disk.
  if (options.port !== undefined) await assertPortFree(options.port);
  const runAs = await runtimeUser();
  const bins = await usableBinaries({
    packaged: options.binaries ?? (await packagedBinaries()),
    runAs,
    systemDir,
    logger,
  });
  const dir = await locateDataDir(path.resolve(options.dir), runAs, systemDir);
  let password: string | undefined;
  if (await isInitialised(dir)) {
    await assertNotLocked(dir.path);
    password = await readDataFile(dir.path, PASSWORD_FILE);
  } else {
    password = await initialiseDataDir(dir, bins, runAs, logger);
  }
  const { server, port } = await startOnFreePort(dir, bins, runAs, options.port, logger);
  const stop = async () => {
    await server.stop();
    if (options.persistent === false) await removeDataDir(dir);
  };
  try {
    if (!password) password = await replaceLegacyPassword(dir, port);
    const database = options.database ?? 'rr_sync_demo';
    await createDatabase(adminUrl(password, port, 'postgres'), database);
    logger.info({ dataDir: dir.path, port }, 'embedded PostgreSQL ready');
    return { url: adminUrl(password, port, database), port, dataDir: dir.path, stop };
  } catch (err) {
    await stop();
    throw err;
  }
}

function adminUrl(password: string, port: number, database: string): string {
  return `postgres://${USER}:${encodeURIComponent(password)}@127.0.0.1:${port}/${database}`;
}

/** As root: the `postgres` system user (created when missing). Otherwise: this user. */
async function runtimeUser(): Promise<RunAs> {
  if (process.getuid?.() !== 0) return undefined;
  const lookup = async () => {
    const [uid, gid] = await Promise.all([
      runProgram('id', ['-u', USER], undefined),
      runProgram('id', ['-g', USER], undefined),
    ]);
    if (uid.code !== 0 || gid.code !== 0) return undefined;
    return { uid: Number(uid.output.trim()), gid: Number(gid.output.trim()) };
  };
  const found = await lookup().catch(() => undefined);
  if (found) return found;
  const made = await runProgram('useradd', ['--system', '--user-group', '--no-create-home', USER], undefined)
    .then(lookup)
    .catch(() => undefined);
  if (made) return made;
  throw embeddedFailure(
    'no_user',
    'PostgreSQL cannot run as root and there is no system user `postgres` to run it as (creating one with useradd failed). Create it (useradd --system postgres), run as another user, or set DATABASE_URL to a PostgreSQL of your own.',
  );
}

/**
 * A server still running on this data directory (another rr-sync of the same checkout, or one
 * left over after a crash) keeps postmaster.pid; say so before touching the port file.
 */
async function assertNotLocked(dataDir: string): Promise<void> {
  const pidFile = await readFile(path.join(dataDir, 'postmaster.pid'), 'utf8').catch(() => '');
  const [pidLine, , , portLine] = pidFile.split('\n');
  const pid = Number(pidLine);
  if (!Number.isInteger(pid) || pid <= 0 || !isAlive(pid)) return;
  throw embeddedFailure(
    'locked',
    `The embedded PostgreSQL data directory ${dataDir} is in use by another server (PID ${pid}, port ${portLine?.trim() || '?'}): another rr-sync with the same EMBEDDED_PG_DIR is running, or one was killed and left its server behind. Stop that rr-sync (or the server: kill -INT ${pid}), or give this copy its own EMBEDDED_PG_DIR.`,
    { dataDir, pid },
  );
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** Resolves true when nothing listens on 127.0.0.1:port (the check binds and closes at once). */
export function portIsFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const probe = net.createServer();
    probe.once('error', () => resolve(false));
    probe.listen({ host: '127.0.0.1', port, exclusive: true }, () => probe.close(() => resolve(true)));
  });
}

async function assertPortFree(port: number): Promise<void> {
  if (await portIsFree(port)) return;
  throw new AppError(
    'config.invalid',
    `EMBEDDED_PG_PORT: ${port} is already in use on 127.0.0.1; choose another port, or unset EMBEDDED_PG_PORT to let rr-sync pick a free one.`,
  );
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const probe = net.createServer();
    probe.once('error', reject);
    probe.listen({ host: '127.0.0.1', port: 0, exclusive: true }, () => {
      const { port } = probe.address() as net.AddressInfo;
      probe.close(() => resolve(port));
    });
  });
}

/**
 * EMBEDDED_PG_PORT when set (taken: config.invalid); else the port this data directory used last
 * time if it is still free, else a new free one. Between the check and the server's bind another
 * program can take the port: then a new one is tried.
 */
async function startOnFreePort(
  dir: DataDir,
  bins: Binaries,
  runAs: RunAs,
  explicit: number | undefined,
  logger: Logger,
): Promise<{ server: ServerProcess; port: number }> {
  for (let attempt = 1; ; attempt += 1) {
    let port: number;
    if (explicit !== undefined) {
      await assertPortFree(explicit);
      port = explicit;
    } else {
      const remembered = Number(await readDataFile(dir.path, PORT_FILE));
      port =
        Number.isInteger(remembered) && remembered > 0 && (await portIsFree(remembered))
          ? remembered
          : await freePort();
      await writeFile(path.join(dir.path, PORT_FILE), `${port}\n`);
    }
    try {
      const server = await startServerProcess({
        postgres: bins.postgres,
        dataDir: dir.path,
        port,
        runAs,
        logger,
      });
      return { server, port };
    } catch (err) {
      const retry =
        explicit === undefined &&
        attempt < 3 &&
        err instanceof AppError &&
        err.details?.reason === 'port_in_use';
      if (!retry) throw err;
    }
  }
}

/**
 * A data directory initialised before the password file existed still has the old fixed
 * password, which anyone who read our source knows: replace it with a random one now.
 */
async function replaceLegacyPassword(dir: DataDir, port: number): Promise<string> {
  const client = new pg.Client({ connectionString: adminUrl(LEGACY_PASSWORD, port, 'postgres') });
  client.on('error', () => undefined);
  try {
    await client.connect();
  } catch (err) {
    await client.end().catch(() => undefined);
    throw embeddedFailure(
      'password_unknown',
      `The embedded PostgreSQL in ${dir.path} has no ${PASSWORD_FILE} and does not accept the old default password, so rr-sync cannot log in. If its data is not needed, delete ${dir.link ?? dir.path} to start afresh; otherwise write the superuser's password into ${path.join(dir.path, PASSWORD_FILE)} (mode 0600).`,
      { dataDir: dir.path },
      err,
    );
  }
  try {
    const password = randomBytes(24).toString('base64url');
    await client.query(`alter role ${USER} password ${client.escapeLiteral(password)}`);
    await writeSecretFile(path.join(dir.path, PASSWORD_FILE), password);
    return password;
  } finally {
    await client.end().catch(() => undefined);
  }
}

async function createDatabase(url: string, database: string): Promise<void> {
  const admin = new pg.Client({ connectionString: url });
  admin.on('error', () => undefined);
  try {
    await admin.connect();
    const { rowCount } = await admin.query('select 1 from pg_database where datname = $1', [database]);
    if (!rowCount) await admin.query(`create database ${admin.escapeIdentifier(database)}`);
  } catch (err) {
    throw asUnreachable(err, url);
  } finally {
    await admin.end().catch(() => undefined);
  }
}
