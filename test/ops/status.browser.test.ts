import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { BrowserContext } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ADMIN_TOKEN, createOpsHarness, storeProducts, type OpsHarness } from './ops.harness.ts';

/**
 * The status page in a real browser: Debian's chromium driven by playwright-core (no browser
 * download). .ci/run installs chromium when it is missing; elsewhere this file is skipped with
 * the reason.
 */
const CHROMIUM = '/usr/bin/chromium';
const haveChromium = existsSync(CHROMIUM);
if (!haveChromium)
  console.warn(`status page browser test skipped: ${CHROMIUM} is missing (apt-get install -y chromium)`);

const SCREENSHOTS = path.join(import.meta.dirname, '__screenshots__');

let t: OpsHarness;
let context: BrowserContext;
let profile: string;
let v1: string;
let v2: string;

beforeAll(async () => {
  if (!haveChromium) return;
  t = await createOpsHarness();
  v1 = (await t.feed()).version!;
  await t.sync();
  await t.setProducts(storeProducts(7));
  v2 = (await t.feed()).version!;
  await t.addDeadLetter('101');
  await fetch(`${t.url}/feeds/catalog.xml`, { headers: { 'user-agent': 'RetailRocket-Fetcher/1.0' } });
  // An hour of history, so the charts have something to draw.
  await t.h.db.pool.query(
    `insert into rr_sync.ops_samples (at, offers, outbox_pending, outbox_oldest_seconds, dead_letters, pushes, events, recommendations, instance)
     select date_trunc('minute', now()) - make_interval(mins => m), 6 + (m < 30)::int, (m % 7), (m % 13) * 4, 1, 50 + m % 9, 600 + m * 3,
            jsonb_build_object('retailrocket', 40 + m % 5, 'cache', 20 + m % 3, 'fallback', m % 2), 'test'
       from generate_series(1, 60) m`,
  );
  const { chromium } = await import('playwright-core');
  profile = await mkdtemp(path.join(tmpdir(), 'rr-chromium-'));
  context = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM,
    headless: true,
    args: [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
    ],
  });
}, 120_000);

afterAll(async () => {
  await context?.close();
  if (profile) await rm(profile, { recursive: true, force: true });
  await t?.close();
});

/** No horizontal scrolling, and the key blocks visible and apart. */
async function checkLayout(page: Awaited<ReturnType<typeof context.newPage>>) {
  // Runs in the page (a string: this project's TypeScript has no DOM types).
  const overflow = await page.evaluate<number>('document.scrollingElement.scrollWidth - window.innerWidth');
  expect(overflow).toBeLessThanOrEqual(0);
  const boxes = [];
  for (const sel of ['#alerts', '#feed-version', '#runs h2', '#push h2', '#charts h2']) {
    const box = await page.locator(sel).first().boundingBox();
    expect(box, sel).not.toBeNull();
    expect(box!.width, sel).toBeGreaterThan(0);
    boxes.push({ sel, ...box! });
  }
  for (let i = 0; i < boxes.length; i++)
    for (let j = i + 1; j < boxes.length; j++) {
      const a = boxes[i]!;
      const b = boxes[j]!;
      const apart =
        a.x + a.width <= b.x || b.x + b.width <= a.x || a.y + a.height <= b.y || b.y + b.height <= a.y;
      expect(apart, `${a.sel} overlaps ${b.sel}`).toBe(true);
    }
}

describe.skipIf(!haveChromium)('status page in headless Chromium', () => {
  it('logs in, shows the feed and runs, follows a report, requeues a dead letter, rolls back and forward', async () => {
    const page = await context.newPage();
    await page.setViewportSize({ width: 1280, height: 900 });
    await page.goto(`${t.url}/`);
    expect(new URL(page.url()).pathname).toBe('/login');
    await page.fill('#token', ADMIN_TOKEN);
    await page.click('button[type=submit]');
    await page.waitForURL(`${t.url}/`);
    await expect.poll(() => page.textContent('#feed-version')).toContain(v2);
    expect(await page.locator('#runs tbody tr').count()).toBeGreaterThanOrEqual(3);
    expect(await page.textContent('#pulls')).toContain('RetailRocket-Fetcher/1.0');
    expect(await page.textContent('#rejected')).toContain('900');

    // A run's report.
    await page.locator('#runs tbody tr a').first().click();
    await page.waitForURL(/\/runs\/\d+$/);
    expect(await page.textContent('#run-status')).toMatch(/published|unchanged/);
    await page.goBack();

    // Requeue the dead letter.
    expect(await page.textContent('#dead-letter-count')).toBe('1');
    await page.locator('#dead-letters button', { hasText: 'Requeue' }).first().click();
    await page.waitForURL(/notice=requeued/);
    expect(await page.textContent('.notice')).toContain('1 dead letter(s) requeued');
    expect(await page.textContent('#dead-letter-count')).toBe('0');

    // Roll back, then forward again.
    await page.locator('#versions tr', { hasText: v1 }).locator('button').click();
    await page.waitForURL(/notice=activated/);
    expect(await page.textContent('#feed-version')).toContain(v1);
    await page.locator('#versions tr', { hasText: v2 }).locator('button').click();
    await page.waitForURL(/notice=activated/);
    expect(await page.textContent('#feed-version')).toContain(v2);
    await page.close();
  });

  it('lays out without breakage at phone and desktop widths', async () => {
    await mkdir(SCREENSHOTS, { recursive: true });
    for (const [name, width] of [
      ['phone', 390],
      ['desktop', 1280],
    ] as const) {
      const page = await context.newPage();
      await page.setViewportSize({ width, height: 844 });
      await page.goto(`${t.url}/`);
      await page.waitForSelector('#charts .chart canvas');
      await checkLayout(page);
      // The README's screenshot is rewritten only on request (its clock and ids change every run).
      const docs = path.join(SCREENSHOTS, 'status-desktop.png');
      const file =
        name === 'desktop' && (process.env.UPDATE_SCREENSHOTS === '1' || !existsSync(docs))
          ? docs
          : path.join(profile, `status-${name}.png`);
      await page.screenshot({ path: file, fullPage: true });
      await page.close();
    }
  });
});
