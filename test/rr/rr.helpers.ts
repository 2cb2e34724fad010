import type { Logger } from '../../src/shared/logger.ts';
import type { RetailRocketClientConfig } from '../../src/rr/index.ts';

export const API_KEY = 'k3y5ecret0123456789abcdef';
export const PARTNER_ID = '5f1b2c3d4e5f60718293a4b5';

export function rrConfig(
  base: string,
  over: Partial<RetailRocketClientConfig> = {},
): RetailRocketClientConfig {
  const b = base.endsWith('/') ? base : `${base}/`;
  return {
    partnerId: PARTNER_ID,
    apiKey: API_KEY,
    trackingUrl: `${b}1.0/`,
    recommendationsUrl: `${b}api/3.0/`,
    productApiUrl: `${b}api/1.0/`,
    timeoutMs: 500,
    rateLimit: 10_000,
    http: { keepAliveMs: 1000 },
    ...over,
  };
}

/** A Logger that keeps every line (as JSON text) so tests can search them. */
export function captureLogger(): Logger & { lines: string[] } {
  const lines: string[] = [];
  const make = (bindings: Record<string, unknown>): Logger => {
    const log = (level: string) => (obj: Record<string, unknown>, msg?: string) =>
      lines.push(JSON.stringify({ level, ...bindings, ...obj, msg }));
    return {
      debug: log('debug'),
      info: log('info'),
      warn: log('warn'),
      error: log('error'),
      child: (b) => make({ ...bindings, ...b }),
    };
  };
  return Object.assign(make({}), { lines });
}
