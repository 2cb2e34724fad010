import { methodNotAllowed, sameSecret, type AppContext } from './emulator.context.ts';
import { mergeFaults } from './emulator.faults.ts';
import { importFeedBody, pullFeedOnce, redactUrl } from './emulator.feed.ts';
import { HttpError, notFound, queryParam, sendJson, type Exchange } from './emulator.http.ts';
import { mergeLimits } from './emulator.limits.ts';
import type { PartnerState } from './emulator.state.ts';

const ROUTES = {
  'GET /__emulator/health': 'liveness',
  'GET /__emulator/events':
    'received events in order (?partnerId, sessionExternalId, type, since=<seq>, limit)',
  'GET /__emulator/warnings': 'consistency warnings (?partnerId, sessionExternalId, code)',
  'GET /__emulator/upserts': 'Product API upserts (?partnerId, id)',
  'GET /__emulator/pushes':
    'last Product API body per item key: product:<id>, stock:<id>:<stockId>, group:<groupId> (?partnerId, prefix)',
  'GET /__emulator/calls':
    'every Product API call with receivedAt, answeredAt and status, faulted ones too (?partnerId, id, since=<seq>)',
  'GET /__emulator/catalog': 'catalog summary and items (?partnerId, ids=1,2, limit)',
  'GET /__emulator/feed': 'feed import reports and counters (?partnerId)',
  'POST /__emulator/feed':
    'import now: XML (or gzip) body, or {"url": "..."}, or empty to pull the configured feedUrl',
  'GET /__emulator/faults': 'current fault settings',
  'PUT|POST /__emulator/faults': 'change fault settings (partial JSON)',
  'GET /__emulator/limits': 'current rate limits',
  'PUT|POST /__emulator/limits': 'change rate limits (partial JSON; 0 = off)',
  'POST /__emulator/reset': 'forget all state; faults and limits back to their start values',
};

function jsonBody(ex: Exchange): unknown {
  if (ex.body.length === 0) return {};
  try {
    return JSON.parse(ex.body.toString('utf8')) as unknown;
  } catch {
    throw new HttpError(400, {
      error: 'validation',
      field: 'body',
      rule: 'json',
      message: 'body is not valid JSON',
    });
  }
}

function partnerParam(ctx: AppContext, ex: Exchange, all: boolean): PartnerState[] {
  const id = queryParam(ex.url, 'partnerId');
  if (id === null) {
    return all ? [...ctx.state.partners.values()] : [ctx.state.partner(ctx.defaultPartnerId) as PartnerState];
  }
  const partner = ctx.state.partner(id);
  if (!partner) throw new HttpError(404, { error: 'not_found', message: 'unknown partnerId' });
  return [partner];
}

function limitParam(ex: Exchange, fallback: number): number {
  const raw = queryParam(ex.url, 'limit');
  const n = raw === null ? fallback : Number(raw);
  return Number.isInteger(n) && n > 0 ? n : fallback;
}

/** With an admin token set, every admin route but the liveness probe needs it as a Bearer token. */
function requireAdminToken(ctx: AppContext, ex: Exchange, route: string): void {
  if (ctx.adminToken === undefined || route === '/__emulator/health') return;
  const m = /^Bearer\s+(\S+)\s*$/i.exec(String(ex.headers.authorization ?? ''));
  if (m && sameSecret(m[1]!, ctx.adminToken)) return;
  throw new HttpError(
    401,
    {
      error: 'unauthorized',
      message: 'the emulator admin routes need its admin token: Authorization: Bearer <token>',
    },
    { 'www-authenticate': 'Bearer realm="rr-emulator admin"' },
  );
}

