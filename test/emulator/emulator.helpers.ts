import { readFileSync } from 'node:fs';
import http2 from 'node:http2';
import {
  DEMO_PARTNER,
  startEmulator,
  type EmulatorHandle,
  type EmulatorOptions,
} from '../../src/emulator/index.ts';

export interface Reply {
  status: number;
  headers: Record<string, string>;
  text: string;
  /** Parsed JSON body (undefined when the body is empty or not JSON). */
  json: any; // eslint-disable-line @typescript-eslint/no-explicit-any
}

export interface RequestOptions {
  body?: unknown;
  /** Raw body bytes/text instead of JSON. */
  raw?: string | Buffer;
  headers?: Record<string, string>;
}

/** One request shape for both transports, so a test can run over HTTP/2 and HTTP/1.1 alike. */
export type Transport = (method: string, path: string, options?: RequestOptions) => Promise<Reply>;

function encode(options: RequestOptions): { body?: string | Buffer; headers: Record<string, string> } {
  const headers = { ...options.headers };
  if (options.raw !== undefined) return { body: options.raw, headers };
  if (options.body === undefined) return { headers };
  return { body: JSON.stringify(options.body), headers: { 'content-type': 'application/json', ...headers } };
}

function reply(status: number, headers: Record<string, string>, text: string): Reply {
  let json: unknown;
  try {
    json = text === '' ? undefined : JSON.parse(text);
  } catch {
    json = undefined;
  }
  return { status, headers, text, json };
}

/** HTTP/2 over TLS, trusting only the emulator's CA file, one multiplexed session. */
export function h2Transport(
  emu: EmulatorHandle,
): Transport & { close(): void; session: () => http2.ClientHttp2Session } {
  let session: http2.ClientHttp2Session | undefined;
  const open = () => {
    if (!session || session.closed || session.destroyed) {
      session = http2.connect(emu.h2Url, { ca: readFileSync(emu.caFile) });
      session.on('error', () => undefined);
    }
    return session;
  };
  const send: Transport = (method, path, options = {}) =>
    new Promise((resolve, reject) => {
      const { body, headers } = encode(options);
      const req = open().request({ ':method': method, ':path': path, ...headers });
      const chunks: Buffer[] = [];
      let status = 0;
      let got: Record<string, string> = {};
      req.on('response', (h) => {
        status = Number(h[':status']);
        got = Object.fromEntries(
          Object.entries(h)
            .filter(([k]) => !k.startsWith(':'))
            .map(([k, v]) => [k, String(v)]),
        );
      });
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => resolve(reply(status, got, Buffer.concat(chunks).toString('utf8'))));
      req.on('error', reject);
      req.end(body);
    });
  return Object.assign(send, {
    close: () => session?.close(),
    session: open,
  });
}

/** Plain HTTP/1.1 through the global fetch. */
export function http1Transport(emu: EmulatorHandle): Transport {
  return async (method, path, options = {}) => {
    const { body, headers } = encode(options);
    const res = await fetch(`${emu.httpUrl}${path}`, { method, headers, body });
    return reply(res.status, Object.fromEntries(res.headers), await res.text());
  };
}

export const P = DEMO_PARTNER;
export const AUTH = `partnerId=${P.partnerId}&apiKey=${P.apiKey}`;

export function startTestEmulator(options: EmulatorOptions = {}): Promise<EmulatorHandle> {
  return startEmulator({ port: 0, httpPort: 0, feedIntervalSeconds: 0, ...options });
}

export const ts = '2024-03-01T09:31:00Z';

/** A small catalog in Retail Rocket's YML dialect; every value is referenced by some test. */
export function feedXml(offers: string, extraCategories = ''): string {
  return `<?xml version="1.0" encoding="UTF-8"?>
<yml_catalog date="2024-03-01 09:30">
  <shop>
    <categories>
      <category id="10">Kitchen</category>
      <category id="11" parentId="10">Knives</category>
      <category id="12" parentId="10">Pans</category>
      <category id="20">Garden</category>${extraCategories}
    </categories>
    <offers>${offers}
    </offers>
  </shop>
</yml_catalog>`;
}

export function offer(
  id: string,
  opts: {
    available?: boolean;
    group?: string;
    cat?: string;
    price?: number;
    oldprice?: number;
    stocks?: string;
    vendor?: string;
    name?: string;
  } = {},
): string {
  return `
      <offer id="${id}" available="${opts.available ?? true}"${opts.group ? ` group_id="${opts.group}"` : ''}>
        <url>https://shop.example/p/${id}</url>
        <price>${opts.price ?? 10}</price>${opts.oldprice ? `<oldprice>${opts.oldprice}</oldprice>` : ''}
        <categoryId>${opts.cat ?? '11'}</categoryId>
        <picture>https://shop.example/img/${id}.jpg</picture>
        <name>${opts.name ?? `Item ${id}`}</name>${opts.vendor ? `<vendor>${opts.vendor}</vendor>` : ''}${opts.stocks ?? ''}
      </offer>`;
}

/** Imports XML through the admin API and returns the report. */
export async function importFeed(send: Transport, xml: string, partnerId = P.partnerId): Promise<Reply> {
  return send('POST', `/__emulator/feed?partnerId=${partnerId}`, {
    raw: xml,
    headers: { 'content-type': 'application/xml' },
  });
}

export async function track(send: Transport, type: string, body: Record<string, unknown>): Promise<Reply> {
  return send('POST', `/1.0/${type}?${AUTH}`, { body: { timestamp: ts, ...body } });
}
