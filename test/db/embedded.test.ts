import {
  chmod,
  cp,
  lstat,
  mkdtemp,
  readFile,
  rm,
  stat,
  unlink,
  appendFile,
  writeFile,
} from 'node:fs/promises';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { packagedBinaries, type Binaries } from '../../src/db/embedded.binaries.ts';
import { LEGACY_PASSWORD, startEmbeddedPostgres } from '../../src/db/embedded.ts';
import { classifyStartFailure } from '../../src/db/embedded.process.ts';
import { AppError } from '../../src/shared/errors.ts';
import { silentLogger } from '../../src/shared/logger.ts';

const isRoot = process.getuid?.() === 0;
let work: string;
/** Where relocated binaries and data go in these tests (stands for /var/lib/rr-sync). */
let systemDir: string;

beforeAll(async () => {
  work = await mkdtemp(path.join(os.tmpdir(), 'rr-embedded-'));
  await chmod(work, 0o755);
  systemDir = path.join(work, 'system');
});
afterAll(async () => {
  await rm(work, { recursive: true, force: true });
});

async function query(url: string, sql: string): Promise<pg.QueryResult> {
  const client = new pg.Client({ connectionString: url });
  try {
    await client.connect();
    return await client.query(sql);
  } finally {
    await client.end().catch(() => undefined);
  }
}

function withPassword(url: string, password: string): string {
  const u = new URL(url);
  u.password = password;
  return u.toString();
}

