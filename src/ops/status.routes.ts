import type http from 'node:http';
import { pipeline } from 'node:stream/promises';
import { Readable } from 'node:stream';
import path from 'node:path';
import type { Route } from '../server/server.route.ts';
import { listOpenDeadLetters } from '../sync/dead-letters.repository.ts';
import type { ActionResult } from './admin.actions.ts';
import type { Principal } from './admin.auth.ts';
import { SESSION_COOKIE, SESSION_TTL_SECONDS } from './admin.sessions.ts';
import { isHttps, readForm, redirect, sendHtml, PAGE_HEADERS } from './ops.http.ts';
import { findRun, listRuns, listSamples } from './ops.repository.ts';
import { issuesOfCode } from './ops.report.ts';
import type { OpsContext } from './ops.ts';
import { assetOf } from './status.assets.ts';
import { renderLoginPage, renderMessagePage, renderRunPage, renderStatusPage } from './status.page.ts';

/**
 * The status page at `/` and what it links to and posts: login, run details, the report of the
 * published feed, the actions (POST forms with a CSRF token), and its static files.
 */

/** The signed-in principal, or an answer already sent (login form, or 403 off loopback). */
async function pagePrincipal(ctx: OpsContext, req: http.IncomingMessage, res: http.ServerResponse) {
  const verdict = await ctx.auth.check(req);
  if (verdict.ok) return verdict.principal;
  if (verdict.status === 401) {
    if (req.method === 'GET') redirect(res, '/login');
    else
      sendHtml(
        res,
        401,
        renderMessagePage('Sign in first', 'Your session has expired or you are not signed in.'),
      );
  } else {
    sendHtml(res, 403, renderMessagePage('Not available here', verdict.message));
  }
  return null;
}

/** A form action: signed in and carrying this session's CSRF token, else 403. */
async function formPrincipal(ctx: OpsContext, req: http.IncomingMessage, res: http.ServerResponse) {
  const p = await pagePrincipal(ctx, req, res);
  if (!p) return null;
  const form = await readForm(req);
  if (!ctx.auth.csrfMatches(p, form.get('csrf'))) {
    sendHtml(
      res,
      403,
      renderMessagePage(
        'Refused',
        'The form is missing its CSRF token or it is wrong: reload the status page and try again.',
      ),
    );
    return null;
  }
  return { p, form };
}

const NOTICES: Record<string, (q: URLSearchParams) => string> = {
  run: (q) => `Run #${q.get('id')} (${q.get('kind')}) started.`,
  requeued: (q) => `${q.get('n')} dead letter(s) requeued, ${q.get('s')} superseded by newer changes.`,
  activated: (q) => `The served feed is now version ${q.get('v')}.`,
  unchanged: (q) => `Version ${q.get('v')} is already served.`,
};

function actionFailed<T>(res: http.ServerResponse, result: Exclude<ActionResult<T>, { ok: true }>) {
  const running = result.running ? ` Running: run #${result.running.id} (${result.running.kind}).` : '';
  sendHtml(res, result.status, renderMessagePage('Not done', `${result.message}${running}`));
}

