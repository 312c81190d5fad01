// The owner dashboard at /dashboard/: sign-in with the site's admin token,
// totals, top pages, the daily chart over a range, setting a counter, and a
// phone-sized layout.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';

import { screenshotPath, scriptConsoleErrors, startBrowser, startTally, tallyCli } from './harness.mjs';

const SITE = 'blog.example';
let tally;
let browser;
let adminToken;
// Day rows imported before the server starts: 30 days of history.
const history = [];

function utcDay(offset) {
  return new Date(Date.now() + offset * 86400000).toISOString().slice(0, 10);
}

before(async () => {
  tally = await startTally({
    prepare: (db) => {
      const created = JSON.parse(tallyCli(db, ['sites', 'create', SITE, '--origin', 'https://blog.example']));
      adminToken = created.admin_token;
      const pages = { '/': 1, '/posts/hello-world': 3, '/about': 5 };
      const lines = [];
      for (const [key, weight] of Object.entries(pages)) {
        let total = 0;
        let visitors = 0;
        for (let i = -29; i <= 0; i++) {
          const day = utcDay(i);
          const hits = Math.round((40 + 25 * Math.sin((i + weight) / 3) + (i + 30) * 1.5) / weight);
          const v = Math.ceil(hits * 0.7);
          total += hits;
          visitors += v;
          history.push({ key, day, hits, visitors: v });
          lines.push(JSON.stringify({ type: 'day', key, day, hits, visitors: v }));
        }
        lines.push(JSON.stringify({ type: 'counter', key, hits: total, visitors }));
      }
      tallyCli(db, ['import', '--site', SITE, '-'], lines.join('\n') + '\n');
    },
  });
  browser = await startBrowser();
});
after(async () => {
  await browser?.stop();
  await tally?.stop();
});

const sum = (rows, f) => rows.reduce((n, r) => n + r[f], 0);

async function signIn(page, token) {
  await page.goto(tally.url + '/dashboard/');
  await page.getByLabel('Site').fill(SITE);
  await page.getByLabel('Admin token').fill(token);
  await page.getByRole('button', { name: 'Sign in' }).click();
}

test('a wrong token is refused and nothing is stored', async () => {
  const { page, errors } = await browser.newPage();
  await signIn(page, 'tly_not-the-right-token-at-all-000000');
  await page.getByRole('alert').waitFor();
  assert.match(await page.getByRole('alert').textContent(), /not valid/);
  assert.equal(await page.evaluate(() => sessionStorage.length), 0);
  assert.deepEqual(errors, []);
  await page.close();
});

