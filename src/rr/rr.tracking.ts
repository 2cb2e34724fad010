import type { RrResult } from './rr.errors.ts';
import { check, parseEmpty, query, type CallOptions, type RrCore } from './rr.core.ts';
import { EVENT_SCHEMAS, EVENT_TYPES, type EventInput, type EventType } from './rr.schemas.ts';

/**
 * One typed method per tracking resource of retailrocket-api.md §4.2–§4.5, e.g.
 * `events.view({ sessionExternalId, productId })`. `timestamp` is optional on input and always sent
 * (UTC ISO 8601). Events are interactive: callers may fire and forget, the result is typed anyway.
 */
export type TrackingApi = {
  [K in EventType]: (event: EventInput<K>, opts?: CallOptions) => Promise<RrResult<void>>;
} & {
  /** The same, with the event type as a value (for the HTTP route and the spool). */
  send<K extends EventType>(type: K, event: EventInput<K>, opts?: CallOptions): Promise<RrResult<void>>;
};

export function createTrackingApi(core: RrCore): TrackingApi {
  const auth = query([
    ['partnerId', core.partnerId],
    ['apiKey', core.apiKey],
  ]);

  function send<K extends EventType>(type: K, event: EventInput<K>, opts: CallOptions = {}) {
    const schema = EVENT_SCHEMAS[type];
    if (!Object.hasOwn(EVENT_SCHEMAS, type)) return Promise.resolve(unknownType(type));
    const body = check(schema, event, `${type} event`);
    if (!body.ok) return Promise.resolve(body);
    return core.call({
      op: `event.${type}`,
      method: 'POST',
      url: `${core.urls.tracking}${type}?${auth}`,
      body: body.value,
      priority: opts.priority ?? 'interactive',
      timeoutMs: opts.timeoutMs ?? core.timeoutMs,
      queueTimeoutMs: opts.queueTimeoutMs,
      parse: parseEmpty,
    });
  }

  const api = { send } as Record<string, unknown>;
  for (const type of EVENT_TYPES) {
    api[type] = (event: unknown, opts?: CallOptions) => send(type, event as EventInput<typeof type>, opts);
  }
  return api as TrackingApi;
}

function unknownType(type: string): RrResult<void> {
  return {
    ok: false,
    error: {
      kind: 'invalid',
      retryable: false,
      message: `unknown event type ${JSON.stringify(type)}; expected one of ${EVENT_TYPES.join(', ')}`,
    },
  };
}
