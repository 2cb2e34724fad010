import type { FeedManifest } from '../feed/feed.layout.ts';
import type { DeadLetter } from '../sync/dead-letters.repository.ts';
import { formatAge } from './alerts.rules.ts';
import type { Principal } from './admin.auth.ts';
import { escapeHtml as h } from './ops.http.ts';
import type { OpsSample, RunDetail, RunListItem } from './ops.repository.ts';
import type { OpsSnapshot } from './ops.snapshot.ts';

/**
 * The status page as plain server-rendered HTML: readable without JavaScript, one small script
 * (ours) and uPlot for the charts, everything served by this process.
 */

export interface StatusPageData {
  snap: OpsSnapshot;
  principal: Principal;
  tokenConfigured: boolean;
  versions: FeedManifest[];
  runs: RunListItem[] | null;
  deadLetters: DeadLetter[] | null;
  samples: OpsSample[] | null;
  notice: string | null;
}

const NA = '<p class="na">Not available yet: this part of the service is not running in this process.</p>';

const bytes = (n: number) =>
  n >= 1 << 20 ? `${(n / (1 << 20)).toFixed(1)} MiB` : n >= 1024 ? `${(n / 1024).toFixed(1)} KiB` : `${n} B`;
const num = (n: number | null | undefined) =>
  n === null || n === undefined ? '–' : n.toLocaleString('en-US');
const time = (iso: string | null | undefined) =>
  iso ? `<time datetime="${h(iso)}">${h(iso.replace('T', ' ').replace(/\.\d+Z$/, 'Z'))}</time>` : '–';

function layout(title: string, body: string): string {
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${h(title)}</title>
<link rel="stylesheet" href="/assets/status.css">
</head><body>
${body}
</body></html>`;
}

/** A POST form with the CSRF token (a Bearer client does not need one, but the page is for browsers). */
function form(
  p: Principal,
  action: string,
  label: string,
  fields: Record<string, string> = {},
  cls = '',
): string {
  const hidden = Object.entries({ ...fields, ...(p.csrf ? { csrf: p.csrf } : {}) })
    .map(([k, v]) => `<input type="hidden" name="${h(k)}" value="${h(v)}">`)
    .join('');
  return `<form method="post" action="${h(action)}" class="inline">${hidden}<button type="submit"${cls ? ` class="${cls}"` : ''}>${h(label)}</button></form>`;
}

function table(head: string[], rows: string[][], id?: string): string {
  return `<div class="scroll"><table${id ? ` id="${id}"` : ''}><thead><tr>${head.map((c) => `<th>${c}</th>`).join('')}</tr></thead><tbody>${rows
    .map((r) => `<tr>${r.map((c) => `<td>${c}</td>`).join('')}</tr>`)
    .join('')}</tbody></table></div>`;
}

function feedSection(d: StatusPageData): string {
  const f = d.snap.feed;
  if (!f)
    return `<section id="feed"><h2>Published feed</h2><p class="bad">No feed is published yet.</p></section>`;
  const versions = table(
    ['Version', 'Offers', 'Size', 'Published', ''],
    d.versions.map((m) => [
      `<code>${h(m.version)}</code>`,
      num(m.offers),
      bytes(m.bytes),
      time(m.publishedAt),
      m.version === f.version
        ? '<span class="tag">served</span>'
        : form(
            d.principal,
            '/actions/feed/activate',
            m.version < f.version ? 'Roll back to this' : 'Serve this',
            { version: m.version },
          ),
    ]),
    'versions',
  );
  return `<section id="feed"><h2>Published feed</h2>
<dl class="figures">
<div><dt>Version</dt><dd id="feed-version"><code>${h(f.version)}</code></dd></div>
<div><dt>Offers</dt><dd id="feed-offers">${num(f.offers)}</dd></div>
<div><dt>Size</dt><dd>${bytes(f.bytes)} (gzip ${bytes(f.gzBytes)})</dd></div>
<div><dt>Published</dt><dd>${time(f.publishedAt)} (${formatAge(f.ageSeconds)} ago)</dd></div>
<div><dt>Last successful run</dt><dd>${time(d.snap.lastSuccessfulFeedAt)}</dd></div>
</dl>
<h3>Kept versions</h3>${versions}</section>`;
}

function pullsSection(d: StatusPageData): string {
  const rows = d.snap.pulls.map((p) => [
    time(p.at),
    `<code>${h(p.version ?? '–')}</code>`,
    `${p.status}${p.interrupted ? ` (${h(p.interrupted)})` : ''}`,
    `<span class="ua">${h(p.userAgent)}</span>`,
  ]);
  return `<section id="pulls"><h2>Feed pulls</h2>${
    rows.length
      ? table(['When', 'Version', 'Status', 'Client'], rows)
      : '<p>No client has pulled the feed since this process started.</p>'
  }</section>`;
}

function runsSection(d: StatusPageData): string {
  const actions = `<div class="actions">${form(d.principal, '/actions/run', 'Run feed now', { kind: 'feed' })}${form(d.principal, '/actions/run', 'Run sync now', { kind: 'sync' })}</div>`;
  if (!d.runs)
    return `<section id="runs"><h2>Runs</h2><p class="na">No state database in this process: no run history.</p></section>`;
  const rows = d.runs.map((r) => [
    `<a href="/runs/${r.id}">#${r.id}</a>`,
    h(r.kind),
    `${h(r.trigger)}${r.actor ? `<br><small>${h(r.actor)}</small>` : ''}`,
    `<span class="st st-${h(r.status)}">${h(r.status)}</span>`,
    time(r.startedAt),
    r.durationSeconds === null ? '–' : `${r.durationSeconds} s`,
    [
      r.offers !== null ? `${num(r.offers)} offers` : '',
      r.rejected ? `${num(r.rejected)} rejected` : '',
      r.enqueued !== null ? `${num(r.enqueued)} enqueued` : '',
    ]
      .filter(Boolean)
      .join(', ') || '–',
    r.exitCode === null ? '–' : String(r.exitCode),
    `<span class="err">${h(r.error ?? r.reason ?? '')}</span>`,
  ]);
  return `<section id="runs"><h2>Runs</h2>${actions}${table(['Run', 'Kind', 'Trigger', 'Status', 'Started', 'Took', 'Counts', 'Exit', 'Error / reason'], rows)}</section>`;
}

