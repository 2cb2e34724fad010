import type http from 'node:http';

/** Entity tags in an If-None-Match list (`*` kept as is), without the weak prefix. */
function parseEtagList(header: string): string[] {
  if (header.trim() === '*') return ['*'];
  return [...header.matchAll(/(?:W\/)?("[^"]*")/g)].map((m) => m[1]!);
}

/** RFC 9110 §13.1.2: If-None-Match uses the weak comparison; `*` matches any current representation. */
export function ifNoneMatchHits(header: string, etag: string): boolean {
  const strong = etag.replace(/^W\//, '');
  return parseEtagList(header).some((tag) => tag === '*' || tag === strong);
}

/** RFC 9110 §13.1.3: not modified when Last-Modified (whole seconds) is at or before the date. */
export function notModifiedSince(header: string, lastModifiedMs: number): boolean {
  const since = Date.parse(header);
  if (Number.isNaN(since)) return false; // an invalid date is ignored
  return Math.floor(lastModifiedMs / 1000) * 1000 <= since;
}

/** If-None-Match decides when present; If-Modified-Since only counts without it (RFC 9110 §13.2.2). */
export function isNotModified(req: http.IncomingMessage, etag: string, lastModifiedMs: number): boolean {
  const inm = req.headers['if-none-match'];
  if (inm !== undefined) return ifNoneMatchHits(inm, etag);
  const ims = req.headers['if-modified-since'];
  return ims !== undefined && notModifiedSince(ims, lastModifiedMs);
}

/**
 * Whether Accept-Encoding lets us send gzip (RFC 9110 §12.5.3): `gzip`/`x-gzip` with q > 0, or
 * `*` with q > 0 when gzip is not named. No header means we send identity, the safe choice.
 */
export function acceptsGzip(header: string | undefined): boolean {
  if (header === undefined) return false;
  let gzip: number | undefined;
  let star: number | undefined;
  for (const member of header.split(',')) {
    const [coding = '', ...params] = member.split(';');
    const name = coding.trim().toLowerCase();
    if (!name) continue;
    let q = 1;
    for (const p of params) {
      const m = /^\s*q\s*=\s*(\S*)\s*$/i.exec(p);
      if (m) q = /^(0(\.\d{0,3})?|1(\.0{0,3})?)$/.test(m[1]!) ? Number(m[1]) : 0;
    }
    if (name === 'gzip' || name === 'x-gzip') gzip = Math.max(gzip ?? 0, q);
    else if (name === '*') star = q;
  }
  return (gzip ?? star ?? 0) > 0;
}
