import { once } from 'node:events';
import { z } from 'zod';
import {
  DEMO_PARTNER,
  startEmulator,
  type EmulatorOptions,
  type PartnerCredentials,
} from '../../emulator/index.ts';
import { credentialsProblem } from '../../emulator/emulator.credentials.ts';
import { redactUrl } from '../../emulator/emulator.feed.ts';
import { AppError, EXIT } from '../../shared/errors.ts';
import type { Command, CommandContext } from '../command.ts';

/** Flag → environment variable that may set it too (the flag wins). */
const ENV_BY_FLAG = {
  host: 'EMULATOR_HOST',
  port: 'EMULATOR_PORT',
  'http-port': 'EMULATOR_HTTP_PORT',
  partner: 'EMULATOR_PARTNERS',
  'feed-url': 'EMULATOR_FEED_URL',
  'feed-interval': 'EMULATOR_FEED_INTERVAL',
  'feed-timeout': 'EMULATOR_FEED_TIMEOUT',
  'delay-ms': 'EMULATOR_DELAY_MS',
  'error-rate': 'EMULATOR_ERROR_RATE',
  'data-dir': 'EMULATOR_DATA_DIR',
  'admin-token': 'EMULATOR_ADMIN_TOKEN',
} as const;

const port = z
  .string()
  .regex(/^\d+$/, 'must be a port number from 0 to 65535')
  .transform(Number)
  .refine((n) => n <= 65535, 'must be a port number from 0 to 65535');
const whole = z.string().regex(/^\d+$/, 'must be a whole number >= 0').transform(Number);
const partner = z
  .string()
  .regex(/^[^:\s,]+:[^:\s,]+$/, 'must be <partnerId>:<apiKey>')
  .transform((s): PartnerCredentials => {
    const [partnerId, apiKey] = s.split(':') as [string, string];
    return { partnerId, apiKey };
  })
  .superRefine((p, ctx) => {
    const problem = credentialsProblem(p);
    if (problem) ctx.addIssue({ code: 'custom', message: problem });
  });

const Settings = z.object({
  host: z.string().min(1).default('127.0.0.1'),
  port: port.default(9443),
  'http-port': port.default(9080),
  partner: z.array(partner).optional(),
  'feed-url': z
    .string()
    .refine((v) => URL.canParse(v) && /^https?:$/.test(new URL(v).protocol), 'must be an http(s):// URL')
    .optional(),
  'feed-interval': whole.default(900),
  'feed-timeout': whole.refine((n) => n >= 1, 'must be a whole number of seconds >= 1').default(300),
  'delay-ms': whole.default(0),
  'error-rate': z
    .string()
    .regex(/^(0(\.\d+)?|1(\.0+)?)$/, 'must be a fraction from 0 to 1, e.g. 0.1')
    .transform(Number)
    .default(0),
  'data-dir': z.string().min(1).default('./.data/emulator'),
  'admin-token': z.string().min(16, 'must be at least 16 characters').optional(),
  lenient: z.boolean().default(false),
});

export interface EmulatorCliSettings {
  options: EmulatorOptions;
  /** Partners the user named (their keys are never printed); empty means the public demo pair. */
  userPartners: boolean;
}

/** Flags first, then EMULATOR_* variables, then defaults; a bad value names the flag and the variable. */
export function resolveEmulatorSettings(
  flags: CommandContext['flags'],
  env: Record<string, string | undefined>,
): EmulatorCliSettings {
  const input: Record<string, unknown> = { lenient: flags.lenient === true };
  for (const [flag, variable] of Object.entries(ENV_BY_FLAG)) {
    const given = flags[flag];
    if (flag === 'partner') {
      const list = Array.isArray(given) ? given : typeof given === 'string' ? [given] : undefined;
      input.partner =
        list ??
        env[variable]
          ?.split(',')
          .map((s) => s.trim())
          .filter((s) => s !== '');
    } else {
      input[flag] = typeof given === 'string' ? given : env[variable] || undefined;
    }
  }
  const parsed = Settings.safeParse(input);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    const flag = String(issue?.path[0] ?? '');
    const variable = ENV_BY_FLAG[flag as keyof typeof ENV_BY_FLAG];
    throw new AppError('usage.invalid', `--${flag}${variable ? ` / ${variable}` : ''}: ${issue?.message}`);
  }
  const s = parsed.data;
  const userPartners = (s.partner?.length ?? 0) > 0;
  return {
    userPartners,
    options: {
      host: s.host,
      adminToken: s['admin-token'],
      port: s.port,
      httpPort: s['http-port'],
      partners: userPartners ? s.partner : [DEMO_PARTNER],
      feedUrl: s['feed-url'],
      feedIntervalSeconds: s['feed-interval'],
      behaviour: { feedPullTimeoutMs: s['feed-timeout'] * 1000 },
      dataDir: s['data-dir'],
      faults: { delayMs: s['delay-ms'], errorRate: s['error-rate'] },
      strict: !s.lenient,
    },
  };
}