function rejectedSection(d: StatusPageData): string {
  const r = d.snap.rejected;
  if (!d.snap.feed) return '';
  if (!r)
    return `<section id="rejected"><h2>Rejected items</h2><p class="na">The published version has no run report.</p></section>`;
  if (r.length === 0)
    return `<section id="rejected"><h2>Rejected items</h2><p>None: every product of the catalog is in the feed.</p></section>`;
  return `<section id="rejected"><h2>Rejected items</h2>${table(
    ['Code', 'Count', 'Why', 'First IDs', ''],
    r.map((c) => [
      `<code>${h(c.code)}</code><br><small>${h(c.severity)}</small>`,
      num(c.count),
      h(c.description),
      c.sampleIds.map((id) => `<code>${h(id)}</code>`).join(' '),
      `<a href="/reports/current?code=${encodeURIComponent(c.code)}">full list</a>`,
    ]),
  )}<p><a href="/reports/current">Whole report of the published version</a></p></section>`;
}

function pushSection(d: StatusPageData): string {
  const s = d.snap;
  if (s.database !== 'ok')
    return `<section id="push"><h2>Push outbox</h2><p class="na">No state database in this process.</p></section>`;
  const lastMinute = d.samples?.at(-1)?.pushes;
  const letters = d.deadLetters ?? [];
  const lettersTable = letters.length
    ? table(
        ['Key', 'Status', 'Reason', 'Attempts', 'Failed', ''],
        letters.map((l) => [
          `<code>${h(l.key)}</code>`,
          `${l.status ?? '–'} ${h(l.errorKind)}`,
          `<span class="err">${h(l.reason)}</span>`,
          String(l.attempts),
          time(l.failedAt.toISOString()),
          form(d.principal, '/actions/dead-letters/requeue', 'Requeue', { id: l.id }),
        ]),
        'dead-letters',
      ) +
      `<div class="actions">${form(d.principal, '/actions/dead-letters/requeue', 'Requeue all dead letters')}</div>`
    : '<p>No dead letters.</p>';
  return `<section id="push"><h2>Push outbox</h2>
<dl class="figures">
<div><dt>Pending</dt><dd id="outbox-pending">${num(s.outbox?.pending)}</dd></div>
<div><dt>Oldest pending</dt><dd>${s.outbox?.pending ? formatAge(s.outbox.oldestPendingSeconds) : '–'}</dd></div>
<div><dt>Pushes, last minute</dt><dd>${lastMinute === null || lastMinute === undefined ? '–' : num(lastMinute)}</dd></div>
<div><dt>Dead letters</dt><dd id="dead-letter-count">${num(s.deadLetters)}</dd></div>
</dl><h3>Dead letters</h3>${lettersTable}</section>`;
}

