import pg from 'pg';

/** The server the benchmarks create their databases on (BENCH_DATABASE_URL). */
export const benchAdminUrl = process.env.BENCH_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';

/** An empty database `name` (dropped first if it exists), and its URL. */
export async function freshDatabase(name: string): Promise<string> {
  const admin = new pg.Client({ connectionString: benchAdminUrl });
  await admin.connect();
  await admin.query(`drop database if exists ${name} with (force)`);
  await admin.query(`create database ${name}`);
  await admin.end();
  const u = new URL(benchAdminUrl);
  u.pathname = `/${name}`;
  return u.toString();
}
