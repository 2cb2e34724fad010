import { backoffDelay } from '../rr/rr.errors.ts';
import type { Logger } from '../shared/logger.ts';
import { ALERT_RULES, type AlertRule, type BrokenRule } from './alerts.rules.ts';

/** The JSON body POSTed to ALERT_WEBHOOK_URL: one per transition of one rule. */
export interface AlertMessage {
  service: 'rr-catalog-sync';
  rule: AlertRule;
  state: 'firing' | 'resolved';
  /** The rule's message while firing; what it was when it cleared. */
  message: string;
  /** ISO 8601: when this state was first seen. */
  since: string;
  /** ISO 8601: when this message was sent. */
  at: string;
}

export interface AlertNotifierOptions {
  /** Unset: transitions are tracked (banner, metric) but nothing is POSTed. */
  url?: string;
  logger: Logger;
  /** At most one message per rule per this (default 15 min): a flapping rule cannot flood a channel. */
  minIntervalMs?: number;
  /** Attempts per message (default 6), with exponential backoff and full jitter. */
  attempts?: number;
  backoff?: { baseMs?: number; maxMs?: number; random?: () => number };
  /** Deadline of one POST (default 5 s). */
  timeoutMs?: number;
  now?: () => number;
}

export interface AlertNotifier {
  /** Feed the latest verdict; a rule whose state changed gets one message (now or when allowed). */
  update(broken: readonly BrokenRule[]): void;
  /** Messages in flight or waiting for their slot finish (or give up) before this resolves. */
  idle(): Promise<void>;
  /** Cancel waiting messages and retries. */
  close(): void;
}

interface RuleState {
  firing: boolean;
  message: string;
  since: number;
  /** The state last sent (or being sent). */
  notified: boolean;
  lastSentAt: number;
  timer?: NodeJS.Timeout;
  chain: Promise<void>;
}

/**
 * Turns verdicts into webhook messages: one when a rule starts failing, one when it clears. A
 * message that fails is retried with backoff; a change within 15 min of the rule's last message
 * waits for the end of that interval, and is dropped if the rule went back in the meantime.
 */
export function createAlertNotifier(options: AlertNotifierOptions): AlertNotifier {
  const { url, logger } = options;
  const minIntervalMs = options.minIntervalMs ?? 15 * 60_000;
  const attempts = options.attempts ?? 6;
  const backoff = { baseMs: 1000, maxMs: 60_000, ...options.backoff };
  const timeoutMs = options.timeoutMs ?? 5000;
  const now = options.now ?? Date.now;
  const closing = new AbortController();
  const rules = new Map<AlertRule, RuleState>(
    ALERT_RULES.map((r) => [
      r,
      {
        firing: false,
        message: '',
        since: now(),
        notified: false,
        lastSentAt: -Infinity,
        chain: Promise.resolve(),
      },
    ]),
  );

  const sleep = (ms: number) =>
    new Promise<void>((resolve) => {
      const t = setTimeout(resolve, ms);
      closing.signal.addEventListener('abort', () => (clearTimeout(t), resolve()), { once: true });
    });

  async function post(body: AlertMessage): Promise<void> {
    for (let attempt = 0; attempt < attempts && !closing.signal.aborted; attempt++) {
      let why: string;
      try {
        const res = await fetch(url!, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify(body),
          signal: AbortSignal.any([AbortSignal.timeout(timeoutMs), closing.signal]),
        });
        await res.body?.cancel().catch(() => undefined);
        if (res.ok) return;
        why = `HTTP ${res.status}`;
      } catch (err) {
        why = (err as Error).name === 'TimeoutError' ? 'timeout' : (err as Error).message;
      }
      const last = attempt === attempts - 1;
      // The URL is secret (chat webhooks carry their key in the path): only the rule and the reason.
      logger.warn(
        { rule: body.rule, state: body.state, attempt: attempt + 1, err: why },
        last ? 'alert webhook failed: message given up' : 'alert webhook failed: retrying',
      );
      if (!last) await sleep(backoffDelay(attempt, backoff));
    }
  }

  function sendIfChanged(rule: AlertRule, s: RuleState): void {
    s.timer = undefined;
    if (s.firing === s.notified || closing.signal.aborted) return;
    const wait = s.lastSentAt + minIntervalMs - now();
    if (wait > 0) {
      s.timer = setTimeout(() => sendIfChanged(rule, s), wait);
      s.timer.unref();
      return;
    }
    s.notified = s.firing;
    s.lastSentAt = now();
    const body: AlertMessage = {
      service: 'rr-catalog-sync',
      rule,
      state: s.firing ? 'firing' : 'resolved',
      message: s.message,
      since: new Date(s.since).toISOString(),
      at: new Date(s.lastSentAt).toISOString(),
    };
    logger[s.firing ? 'warn' : 'info']({ rule, message: s.message }, `alert ${body.state}`);
    if (url) s.chain = s.chain.then(() => post(body)).catch(() => undefined);
  }

  return {
    update(broken) {
      const byRule = new Map(broken.map((b) => [b.rule, b.message]));
      for (const [rule, s] of rules) {
        const firing = byRule.has(rule);
        if (firing) s.message = byRule.get(rule)!;
        if (firing !== s.firing) {
          s.firing = firing;
          s.since = now();
        }
        // A deferred message whose interval is over by the clock goes now (the timer may be late).
        if (!s.timer || now() >= s.lastSentAt + minIntervalMs) {
          clearTimeout(s.timer);
          sendIfChanged(rule, s);
        }
      }
    },
    async idle() {
      for (;;) {
        const chains = [...rules.values()].map((s) => s.chain);
        await Promise.all(chains);
        if ([...rules.values()].every((s, i) => s.chain === chains[i])) return;
      }
    },
    close() {
      closing.abort();
      for (const s of rules.values()) clearTimeout(s.timer);
    },
  };
}