function storefrontSection(d: StatusPageData): string {
  const e = d.snap.events;
  const r = d.snap.recommendations;
  const b = d.snap.breakers;
  const events = e
    ? `<dl class="figures">${Object.entries(e.totals)
        .map(([k, v]) => `<div><dt>${h(k)}</dt><dd>${num(v)}</dd></div>`)
        .join(
          '',
        )}<div><dt>Pending</dt><dd>${num(e.pending)}${e.pending ? ` (oldest ${formatAge(e.oldestPendingSeconds)})` : ''}</dd></div></dl>`
    : NA;
  const recs = r
    ? `<dl class="figures">${Object.entries(r.bySource)
        .map(([k, v]) => `<div><dt>${h(k)}</dt><dd>${num(v)}</dd></div>`)
        .join('')}</dl>`
    : NA;
  const breakers = b
    ? table(
        ['Breaker', 'State', 'Open since'],
        b.map((x) => [
          h(x.name),
          `<span class="st st-${h(x.state)}">${h(x.state)}</span>`,
          time(x.openSince),
        ]),
      )
    : NA;
  return `<section id="storefront"><h2>Event spool</h2>${events}<h2>Recommendations by source</h2>${recs}<h3>Breakers</h3>${breakers}</section>`;
}

function chartsSection(d: StatusPageData): string {
  if (!d.samples)
    return `<section id="charts"><h2>Over time</h2><p class="na">No state database in this process: no history.</p></section>`;
  const s = d.samples;
  const data = {
    t: s.map((x) => Math.floor(Date.parse(x.at) / 1000)),
    offers: s.map((x) => x.offers),
    lag: s.map((x) => x.outboxOldestSeconds),
    pending: s.map((x) => x.outboxPending),
    events: s.map((x) => (x.events === null ? null : Math.round((x.events / 60) * 100) / 100)),
    recs: Object.fromEntries(
      [...new Set(s.flatMap((x) => Object.keys(x.recommendations ?? {})))].map((k) => [
        k,
        s.map((x) => x.recommendations?.[k] ?? null),
      ]),
    ),
  };
  // JSON inside <script type="application/json"> is data, not code: the CSP allows it, and '<' is escaped.
  const json = JSON.stringify(data).replace(/</g, '\\u003c');
  return `<section id="charts"><h2>Over time (24 h, one sample a minute)</h2>
${s.length < 2 ? '<p class="na">Not enough samples yet (one a minute).</p>' : ''}
<div class="charts"><figure><figcaption>Offers</figcaption><div class="chart" data-series="offers"></div></figure>
<figure><figcaption>Push lag (oldest pending, s)</figcaption><div class="chart" data-series="lag"></div></figure>
<figure><figcaption>Events/s</figcaption><div class="chart" data-series="events"></div></figure>
<figure><figcaption>Recommendations by source (per minute)</figcaption><div class="chart" data-series="recs"></div></figure></div>
<script type="application/json" id="chart-data">${json}</script>
<script src="/assets/uplot.min.js"></script><script src="/assets/status.js"></script>
<link rel="stylesheet" href="/assets/uplot.min.css"></section>`;
}