test('signs in, shows totals, top pages and the chart with the right numbers', async () => {
  const { page, errors, consoleErrors } = await browser.newPage();
  await signIn(page, adminToken);
  await page.getByTestId('site-name').waitFor();
  // The token is in session storage only: never in the URL.
  assert.ok(!page.url().includes(adminToken));
  assert.match(await page.evaluate(() => sessionStorage.getItem('tally.dashboard.session')), /tly_/);

  const allHits = sum(history, 'hits');
  const fmt = (n) => n.toLocaleString('en-US');
  await page.waitForFunction(() => !document.querySelector('[data-testid="range-hits"]')?.textContent.includes('…'));
  assert.equal(await page.getByTestId('total-hits').textContent(), fmt(allHits));
  assert.equal(await page.getByTestId('total-pages').textContent(), '3');
  // Default range: the last 30 days, which is all of the history.
  assert.equal(await page.getByTestId('range-hits').textContent(), fmt(allHits));
  const series = await tally.api(
    'GET',
    `/v1/sites/${SITE}/series?from=${utcDay(-29)}&to=${utcDay(0)}`,
    { token: adminToken },
  );
  assert.equal(series.status, 200, series.text);
  assert.equal(await page.getByTestId('range-visitors').textContent(), fmt(sum(series.json.days, 'visitors')));

  // The chart is drawn (uPlot canvas) and its daily numbers are the history's.
  const canvas = await page.locator('.chart canvas').boundingBox();
  assert.ok(canvas.width > 500 && canvas.height > 200, JSON.stringify(canvas));
  assert.match(await page.locator('.u-legend').textContent(), /Hits.*Visitors/s);
  await page.getByText('Daily numbers').click();
  for (const offset of [0, -7, -29]) {
    const day = utcDay(offset);
    const rows = history.filter((h) => h.day === day);
    const cells = await page.locator(`tr[data-day="${day}"] td`).allTextContents();
    assert.deepEqual(cells.slice(0, 2), [day, fmt(sum(rows, 'hits'))]);
  }
  assert.equal(await page.locator('table.days tbody tr').count(), 30);

  // Top pages, most visited first; picking one charts that page alone.
  const top = await page.locator('table.pages tbody tr td:first-child').allTextContents();
  assert.deepEqual(top, ['/', '/posts/hello-world', '/about']);
  await page.getByRole('button', { name: '/about' }).click();
  const about = history.filter((h) => h.key === '/about');
  await page.waitForFunction(
    (n) => document.querySelector('[data-testid="range-hits"]')?.textContent === n,
    fmt(sum(about, 'hits')),
  );

  // A 7-day range.
  await page.getByRole('button', { name: '7 days' }).click();
  const week = about.filter((h) => h.day >= utcDay(-6));
  await page.waitForFunction(
    (n) => document.querySelector('[data-testid="range-hits"]')?.textContent === n,
    fmt(sum(week, 'hits')),
  );
  await page.getByRole('button', { name: 'show all pages' }).click();
  await page.getByRole('button', { name: '30 days' }).click();
  await page.waitForFunction(
    (n) => document.querySelector('[data-testid="range-hits"]')?.textContent === n,
    fmt(allHits),
  );
  await page.getByText('Daily numbers').click(); // fold the table again for the picture
  if (screenshotPath('dashboard.png')) {
    await page.screenshot({ path: screenshotPath('dashboard.png'), fullPage: true });
  }
  assert.deepEqual(errors, []);
  assert.deepEqual(scriptConsoleErrors(consoleErrors), []);
  await page.close();
});

test('sets and resets a counter', async () => {
  const { page, errors } = await browser.newPage();
  await signIn(page, adminToken);
  await page.getByTestId('site-name').waitFor();
  await page.locator('input[name="key"]').fill('/moved-here');
  await page.locator('input[name="hits"]').fill('41000');
  await page.getByRole('button', { name: 'Set', exact: true }).click();
  await page.getByRole('status').filter({ hasText: '41,000' }).waitFor();
  assert.equal(await tally.hits(SITE, '/moved-here'), 41000);
  await page.getByRole('button', { name: '/moved-here' }).waitFor();
  await page.locator('input[name="key"]').fill('/moved-here');
  await page.getByRole('button', { name: 'Reset to 0' }).click();
  await page.getByRole('status').filter({ hasText: 'is now 0' }).waitFor();
  assert.equal(await tally.hits(SITE, '/moved-here'), 0);
  assert.deepEqual(errors, []);
  await page.close();
});

test('fits a phone-sized screen, and the session ends with sign-out', async () => {
  const { page, errors } = await browser.newPage();
  await page.setViewportSize({ width: 390, height: 844 });
  await signIn(page, adminToken);
  await page.locator('.chart canvas').waitFor();
  const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
  assert.ok(overflow <= 0, `the page is ${overflow}px wider than the phone`);
  const canvas = await page.locator('.chart canvas').boundingBox();
  assert.ok(canvas.width <= 390 && canvas.width > 250, JSON.stringify(canvas));
  if (screenshotPath('dashboard-phone.png')) {
    await page.screenshot({ path: screenshotPath('dashboard-phone.png') });
  }
  await page.getByRole('button', { name: 'Sign out' }).click();
  await page.getByRole('button', { name: 'Sign in' }).waitFor();
  assert.equal(await page.evaluate(() => sessionStorage.length), 0);
  assert.deepEqual(errors, []);
  await page.close();
});