async function failure(p: Promise<unknown>): Promise<AppError> {
  const err = await p.then(
    () => new Error('expected a failure'),
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(AppError);
  return err as AppError;
}

/** A copy of the packaged PostgreSQL binaries (to hide in a private directory, or to break). */
async function copyBinaries(to: string): Promise<Binaries> {
  const packaged = await packagedBinaries();
  await cp(packaged.nativeDir, to, { recursive: true, verbatimSymlinks: true });
  return {
    ...packaged,
    nativeDir: to,
    postgres: path.join(to, 'bin', 'postgres'),
    initdb: path.join(to, 'bin', 'initdb'),
  };
}

describe('embedded PostgreSQL from a private (0700) directory', () => {
  it('starts with binaries and data inside a 0700 directory, keeps data and port across restarts, and never chmods the directory', async () => {
    const home = await mkdtemp(path.join(work, 'home-'));
    expect((await stat(home)).mode & 0o777).toBe(0o700);
    // node_modules inside the private directory, as after `npm install` in /root or `mktemp -d`.
    const binaries = await copyBinaries(path.join(home, 'node_modules', 'native'));
    const dir = path.join(home, '.data', 'pg');

    const first = await startEmbeddedPostgres({
      dir,
      systemDir,
      binaries,
      logger: silentLogger,
      database: 'shop',
    });
    try {
      const { rows } = await query(first.url, 'select current_database() as db');
      expect(rows[0].db).toBe('shop');
      await query(first.url, 'create table kept (n int); insert into kept values (42)');
    } finally {
      await first.stop();
    }
    if (isRoot) {
      // The postgres user cannot enter `home`: data and binaries moved to the system directory,
      // and EMBEDDED_PG_DIR became a symlink to the data.
      expect((await lstat(dir)).isSymbolicLink()).toBe(true);
      expect(first.dataDir.startsWith(`${systemDir}${path.sep}data-`)).toBe(true);
      expect(
        (
          await stat(
            path.join(
              systemDir,
              `postgresql-${binaries.version}-${process.platform}-${process.arch}`,
              'bin',
              'postgres',
            ),
          )
        ).isFile(),
      ).toBe(true);
    } else {
      expect(first.dataDir).toBe(dir);
    }
    expect((await stat(home)).mode & 0o777).toBe(0o700);

    const second = await startEmbeddedPostgres({
      dir,
      systemDir,
      binaries,
      logger: silentLogger,
      database: 'shop',
    });
    try {
      expect(second.port).toBe(first.port);
      expect(second.dataDir).toBe(first.dataDir);
      const { rows } = await query(second.url, 'select n from kept');
      expect(rows).toEqual([{ n: 42 }]);
    } finally {
      await second.stop();
    }
  });
});

describe('embedded PostgreSQL password', () => {
  it('is random, kept in a 0600 file in the data directory; the old fixed password is refused, and an old data directory gets a new one', async () => {
    const dir = path.join(work, 'pw', 'pg');
    const server = await startEmbeddedPostgres({ dir, systemDir, logger: silentLogger });
    const passwordFile = path.join(server.dataDir, 'rr-sync.password');
    let password: string;
    try {
      expect((await stat(passwordFile)).mode & 0o777).toBe(0o600);
      password = (await readFile(passwordFile, 'utf8')).trim();
      expect(password).toMatch(/^[A-Za-z0-9_-]{32}$/);
      expect(new URL(server.url).password).toBe(password);
      const refused = await query(withPassword(server.url, LEGACY_PASSWORD), 'select 1').catch(
        (e: unknown) => e,
      );
      expect((refused as { code?: string }).code).toBe('28P01'); // invalid_password
      // Make it an old data directory: the fixed password, no password file.
      await query(server.url, `alter role postgres password '${LEGACY_PASSWORD}'`);
    } finally {
      await server.stop();
    }
    await unlink(passwordFile);

    const again = await startEmbeddedPostgres({ dir, systemDir, logger: silentLogger });
    try {
      expect((await stat(passwordFile)).mode & 0o777).toBe(0o600);
      const replaced = (await readFile(passwordFile, 'utf8')).trim();
      expect(replaced).toMatch(/^[A-Za-z0-9_-]{32}$/);
      expect(replaced).not.toBe(password);
      expect((await query(again.url, 'select 1 as one')).rows).toEqual([{ one: 1 }]);
      const refused = await query(withPassword(again.url, LEGACY_PASSWORD), 'select 1').catch(
        (e: unknown) => e,
      );
      expect((refused as { code?: string }).code).toBe('28P01');
    } finally {
      await again.stop();
    }
  });
});

describe('embedded PostgreSQL start-up failures are clear errors with an exit code', () => {
  it('two copies with their own data directories run at the same time; a data directory in use by another copy is db.embedded_failed (exit 4) naming the directory and the PID', async () => {
    const [a, b] = await Promise.all([
      startEmbeddedPostgres({ dir: path.join(work, 'two', 'a'), systemDir, logger: silentLogger }),
      startEmbeddedPostgres({ dir: path.join(work, 'two', 'b'), systemDir, logger: silentLogger }),
    ]);
    try {
      expect(a.port).not.toBe(b.port);
      expect((await query(a.url, 'select 1 as one')).rows).toEqual([{ one: 1 }]);
      expect((await query(b.url, 'select 1 as one')).rows).toEqual([{ one: 1 }]);

      const err = await failure(
        startEmbeddedPostgres({ dir: path.join(work, 'two', 'a'), systemDir, logger: silentLogger }),
      );
      expect(err.code).toBe('db.embedded_failed');
      expect(err.exitCode).toBe(4);
      expect(err.details).toMatchObject({ reason: 'locked', dataDir: a.dataDir });
      expect(err.message).toContain(a.dataDir);
      expect(err.message).toMatch(/in use by another server \(PID \d+, port \d+\)/);
      // The first copy is untouched and keeps its port.
      expect((await readFile(path.join(a.dataDir, 'rr-sync.port'), 'utf8')).trim()).toBe(String(a.port));
      expect((await query(a.url, 'select 1 as one')).rows).toEqual([{ one: 1 }]);
    } finally {
      await Promise.all([a.stop(), b.stop()]);
    }
  });

  describe('on an initialised data directory', () => {
    const dir = () => path.join(work, 'shared', 'pg');
    let dataDir: string;
    beforeAll(async () => {
      const server = await startEmbeddedPostgres({ dir: dir(), systemDir, logger: silentLogger });
      dataDir = server.dataDir;
      await server.stop();
    });

    it('a taken EMBEDDED_PG_PORT is config.invalid (exit 2); a taken remembered port is replaced by a free one', async () => {
      const blocker = net.createServer();
      await new Promise<void>((r) => blocker.listen({ host: '127.0.0.1', port: 0 }, r));
      const taken = (blocker.address() as net.AddressInfo).port;
      try {
        const err = await failure(
          startEmbeddedPostgres({ dir: dir(), port: taken, systemDir, logger: silentLogger }),
        );
        expect(err.code).toBe('config.invalid');
        expect(err.exitCode).toBe(2);
        expect(err.message).toContain(`EMBEDDED_PG_PORT: ${taken} is already in use`);

        await writeFile(path.join(dataDir, 'rr-sync.port'), `${taken}\n`);
        const moved = await startEmbeddedPostgres({ dir: dir(), systemDir, logger: silentLogger });
        try {
          expect(moved.port).not.toBe(taken);
          expect((await readFile(path.join(dataDir, 'rr-sync.port'), 'utf8')).trim()).toBe(
            String(moved.port),
          );
          expect((await query(moved.url, 'select 1 as one')).rows).toEqual([{ one: 1 }]);
        } finally {
          await moved.stop();
        }
      } finally {
        blocker.close();
      }
    });

    it('a server that exits at start-up is db.embedded_failed (exit 4) quoting its reason', async () => {
      const conf = path.join(dataDir, 'postgresql.conf');
      const original = await readFile(conf, 'utf8');
      await appendFile(conf, '\nno_such_setting = 1\n');
      try {
        const err = await failure(startEmbeddedPostgres({ dir: dir(), systemDir, logger: silentLogger }));
        expect(err.code).toBe('db.embedded_failed');
        expect(err.exitCode).toBe(4);
        expect(err.details).toMatchObject({ reason: 'exited', dataDir });
        expect(err.message).toContain('unrecognized configuration parameter "no_such_setting"');
      } finally {
        await writeFile(conf, original);
      }
    });
  });

  it('an EMBEDDED_PG_DIR that cannot be created is db.embedded_failed (exit 4) naming it', async () => {
    const file = path.join(work, 'a-file');
    await writeFile(file, 'not a directory');
    const dir = path.join(file, 'pg');
    const err = await failure(startEmbeddedPostgres({ dir, systemDir, logger: silentLogger }));
    expect(err.code).toBe('db.embedded_failed');
    expect(err.exitCode).toBe(4);
    expect(err.details).toMatchObject({ reason: 'failed', dataDir: dir });
    expect(err.message).toContain(
      `EMBEDDED_PG_DIR ${dir}) could not start: EEXIST: file already exists, mkdir '${file}'`,
    );
  });

  it('a binary that is not executable is db.embedded_failed (exit 4) naming the file', async () => {
    const binaries = await copyBinaries(path.join(work, 'noexec'));
    await chmod(binaries.postgres, 0o644);
    const err = await failure(
      startEmbeddedPostgres({
        dir: path.join(work, 'noexec-data'),
        binaries,
        systemDir,
        logger: silentLogger,
      }),
    );
    expect(err.code).toBe('db.embedded_failed');
    expect(err.exitCode).toBe(4);
    expect(err.details).toMatchObject({ reason: 'not_executable', binary: binaries.postgres });
    expect(err.message).toContain(`Cannot run ${binaries.postgres}`);
    expect(err.message).toContain('EACCES');
    await expect(lstat(path.join(work, 'noexec-data'))).rejects.toMatchObject({ code: 'ENOENT' });
  });
});

describe('classifyStartFailure', () => {
  it('reads why PostgreSQL stopped from its log', () => {
    expect(
      classifyStartFailure(
        'FATAL:  lock file "postmaster.pid" already exists\nHINT:  Is another postmaster (PID 4242) running in data directory "/x"?',
      ),
    ).toEqual({ reason: 'locked', pid: 4242 });
    expect(
      classifyStartFailure(
        'LOG:  could not bind IPv4 address "127.0.0.1": Address already in use\nWARNING:  could not create listen socket for "127.0.0.1"\nFATAL:  could not create any TCP/IP sockets',
      ),
    ).toEqual({ reason: 'port_in_use' });
    expect(classifyStartFailure('FATAL:  database files are incompatible with server')).toEqual({
      reason: 'exited',
    });
  });
});
