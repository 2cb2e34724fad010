import { afterEach, describe, expect, it } from 'vitest';
import type { EmulatorHandle } from '../../src/emulator/index.ts';
import { AUTH, startTestEmulator, ts } from './emulator.helpers.ts';

const TOKEN = 'emulator-admin-token-0123';
let emu: EmulatorHandle | undefined;
afterEach(async () => {
  await emu?.stop();
  emu = undefined;
});

const get = (url: string, headers: Record<string, string> = {}) => fetch(url, { headers });

describe('emulator admin token', () => {
  it('refuses to listen off loopback without an admin token, and says how to fix it', async () => {
    await expect(startTestEmulator({ host: '0.0.0.0' })).rejects.toMatchObject({
      code: 'usage.invalid',
      message:
        'emulator: listening on 0.0.0.0 (not loopback) would let anyone who can reach it read and reset the emulator through /__emulator/: set an admin token (--admin-token / EMULATOR_ADMIN_TOKEN), or listen on 127.0.0.1',
    });
    await expect(startTestEmulator({ adminToken: 'too-short' })).rejects.toMatchObject({
      code: 'usage.invalid',
      message: 'emulator: adminToken must be at least 16 characters',
    });
  });

  it('off loopback, admin routes need the Bearer token; health and the Retail Rocket API do not', async () => {
    emu = await startTestEmulator({ host: '0.0.0.0', adminToken: TOKEN });
    const base = emu.httpUrl.replace('0.0.0.0', '127.0.0.1');
    const none = await get(`${base}/__emulator/catalog`);
    expect(none.status).toBe(401);
    expect(none.headers.get('www-authenticate')).toBe('Bearer realm="rr-emulator admin"');
    expect(await none.json()).toEqual({
      error: 'unauthorized',
      message: 'the emulator admin routes need its admin token: Authorization: Bearer <token>',
    });
    expect((await get(`${base}/__emulator/catalog`, { authorization: `Bearer ${TOKEN}x` })).status).toBe(401);
    const reset = await fetch(`${base}/__emulator/reset`, { method: 'POST' });
    expect(reset.status).toBe(401);
    const ok = await get(`${base}/__emulator/catalog`, { authorization: `Bearer ${TOKEN}` });
    expect(ok.status).toBe(200);
    expect(((await ok.json()) as { items: number }).items).toBe(0);
    expect((await get(`${base}/__emulator/health`)).status).toBe(200);
    const view = await fetch(`${base}/1.0/view?${AUTH}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ productId: 1, sessionExternalId: 'abc', timestamp: ts }),
    });
    expect(view.status).toBe(200);
  });

  it('on loopback the admin routes are open, unless a token was given', async () => {
    emu = await startTestEmulator();
    expect((await get(`${emu.httpUrl}/__emulator/catalog`)).status).toBe(200);
    await emu.stop();
    emu = await startTestEmulator({ adminToken: TOKEN });
    expect((await get(`${emu.httpUrl}/__emulator/catalog`)).status).toBe(401);
  });
});
