import type http from 'node:http';
import { HttpError, sendError, sendJson } from '../server/server.respond.ts';
import type { Route } from '../server/server.route.ts';
import { listOpenDeadLetters } from '../sync/dead-letters.repository.ts';
import type { ActionResult } from './admin.actions.ts';
import type { Principal } from './admin.auth.ts';
import { readJsonObject } from './ops.http.ts';
import { findRun, listRuns } from './ops.repository.ts';
import type { OpsContext } from './ops.ts';

/**
 * The admin actions for scripts, as JSON under /admin/… (the status page's forms do the same).
 * Bearer ADMIN_TOKEN; without ADMIN_TOKEN, loopback clients only. A request authenticated by a
 * browser session or as loopback (no Bearer header) must be `Content-Type: application/json`: a
 * cross-site form cannot send that, so a page elsewhere cannot act through the browser.
 */

async function principalOf(ctx: OpsContext, req: http.IncomingMessage): Promise<Principal> {
  const verdict = await ctx.auth.check(req);
  if (!verdict.ok)
    throw new HttpError(
      verdict.status,
      verdict.code,
      verdict.message,
      verdict.status === 401 ? { 'www-authenticate': 'Bearer realm="rr-catalog-sync admin"' } : undefined,
    );
  return verdict.principal;
}

async function actor(ctx: OpsContext, req: http.IncomingMessage): Promise<Principal> {
  const p = await principalOf(ctx, req);
  if (p.via !== 'bearer' && !/^application\/json\b/i.test(req.headers['content-type'] ?? ''))
    throw new HttpError(
      403,
      'csrf.required',
      'Without a Bearer token, admin actions need Content-Type: application/json (cross-site forms cannot send it).',
    );
  return p;
}

function answer<T>(res: http.ServerResponse, result: ActionResult<T>, okStatus = 200): void {
  if (result.ok) return sendJson(res, okStatus, result.value);
  if (result.running !== undefined)
    return sendJson(res, result.status, {
      error: { code: result.code, message: result.message },
      running: result.running,
    });
  sendError(res, result.status, result.code, result.message);
}

const needDb = (ctx: OpsContext) => {
  const db = ctx.state();
  if (!db) throw new HttpError(503, 'ops.no_database', 'This process has no state database (rr-sync serve).');
  return db;
};

export function createAdminRoutes(ctx: OpsContext): Route[] {
  return [
    {
      method: 'GET',
      path: '/admin/status',
      async handle(req, res) {
        await principalOf(ctx, req);
        const { feed, ...rest } = await ctx.snapshot();
        sendJson(res, 200, { feed: feed && { ...feed, dir: undefined }, ...rest });
      },
    },
    {
      method: 'GET',
      path: '/admin/runs',
      async handle(req, res) {
        await principalOf(ctx, req);
        sendJson(res, 200, { runs: await listRuns(needDb(ctx), 50) });
      },
    },
    {
      method: 'GET',
      path: /^\/admin\/runs\/(?<id>\d{1,15})$/,
      async handle(req, res, params) {
        await principalOf(ctx, req);
        const run = await findRun(needDb(ctx), Number(params.id));
        if (!run) return sendError(res, 404, 'run.unknown', `No run ${params.id}.`);
        sendJson(res, 200, run);
      },
    },
    {
      method: 'POST',
      path: '/admin/runs',
      async handle(req, res) {
        const p = await actor(ctx, req);
        const body = await readJsonObject(req);
        if (body.kind !== 'feed' && body.kind !== 'sync')
          throw new HttpError(400, 'http.bad_request', 'kind must be "feed" or "sync".');
        answer(res, await ctx.actions.runNow(body.kind, p.who), 202);
      },
    },
    {
      method: 'GET',
      path: '/admin/dead-letters',
      async handle(req, res) {
        await principalOf(ctx, req);
        sendJson(res, 200, { deadLetters: await listOpenDeadLetters(needDb(ctx), 500) });
      },
    },
    {
      method: 'POST',
      path: '/admin/dead-letters/requeue',
      async handle(req, res) {
        const p = await actor(ctx, req);
        const body = await readJsonObject(req);
        let ids: string[] | undefined;
        if (body.ids !== undefined) {
          if (
            !Array.isArray(body.ids) ||
            !body.ids.every((i) => typeof i === 'string' && /^\d{1,18}$/.test(i))
          )
            throw new HttpError(
              400,
              'http.bad_request',
              'ids must be a list of dead letter ids (strings of digits).',
            );
          ids = body.ids as string[];
        }
        answer(res, await ctx.actions.requeue(p.who, ids));
      },
    },
    {
      method: 'GET',
      path: '/admin/feed/versions',
      async handle(req, res) {
        await principalOf(ctx, req);
        const current = (await ctx.source.current())?.manifest.version ?? null;
        const versions = (await ctx.versions()).map((m) => ({
          version: m.version,
          offers: m.offers,
          bytes: m.bytes,
          gzBytes: m.gzBytes,
          publishedAt: m.publishedAt,
          served: m.version === current,
        }));
        sendJson(res, 200, { current, versions });
      },
    },
    {
      method: 'POST',
      path: '/admin/feed/rollback',
      async handle(req, res) {
        const p = await actor(ctx, req);
        const body = await readJsonObject(req);
        if (typeof body.version !== 'string' || body.version.length === 0)
          throw new HttpError(
            400,
            'http.bad_request',
            'version must be a kept version name (GET /admin/feed/versions).',
          );
        answer(res, await ctx.actions.activate(body.version, p.who));
      },
    },
  ];
}