function listenFailure(err: unknown, options: EmulatorOptions): never {
  const code = ((err as Error).cause as NodeJS.ErrnoException | undefined)?.code;
  if (code === 'EADDRINUSE' || code === 'EACCES') {
    const why = code === 'EADDRINUSE' ? 'is already in use' : 'needs privileges this user lacks';
    throw new AppError(
      'config.invalid',
      `${(err as Error).message.replace(/^emulator: /, '')}: a port ${why}; choose --port/--http-port (EMULATOR_PORT/EMULATOR_HTTP_PORT)`,
      {
        cause: err,
        details: { port: options.port, httpPort: options.httpPort },
      },
    );
  }
  throw err;
}

export const emulatorCommand: Command = {
  name: 'emulator',
  summary:
    'run a local Retail Rocket emulator (HTTP/2 TLS + HTTP/1.1) until Ctrl-C; prints the RR_* lines to use it',
  usage:
    'emulator [--port 9443] [--http-port 9080] [--partner <partnerId>:<apiKey>]... [--feed-url URL] [--host H --admin-token T]',
  flags: {
    host: {
      type: 'string',
      description:
        'address to listen on (EMULATOR_HOST, default 127.0.0.1); off loopback needs --admin-token',
    },
    'admin-token': {
      type: 'string',
      description: 'Bearer token for /__emulator/ admin routes, 16+ chars (EMULATOR_ADMIN_TOKEN)',
    },
    port: { type: 'string', description: 'HTTP/2 over TLS port, 0 = any free (EMULATOR_PORT, default 9443)' },
    'http-port': {
      type: 'string',
      description: 'plain HTTP/1.1 port, 0 = any free (EMULATOR_HTTP_PORT, default 9080)',
    },
    partner: {
      type: 'string',
      multiple: true,
      description: 'partnerId:apiKey, repeatable (EMULATOR_PARTNERS=id:key,id:key; default: the demo pair)',
    },
    'feed-url': { type: 'string', description: 'feed to pull like Retail Rocket (EMULATOR_FEED_URL)' },
    'feed-interval': {
      type: 'string',
      description: 'seconds between pulls, 0 = on demand only (EMULATOR_FEED_INTERVAL, 900)',
    },
    'feed-timeout': {
      type: 'string',
      description: 'seconds one whole feed pull may take (EMULATOR_FEED_TIMEOUT, 300)',
    },
    'delay-ms': { type: 'string', description: 'latency added to every answer (EMULATOR_DELAY_MS, 0)' },
    'error-rate': { type: 'string', description: 'fraction 0..1 answered with 500 (EMULATOR_ERROR_RATE, 0)' },
    'data-dir': {
      type: 'string',
      description: 'where the CA is kept and reused (EMULATOR_DATA_DIR, ./.data/emulator)',
    },
    lenient: { type: 'boolean', description: 'accept what strict validation refuses, and note it' },
  },
  async run(ctx) {
    const env = ctx.env;
    const { options, userPartners } = resolveEmulatorSettings(ctx.flags, env);
    const emu = await startEmulator({ ...options, logger: ctx.logger }).catch((err: unknown) =>
      listenFailure(err, options),
    );
    try {
      const first = (options.partners as PartnerCredentials[])[0] as PartnerCredentials;
      const envLines = [
        `RR_TRACKING_URL=${emu.h2Url}/1.0/`,
        `RR_RECOMMENDATIONS_URL=${emu.h2Url}/api/3.0/`,
        `RR_PRODUCT_API_URL=${emu.h2Url}/api/1.0/`,
        `RR_CA_FILE=${emu.caFile}`,
        `RR_PARTNER_ID=${first.partnerId}`,
        // Only the public demo key is printed; a key the user passed stays off the screen.
        userPartners
          ? '# RR_API_KEY=<the apiKey you gave with --partner>'
          : `RR_API_KEY=${DEMO_PARTNER.apiKey}`,
      ];
      const feed = options.feedUrl ? redactUrl(options.feedUrl) : null;
      if (ctx.json) {
        ctx.out(
          JSON.stringify({
            ok: true,
            h2Url: emu.h2Url,
            httpUrl: emu.httpUrl,
            caFile: emu.caFile,
            feedUrl: feed,
            env: envLines,
          }),
        );
      } else {
        ctx.out(
          [
            'Retail Rocket emulator',
            `  HTTP/2 (TLS): ${emu.h2Url}`,
            `  HTTP/1.1:     ${emu.httpUrl}`,
            `  CA file:      ${emu.caFile}`,
            `  admin:        ${emu.httpUrl}/__emulator/${options.adminToken ? ' (Authorization: Bearer <admin token>)' : ''}`,
            `  partners:     ${(options.partners ?? []).map((p) => p.partnerId).join(', ')}`,
            `  feed:         ${feed ? `${feed} (every ${options.feedIntervalSeconds} s; POST /__emulator/feed to pull now)` : 'none (POST XML to /__emulator/feed)'}`,
            '',
            'Point rr-sync at it (e.g. in .env):',
            ...envLines,
            '',
            'Ctrl-C to stop',
          ].join('\n'),
        );
      }
      if (!ctx.signal.aborted) await once(ctx.signal, 'abort');
    } finally {
      await emu.stop();
    }
    return EXIT.ok;
  },
};