export function createStatusRoutes(ctx: OpsContext): Route[] {
  const page: Route['handle'] = async (req, res) => {
    const p = await pagePrincipal(ctx, req, res);
    if (!p) return;
    const q = new URL(req.url ?? '/', 'http://x').searchParams;
    const db = ctx.state();
    const [snap, versions, runs, deadLetters, samples] = await Promise.all([
      ctx.snapshot(),
      ctx.versions(),
      db ? listRuns(db, 20).catch(() => null) : null,
      db ? listOpenDeadLetters(db, 20).catch(() => null) : null,
      db ? listSamples(db, 24).catch(() => null) : null,
    ]);
    const notice = NOTICES[q.get('notice') ?? '']?.(q) ?? null;
    sendHtml(
      res,
      200,
      renderStatusPage({
        snap,
        principal: p,
        tokenConfigured: ctx.auth.tokenConfigured,
        versions,
        runs,
        deadLetters,
        samples,
        notice,
      }),
    );
  };

  return [
    { method: 'GET', path: '/', handle: page },
    {
      method: 'GET',
      path: '/login',
      handle(_req, res) {
        if (!ctx.auth.tokenConfigured) return redirect(res, '/');
        sendHtml(res, 200, renderLoginPage(null));
      },
    },
    {
      method: 'POST',
      path: '/login',
      async handle(req, res) {
        if (!ctx.auth.tokenConfigured) return redirect(res, '/');
        const token = (await readForm(req)).get('token') ?? '';
        // Nothing about a failed login is logged: a token typed into the wrong field must not end up in a log.
        if (!ctx.auth.tokenMatches(token))
          return sendHtml(res, 401, renderLoginPage('That is not the ADMIN_TOKEN.'));
        const value = await ctx.sessions.create();
        const cookie = [
          `${SESSION_COOKIE}=${value}`,
          'HttpOnly',
          'SameSite=Strict',
          'Path=/',
          `Max-Age=${SESSION_TTL_SECONDS}`,
          ...(isHttps(req) ? ['Secure'] : []),
        ].join('; ');
        redirect(res, '/', { 'set-cookie': cookie });
      },
    },
    {
      method: 'POST',
      path: '/logout',
      async handle(req, res) {
        const ok = await formPrincipal(ctx, req, res);
        if (!ok) return;
        if (ok.p.session) await ctx.sessions.remove(ok.p.session);
        redirect(res, ctx.auth.tokenConfigured ? '/login' : '/', {
          'set-cookie': `${SESSION_COOKIE}=; HttpOnly; SameSite=Strict; Path=/; Max-Age=0`,
        });
      },
    },
    {
      method: 'GET',
      path: /^\/runs\/(?<id>\d{1,15})$/,
      async handle(req, res, params) {
        if (!(await pagePrincipal(ctx, req, res))) return;
        const db = ctx.state();
        const run = db ? await findRun(db, Number(params.id)) : null;
        if (!run)
          return sendHtml(res, 404, renderMessagePage('No such run', `No run #${params.id} in the history.`));
        const current = await ctx.source.current();
        const link = current && current.manifest.runId === run.id ? '/reports/current' : null;
        sendHtml(res, 200, renderRunPage(run, link));
      },
    },
    {
      method: 'GET',
      path: '/reports/current',
      async handle(req, res) {
        if (!(await pagePrincipal(ctx, req, res))) return;
        const file = await ctx.reportFile();
        if (!file) return sendHtml(res, 404, renderMessagePage('No report', 'No feed is published.'));
        const code = new URL(req.url ?? '/', 'http://x').searchParams.get('code');
        const headers = {
          'cache-control': 'no-store',
          'x-content-type-options': 'nosniff',
          'content-security-policy': PAGE_HEADERS['content-security-policy'],
        };
        if (code) {
          // One issue of that code per line, as the report has them, streamed (a million lines stay flat).
          res.writeHead(200, { ...headers, 'content-type': 'application/x-ndjson; charset=utf-8' });
          await pipeline(Readable.from(issuesOfCode(path.dirname(file), code)), res);
          return;
        }
        res.writeHead(200, { ...headers, 'content-type': 'application/json; charset=utf-8' });
        await pipeline(ctx.openReport(file), res);
      },
    },
    {
      method: 'GET',
      path: /^\/assets\/(?<name>[a-z.]+)$/,
      async handle(_req, res, params) {
        const asset = await assetOf(params.name!);
        if (!asset) return sendHtml(res, 404, renderMessagePage('Not found', 'No such file.'));
        res.writeHead(200, {
          'content-type': asset.type,
          'content-length': String(asset.body.length),
          'cache-control': 'public, max-age=3600',
          'x-content-type-options': 'nosniff',
        });
        res.end(asset.body);
      },
    },
    {
      method: 'POST',
      path: '/actions/run',
      async handle(req, res) {
        const ok = await formPrincipal(ctx, req, res);
        if (!ok) return;
        const kind = ok.form.get('kind');
        if (kind !== 'feed' && kind !== 'sync')
          return sendHtml(res, 400, renderMessagePage('Not done', 'kind must be feed or sync.'));
        const result = await ctx.actions.runNow(kind, ok.p.who);
        if (!result.ok) return actionFailed(res, result);
        redirect(res, `/?notice=run&id=${result.value.runId}&kind=${kind}`);
      },
    },
    {
      method: 'POST',
      path: '/actions/dead-letters/requeue',
      async handle(req, res) {
        const ok = await formPrincipal(ctx, req, res);
        if (!ok) return;
        const id = ok.form.get('id');
        if (id !== null && !/^\d{1,18}$/.test(id))
          return sendHtml(res, 400, renderMessagePage('Not done', 'Not a dead letter id.'));
        const result = await ctx.actions.requeue(ok.p.who, id === null ? undefined : [id]);
        if (!result.ok) return actionFailed(res, result);
        redirect(res, `/?notice=requeued&n=${result.value.requeued}&s=${result.value.superseded}`);
      },
    },
    {
      method: 'POST',
      path: '/actions/feed/activate',
      async handle(req, res) {
        const ok = await formPrincipal(ctx, req, res);
        if (!ok) return;
        const version = ok.form.get('version') ?? '';
        const result = await ctx.actions.activate(version, ok.p.who);
        if (!result.ok) return actionFailed(res, result);
        const v = encodeURIComponent(result.value.to);
        redirect(res, `/?notice=${result.value.runId === null ? 'unchanged' : 'activated'}&v=${v}#feed`);
      },
    },
  ];
}

export type { Principal };
