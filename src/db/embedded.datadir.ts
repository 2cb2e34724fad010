import { createHash, randomBytes } from 'node:crypto';
import {
  chown,
  lstat,
  mkdir,
  mkdtemp,
  readFile,
  readlink,
  rename,
  rm,
  symlink,
  writeFile,
} from 'node:fs/promises';
import path from 'node:path';
import type { Logger } from '../shared/logger.ts';
import type { Binaries } from './embedded.binaries.ts';
import { canTraverse } from './embedded.binaries.ts';
import { embeddedFailure, runProgram, tail, type RunAs } from './embedded.process.ts';

/** Files rr-sync keeps in the data directory beside PostgreSQL's own (PostgreSQL ignores them). */
export const PASSWORD_FILE = 'rr-sync.password';
export const PORT_FILE = 'rr-sync.port';

export interface DataDir {
  /** Where PostgreSQL's files are (EMBEDDED_PG_DIR itself, or the directory its symlink names). */
  path: string;
  /** EMBEDDED_PG_DIR when it is a symlink to `path` (made when the data had to move). */
  link?: string;
}

async function exists(p: string): Promise<boolean> {
  return lstat(p).then(
    () => true,
    () => false,
  );
}

/**
 * Where the data lives. Normally EMBEDDED_PG_DIR itself. As root the server runs as `postgres`,
 * which must reach the directory; inside a private directory (root's home, `mktemp -d`) it
 * cannot, so a new data directory goes to `systemDir/data-<hash of EMBEDDED_PG_DIR>` and
 * EMBEDDED_PG_DIR becomes a symlink to it. The user's directories are never chmod-ed.
 */
export async function locateDataDir(requested: string, runAs: RunAs, systemDir: string): Promise<DataDir> {
  const stat = await lstat(requested).catch(() => null);
  if (stat?.isSymbolicLink()) {
    const target = path.resolve(path.dirname(requested), await readlink(requested));
    return { path: target, link: requested };
  }
  if (stat) {
    if (!(await canTraverse(path.dirname(requested), runAs))) {
      throw embeddedFailure(
        'unreachable',
        `The postgres user cannot reach the embedded PostgreSQL data directory ${requested} (PostgreSQL cannot run as root, and a parent directory is private). Move the directory to a place the postgres user can reach and point EMBEDDED_PG_DIR there, or delete it to start afresh.`,
        { dataDir: requested },
      );
    }
    return { path: requested };
  }
  await mkdir(path.dirname(requested), { recursive: true });
  if (await canTraverse(path.dirname(requested), runAs)) return { path: requested };
  const hash = createHash('sha256').update(requested).digest('hex').slice(0, 12);
  await mkdir(systemDir, { recursive: true, mode: 0o755 });
  return { path: path.join(systemDir, `data-${hash}`), link: requested };
}

/**
 * Initialise a new data directory with a random superuser password (scram-sha-256 over TCP on
 * 127.0.0.1; no Unix socket). initdb runs in a sibling temporary directory that is renamed into
 * place only once the password file is written, so a crash never leaves a data directory whose
 * password nobody knows.
 */
export async function initialiseDataDir(
  dir: DataDir,
  bins: Binaries,
  runAs: RunAs,
  logger: Logger,
): Promise<string> {
  const parent = path.dirname(dir.path);
  await mkdir(parent, { recursive: true, mode: 0o755 });
  if (!(await canTraverse(parent, runAs))) {
    throw embeddedFailure(
      'unreachable',
      `The postgres user cannot reach ${parent}, where the embedded PostgreSQL data would go. Set EMBEDDED_PG_SYSTEM_DIR (or EMBEDDED_PG_DIR) to a directory whose parents it can traverse.`,
      { dataDir: dir.path },
    );
  }
  logger.info({ dataDir: dir.path }, 'initialising the embedded PostgreSQL (first run)');
  const password = randomBytes(24).toString('base64url');
  const temp = await mkdtemp(path.join(parent, `.${path.basename(dir.path)}.init-`));
  const pwDir = await mkdtemp(path.join(parent, `.${path.basename(dir.path)}.pw-`));
  try {
    const pwFile = path.join(pwDir, 'pw');
    await writeFile(pwFile, `${password}\n`, { mode: 0o600 });
    if (runAs) {
      await chown(temp, runAs.uid, runAs.gid);
      await chown(pwDir, runAs.uid, runAs.gid);
      await chown(pwFile, runAs.uid, runAs.gid);
    }
    const result = await runProgram(
      bins.initdb,
      [
        `--pgdata=${temp}`,
        '--username=postgres',
        `--pwfile=${pwFile}`,
        '--auth=scram-sha-256',
        '--encoding=UTF8',
        '--locale=C',
        '--locale-provider=builtin',
        '--builtin-locale=C.UTF-8',
        '--no-instructions',
      ],
      runAs,
    ).catch((err: NodeJS.ErrnoException) => {
      throw embeddedFailure(
        'not_executable',
        `Cannot run ${bins.initdb} (${err.code ?? err.message}).`,
        { binary: bins.initdb },
        err,
      );
    });
    if (result.code !== 0) {
      throw embeddedFailure(
        'init_failed',
        `initdb failed for the embedded PostgreSQL in ${dir.path} (exit ${result.code ?? result.signal}): ${tail(result.output)}`,
        { dataDir: dir.path },
      );
    }
    await writeSecretFile(path.join(temp, PASSWORD_FILE), password);
    await rename(temp, dir.path).catch((err: NodeJS.ErrnoException) => {
      if (err.code !== 'ENOTEMPTY' && err.code !== 'EEXIST') throw err;
      throw embeddedFailure(
        'init_failed',
        `${dir.path} exists but is not a PostgreSQL data directory: point EMBEDDED_PG_DIR at a new or empty directory, or remove it.`,
        { dataDir: dir.path },
      );
    });
    if (dir.link && !(await exists(dir.link))) await symlink(dir.path, dir.link);
    return password;
  } finally {
    await rm(pwDir, { recursive: true, force: true });
    await rm(temp, { recursive: true, force: true });
  }
}

/** Mode 0600 from the first byte: the file is never readable by others, not even briefly. */
export async function writeSecretFile(file: string, value: string): Promise<void> {
  await rm(file, { force: true });
  await writeFile(file, `${value}\n`, { mode: 0o600, flag: 'wx' });
}

export async function readDataFile(dir: string, name: string): Promise<string | undefined> {
  return readFile(path.join(dir, name), 'utf8').then(
    (s) => s.trim() || undefined,
    () => undefined,
  );
}

export async function isInitialised(dir: DataDir): Promise<boolean> {
  return exists(path.join(dir.path, 'PG_VERSION'));
}

/** Remove a data directory (and the symlink that pointed at it): the tests' throw-away servers. */
export async function removeDataDir(dir: DataDir): Promise<void> {
  await rm(dir.path, { recursive: true, force: true });
  if (dir.link) await rm(dir.link, { force: true });
}