/** `/__emulator/*`: introspection and control for tests and humans (no apiKey; a token off loopback). */
export async function handleAdmin(ctx: AppContext, ex: Exchange): Promise<boolean> {
  if (!ex.path.startsWith('/__emulator')) return false;
  const route = ex.path.replace(/\/+$/, '') || '/__emulator';
  requireAdminToken(ctx, ex, route);
  const get = ex.method === 'GET' || ex.method === 'HEAD';
  const change = ex.method === 'PUT' || ex.method === 'POST';
  const send = (body: unknown) => sendJson(ex.res, 200, body, { 'cache-control': 'no-store' });
  const sid = queryParam(ex.url, 'sessionExternalId');
  switch (route) {
    case '/__emulator':
      if (!get) throw methodNotAllowed('GET');
      return (send({ routes: ROUTES }), true);
    case '/__emulator/health':
      return (send({ ok: true }), true);
    case '/__emulator/events': {
      if (!get) throw methodNotAllowed('GET');
      const type = queryParam(ex.url, 'type');
      const since = Number(queryParam(ex.url, 'since') ?? 0);
      const events = partnerParam(ctx, ex, true)
        .flatMap((p) => p.events)
        .filter(
          (e) =>
            (sid === null || e.sessionExternalId === sid) &&
            (type === null || e.type === type) &&
            e.seq > since,
        )
        .sort((a, b) => a.seq - b.seq);
      const limit = limitParam(ex, 10_000);
      return (send({ total: events.length, events: events.slice(-limit) }), true);
    }
    case '/__emulator/warnings': {
      if (!get) throw methodNotAllowed('GET');
      const code = queryParam(ex.url, 'code');
      const warnings = partnerParam(ctx, ex, true)
        .flatMap((p) => p.warnings)
        .filter((w) => (sid === null || w.sessionExternalId === sid) && (code === null || w.code === code))
        .sort((a, b) => a.seq - b.seq);
      return (send({ total: warnings.length, warnings }), true);
    }
    case '/__emulator/upserts': {
      if (!get) throw methodNotAllowed('GET');
      const id = queryParam(ex.url, 'id');
      const upserts = partnerParam(ctx, ex, true)
        .flatMap((p) => p.upserts)
        .filter((u) => id === null || u.id === id || u.productIds.includes(id))
        .sort((a, b) => a.seq - b.seq);
      return (send({ total: upserts.length, upserts }), true);
    }
    case '/__emulator/pushes': {
      if (!get) throw methodNotAllowed('GET');
      const partner = partnerParam(ctx, ex, false)[0] as PartnerState;
      const prefix = queryParam(ex.url, 'prefix') ?? '';
      const items: Record<string, unknown> = {};
      for (const [key, value] of partner.productBodies) if (key.startsWith(prefix)) items[key] = value;
      return (send({ partnerId: partner.partnerId, total: Object.keys(items).length, items }), true);
    }
    case '/__emulator/calls': {
      if (!get) throw methodNotAllowed('GET');
      const partnerId = queryParam(ex.url, 'partnerId');
      const id = queryParam(ex.url, 'id');
      const since = Number(queryParam(ex.url, 'since') ?? 0);
      const calls = ctx.state.productCalls.filter(
        (c) =>
          (partnerId === null || c.partnerId === partnerId) && (id === null || c.id === id) && c.seq > since,
      );
      return (send({ total: calls.length, calls }), true);
    }
    case '/__emulator/catalog':
      if (!get) throw methodNotAllowed('GET');
      return (send(catalogView(partnerParam(ctx, ex, false)[0] as PartnerState, ex)), true);
    case '/__emulator/feed':
      if (get) {
        const p = partnerParam(ctx, ex, false)[0] as PartnerState;
        const feedUrl = p.partnerId === ctx.defaultPartnerId && ctx.feedUrl ? redactUrl(ctx.feedUrl) : null;
        return (
          send({
            partnerId: p.partnerId,
            feedUrl,
            lastStatus: p.feedReports.at(-1)?.status ?? null,
            counters: p.feedCounters,
            reports: p.feedReports,
          }),
          true
        );
      }
      if (ex.method !== 'POST') throw methodNotAllowed('GET, POST');
      return (send(await feedNow(ctx, ex)), true);
    case '/__emulator/faults':
      if (change) ctx.faults = mergeFaults(ctx.faults, jsonBody(ex));
      else if (!get) throw methodNotAllowed('GET, PUT, POST');
      return (send(ctx.faults), true);
    case '/__emulator/limits':
      if (change) ctx.limiter.limits = mergeLimits(ctx.limiter.limits, jsonBody(ex));
      else if (!get) throw methodNotAllowed('GET, PUT, POST');
      return (send(ctx.limiter.limits), true);
    case '/__emulator/reset':
      if (ex.method !== 'POST') throw methodNotAllowed('POST');
      ctx.reset();
      return (send({ ok: true }), true);
    default:
      throw notFound(ex.path);
  }
}

async function feedNow(ctx: AppContext, ex: Exchange) {
  const partner = partnerParam(ctx, ex, false)[0] as PartnerState;
  const type = String(ex.headers['content-type'] ?? '');
  const first = ex.body.subarray(0, 64).toString('latin1').trimStart();
  if (
    ex.body.length > 0 &&
    !/json/i.test(type) &&
    (first.startsWith('<') || (ex.body[0] === 0x1f && ex.body[1] === 0x8b))
  ) {
    return await importFeedBody(partner, ex.body, ctx.behaviour, ctx.logger);
  }
  const body = jsonBody(ex) as { url?: unknown };
  const url =
    typeof body.url === 'string'
      ? body.url
      : partner.partnerId === ctx.defaultPartnerId
        ? ctx.feedUrl
        : undefined;
  if (!url || !URL.canParse(url)) {
    throw new HttpError(400, {
      error: 'validation',
      field: 'url',
      rule: 'required',
      message: 'give an XML body, {"url": "http://..."}, or start the emulator with feedUrl',
    });
  }
  return pullFeedOnce(partner, url, ctx.behaviour, ctx.logger);
}

function catalogView(p: PartnerState, ex: Exchange) {
  const ids = queryParam(ex.url, 'ids')
    ?.split(',')
    .map((s) => s.trim());
  const limit = limitParam(ex, 100);
  const items = [...p.catalog.items.values()]
    .filter((i) => !ids || ids.includes(i.id))
    .slice(0, limit)
    .map((i) => ({ ...i, stocks: Object.fromEntries(i.stocks) }));
  return {
    partnerId: p.partnerId,
    items: p.catalog.items.size,
    categories: [...p.catalog.categories.values()],
    stocks: [...p.catalog.stocks].sort(),
    removed: [...p.catalog.removed],
    events: p.events.length,
    droppedEvents: p.droppedEvents,
    list: items,
  };
}
