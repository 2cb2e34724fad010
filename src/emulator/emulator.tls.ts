import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, writeFile } from 'node:fs/promises';
import { isIP } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { generate } from 'selfsigned';

export interface TlsMaterial {
  key: string;
  cert: string;
  caCert: string;
  /** PEM of the CA: what a client trusts (RR_CA_FILE). */
  caFile: string;
  dataDir: string;
}

const DAY = 24 * 60 * 60 * 1000;

/**
 * A CA and a server certificate signed by it. The CA is kept in `dataDir` and reused when the
 * directory already holds one, so a user trusts it once; the server certificate is new each start.
 */
export async function createTlsMaterial(dataDir: string | undefined, host: string): Promise<TlsMaterial> {
  const dir = dataDir ?? (await mkdtemp(path.join(tmpdir(), 'rr-emulator-')));
  await mkdir(dir, { recursive: true });
  const caFile = path.join(dir, 'emulator-ca.pem');
  const caKeyFile = path.join(dir, 'emulator-ca.key');
  let ca: { cert: string; key: string };
  if (existsSync(caFile) && existsSync(caKeyFile)) {
    ca = { cert: await readFile(caFile, 'utf8'), key: await readFile(caKeyFile, 'utf8') };
  } else {
    const now = new Date();
    const generated = await generate([{ name: 'commonName', value: 'rr-catalog-sync emulator CA' }], {
      keyType: 'ec',
      curve: 'P-256',
      algorithm: 'sha256',
      notBeforeDate: new Date(now.getTime() - DAY),
      notAfterDate: new Date(now.getTime() + 3650 * DAY),
      extensions: [
        { name: 'basicConstraints', cA: true, critical: true },
        { name: 'keyUsage', keyCertSign: true, cRLSign: true, digitalSignature: true, critical: true },
      ],
    });
    ca = { cert: generated.cert, key: generated.private };
    await writeFile(caKeyFile, ca.key, { mode: 0o600 });
    await writeFile(caFile, ca.cert, { mode: 0o644 });
  }
  const names = new Set(['localhost', '127.0.0.1', '::1', host]);
  const altNames = [...names]
    .filter((n) => n !== '' && n !== '0.0.0.0' && n !== '::')
    .map((n) => (isIP(n) ? { type: 7 as const, ip: n } : { type: 2 as const, value: n }));
  const now = new Date();
  const server = await generate([{ name: 'commonName', value: 'localhost' }], {
    keyType: 'ec',
    curve: 'P-256',
    algorithm: 'sha256',
    notBeforeDate: new Date(now.getTime() - DAY),
    notAfterDate: new Date(now.getTime() + 365 * DAY),
    ca,
    extensions: [
      { name: 'basicConstraints', cA: false },
      { name: 'keyUsage', digitalSignature: true, keyEncipherment: true },
      { name: 'extKeyUsage', serverAuth: true },
      { name: 'subjectAltName', altNames },
    ],
  });
  return { key: server.private, cert: server.cert, caCert: ca.cert, caFile, dataDir: dir };
}