export function renderStatusPage(d: StatusPageData): string {
  const banner = d.snap.alerts.length
    ? `<div class="banner" role="alert" id="alerts"><strong>${d.snap.alerts.length} alert${d.snap.alerts.length === 1 ? '' : 's'}</strong><ul>${d.snap.alerts
        .map((a) => `<li><code>${h(a.rule)}</code> ${h(a.message)}</li>`)
        .join('')}</ul></div>`
    : '<div class="ok" id="alerts">All freshness checks pass.</div>';
  const mode = d.tokenConfigured
    ? d.principal.via === 'session'
      ? `<span>Signed in (${h(d.principal.who)})</span>${form(d.principal, '/logout', 'Sign out', {}, 'link')}`
      : `<span>${h(d.principal.who)}</span>`
    : '<span class="warn">ADMIN_TOKEN is not set: this page answers clients on this machine only.</span>';
  const db =
    d.snap.database === 'error'
      ? `<div class="banner">The state database did not answer: ${h(d.snap.databaseError ?? '')}</div>`
      : d.snap.database === 'absent'
        ? '<p class="na">This process serves FEEDS_DIR only (no state database): runs, outbox and actions are on the instance that runs <code>rr-sync run</code>.</p>'
        : '';
  const notice = d.notice ? `<div class="notice" role="status">${h(d.notice)}</div>` : '';
  return layout(
    'rr-catalog-sync status',
    `<header><h1>rr-catalog-sync</h1><div class="who">${mode}</div></header>
<main>${notice}${banner}${db}
${feedSection(d)}${pullsSection(d)}${runsSection(d)}${rejectedSection(d)}${pushSection(d)}${storefrontSection(d)}${chartsSection(d)}
<footer>As of ${time(d.snap.at)} · <a href="/metrics">metrics</a> · <a href="/healthz">healthz</a></footer></main>`,
  );
}

export function renderRunPage(run: RunDetail, reportLink: string | null): string {
  const pre = (v: unknown) => `<pre>${h(JSON.stringify(v, null, 2))}</pre>`;
  return layout(
    `Run #${run.id}`,
    `<header><h1>Run #${run.id}</h1><div class="who"><a href="/">Status</a></div></header><main><section>
<dl class="figures">
<div><dt>Kind</dt><dd>${h(run.kind)}</dd></div>
<div><dt>Trigger</dt><dd>${h(run.trigger)}${run.actor ? ` (${h(run.actor)})` : ''}</dd></div>
<div><dt>Status</dt><dd id="run-status">${h(run.status)}</dd></div>
<div><dt>Exit code</dt><dd>${run.exitCode ?? '–'}</dd></div>
<div><dt>Started</dt><dd>${time(run.startedAt)}</dd></div>
<div><dt>Finished</dt><dd>${time(run.finishedAt)}</dd></div>
<div><dt>Took</dt><dd>${run.durationSeconds ?? '–'} s</dd></div>
</dl>
${run.error ? `<h2>Error</h2><p class="err">${h(run.error)}</p>` : ''}
${reportLink ? `<p><a href="${h(reportLink)}">Full report of the feed this run published</a></p>` : ''}
<h2>Summary</h2>${pre(run.summary)}<h2>Report (counts per reason code, first issues)</h2>${pre(run.report)}
</section></main>`,
  );
}

export function renderLoginPage(message: string | null): string {
  return layout(
    'Sign in · rr-catalog-sync',
    `<header><h1>rr-catalog-sync</h1></header><main><section class="login">
<h2>Sign in</h2>${message ? `<p class="bad" role="alert">${h(message)}</p>` : ''}
<form method="post" action="/login"><label for="token">ADMIN_TOKEN</label>
<input id="token" name="token" type="password" autocomplete="current-password" required>
<button type="submit">Sign in</button></form></section></main>`,
  );
}

export function renderMessagePage(title: string, message: string): string {
  return layout(
    title,
    `<header><h1>${h(title)}</h1></header><main><section><p>${h(message)}</p><p><a href="/">Back to the status page</a></p></section></main>`,
  );
}
