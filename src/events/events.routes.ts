import type http from 'node:http';
import type { Config } from '../config.ts';
import { requireBearer } from '../server/api.auth.ts';
import { readJsonBody } from '../server/server.body.ts';
import { sendJson } from '../server/server.respond.ts';
import type { Route } from '../server/server.route.ts';
import { EVENT_LIMITS, type EventError, type EventService } from './events.contracts.ts';
import { isEventType, unknownType } from './events.input.ts';

const STATUS: Record<EventError['code'], number> = {
  'events.unknown_type': 404,
  'events.invalid': 400,
  'events.batch_too_large': 400,
  'events.unavailable': 503,
};

/**
 * `Server-Timing` (W3C) of an accepted event: reading the body (`read`) and validating and
 * committing it (`store`, most of it the group commit), in ms, so the shop can tell time spent in
 * this service from time spent getting to it.
 */
function serverTiming(start: number, read: number, end: number): Record<string, string> {
  return {
    'server-timing': `read;dur=${(read - start).toFixed(1)}, store;dur=${(end - read).toFixed(1)}, total;dur=${(end - start).toFixed(1)}`,
  };
}

/** How long a client should wait after 503 events.unavailable. */
const RETRY_AFTER_SECONDS = '2';

function sendEventError(res: http.ServerResponse, error: EventError): void {
  const headers: Record<string, string> =
    error.code === 'events.unavailable' ? { 'retry-after': RETRY_AFTER_SECONDS } : {};
  sendJson(res, STATUS[error.code], { error }, headers);
}

/**
 * `POST /v1/events/{type}` and `POST /v1/events/batch` (design §5): a thin HTTP layer over the
 * event service. 202 comes only after the events are committed in PostgreSQL; any 4xx stores
 * nothing. Order of checks: token (401), type (404), content type (415), size (413), JSON (400),
 * fields (400).
 */
export function createEventRoutes(service: EventService, config: Pick<Config, 'apiToken'>): Route[] {
  return [
    {
      method: 'POST',
      path: '/v1/events/batch',
      async handle(req, res) {
        const start = performance.now();
        requireBearer(req, config.apiToken);
        const body = await readJsonBody(req, {
          maxBytes: EVENT_LIMITS.batchBytes,
          badJsonCode: 'events.bad_json',
        });
        const read = performance.now();
        const r = await service.acceptBatch(body);
        if (!r.ok) return sendEventError(res, r.error);
        sendJson(res, 202, { results: r.results }, serverTiming(start, read, performance.now()));
      },
    },
    {
      method: 'POST',
      path: /^\/v1\/events\/(?<type>[^/]+)$/,
      async handle(req, res, params) {
        const start = performance.now();
        requireBearer(req, config.apiToken);
        const type = params.type ?? '';
        if (!isEventType(type)) return sendEventError(res, unknownType(type));
        const body = await readJsonBody(req, {
          maxBytes: EVENT_LIMITS.singleBytes,
          badJsonCode: 'events.bad_json',
        });
        const read = performance.now();
        const r = await service.accept(type, body);
        if (!r.ok) return sendEventError(res, r.error);
        sendJson(res, 202, { id: r.id }, serverTiming(start, read, performance.now()));
      },
    },
  ];
}
