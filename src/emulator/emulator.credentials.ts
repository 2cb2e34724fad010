import { isIP } from 'node:net';
import type { PartnerCredentials } from './emulator.types.ts';

/** Retail Rocket's partnerId and apiKey are 24 lowercase hex characters (retailrocket-api.md §1.5/1.6). */
const RR_ID = /^[0-9a-f]{24}$/;
const EXAMPLE_ID = 'a1b2c3d4e5f6a7b8c9d0e1f2';

/**
 * Why these credentials cannot be Retail Rocket's, or null. A placeholder copied from the README
 * (`5f1b...`) would otherwise be accepted and the client configured with it would pass every test
 * here and fail against Retail Rocket. The apiKey is secret: it is never quoted.
 */
export function credentialsProblem(p: PartnerCredentials): string | null {
  if (!RR_ID.test(p.partnerId))
    return `partnerId ${JSON.stringify(p.partnerId)} is not in Retail Rocket's format: 24 lowercase hex characters, e.g. ${EXAMPLE_ID} (use your own from my.retailrocket.net, or omit it for the demo pair)`;
  if (!RR_ID.test(p.apiKey))
    return `the apiKey of partner ${p.partnerId} is not in Retail Rocket's format: 24 lowercase hex characters (the key is not shown)`;
  return null;
}

/** Addresses only this machine can reach; anything else exposes the admin routes to a network. */
export function isLoopbackHost(host: string): boolean {
  if (host === 'localhost') return true;
  const bare = host.replace(/^\[|\]$/g, '');
  if (isIP(bare) === 6) return bare === '::1' || /^::ffff:127\./i.test(bare);
  return isIP(bare) === 4 && bare.startsWith('127.');
}
