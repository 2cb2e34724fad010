import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { asUnreachable } from '../../src/db/pool.ts';
import { redactUrl, redactUrlsIn } from '../../src/shared/redact.ts';

/** Secrets made of capital letters L-Z plus characters that end a naive match early. */
const secret = fc
  .tuple(
    fc.stringMatching(/^[L-Z]{6,10}$/),
    fc.constantFrom('', '@', '/', ':', ' ', '#', '?', '%', '&', '%40'),
    fc.stringMatching(/^[L-Z]{6,10}$/),
  )
  .map(([a, sep, b]) => ({ value: a + sep + b, parts: [a, b] }));

describe('redactUrl', () => {
  it('masks user-info and secret query values, keeps host, path and other parameters', () => {
    expect(redactUrl('postgres://shop:s3cret@db.internal:5433/store?sslmode=require')).toBe(
      'postgres://***@db.internal:5433/store?sslmode=require',
    );
    expect(redactUrl('https://feeds.example/catalog.xml?token=abc&x=1&apiKey=k')).toBe(
      'https://feeds.example/catalog.xml?token=***&x=1&apiKey=***',
    );
    expect(redactUrl('https://rr.example/api/1.0/')).toBe('https://rr.example/api/1.0/');
  });

  it('shows nothing before the last @ of a value the URL parser refuses', () => {
    expect(redactUrl('postgres://u:p@ss/word@host:99999/db')).toBe('postgres://***@host:99999/db');
    expect(redactUrl('not a url at all')).toBe('not a url at all');
  });

  it('never shows any part of a random password or user name (property)', () => {
    fc.assert(
      fc.property(
        secret,
        secret,
        fc.constantFrom('postgres', 'postgresql', 'https', 'http', 'ftp'),
        ({ value: user, parts: userParts }, { value: pass, parts: passParts }, scheme) => {
          for (const url of [
            `${scheme}://${user}:${pass}@db.example:5432/x`,
            `${scheme}://${encodeURIComponent(user)}:${encodeURIComponent(pass)}@db.example/x`,
            `${scheme}://db.example/x?password=${encodeURIComponent(pass)}&token=${encodeURIComponent(user)}`,
          ]) {
            const shown = redactUrl(url) + redactUrlsIn(`failed: ${url} (retry later)`);
            for (const part of [...userParts, ...passParts]) expect(shown).not.toContain(part);
            expect(shown).toContain('db.example');
          }
        },
      ),
      { numRuns: 300 },
    );
  });
});

describe('database connection errors', () => {
  it('name host, port and database, never the password, also when the driver quotes the URL', () => {
    const url = 'postgres://shop:Pa55@word@127.0.0.1:1/store';
    const err = Object.assign(
      new Error('connect ECONNREFUSED 127.0.0.1:1 (via postgres://other:hunter22@10.0.0.9/x)'),
      {
        code: 'ECONNREFUSED',
      },
    );
    const mapped = asUnreachable(err, url) as Error & { code: string };
    expect(mapped.code).toBe('db.unreachable');
    expect(mapped.message).toBe(
      'Cannot reach PostgreSQL at 127.0.0.1:1/store: connect ECONNREFUSED 127.0.0.1:1 (via postgres://***@10.0.0.9/x)',
    );
  });
});
