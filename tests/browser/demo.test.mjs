// The React résumé demo at /demo/ and the counter.js page at /demo/plain.html,
// as a visitor's browser sees them.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';

import { screenshotPath, scriptConsoleErrors, startBrowser, startTally } from './harness.mjs';

let tally;
let browser;
before(async () => {
  tally = await startTally();
  browser = await startBrowser();
});
after(async () => {
  await browser?.stop();
  await tally?.stop();
});

/** The number the React counter shows, once it shows one. */
async function reactCount(page) {
  const counter = page.locator('.counter-number[data-tally-state="ready"]');
  await counter.waitFor();
  return Number((await counter.textContent()).replace(/[^0-9]/g, ''));
}

test('the React demo shows its count, counts each view once, and reload increments it', async () => {
  const { page, errors, consoleErrors } = await browser.newPage();
  await page.goto(tally.url + '/demo/');
  const first = await reactCount(page);
  assert.equal(first, 1, 'a fresh database: the first view is number 1');
  await page.reload();
  const second = await reactCount(page);
  assert.equal(second, first + 1);
  // StrictMode and two counters on the page, yet one hit per view.
  assert.equal(await tally.hits('demo', '/demo/'), 2);
  assert.match(await page.locator('.counter-today').textContent(), /today:\s*2/);
  if (screenshotPath('demo.png')) {
    await page.locator('img[alt="visits badge"]').evaluate((img) => img.decode?.());
    await page.screenshot({ path: screenshotPath('demo.png') });
  }
  assert.deepEqual(errors, []);
  assert.deepEqual(scriptConsoleErrors(consoleErrors), []);
  await page.close();
});

test('a client-side route change counts the new page', async () => {
  const { page, errors } = await browser.newPage();
  await page.goto(tally.url + '/demo/');
  const before = await reactCount(page);
  await page.getByRole('link', { name: 'Projects' }).click();
  await page.getByRole('heading', { name: 'Projects' }).waitFor();
  await page.waitForFunction(
    () => document.querySelector('.counter-number')?.getAttribute('data-tally-state') === 'ready',
  );
  assert.equal(await reactCount(page), 1);
  assert.equal(await tally.hits('demo', '/demo/projects'), 1);
  await page.getByRole('link', { name: 'About' }).click();
  await page.getByRole('heading', { name: 'Experience' }).waitFor();
  await page.waitForFunction(
    (n) => document.querySelector('.counter-number[data-tally-state="ready"]')?.textContent === String(n),
    before + 1,
  );
  assert.equal(await tally.hits('demo', '/demo/'), before + 1);
  assert.deepEqual(errors, []);
  await page.close();
});

test('the plain-HTML page with counter.js shows its count and reload increments it', async () => {
  const { page, errors, consoleErrors } = await browser.newPage();
  await page.goto(tally.url + '/demo/plain.html');
  const hits = page.locator('#count [data-tally="hits"][data-tally-state="ready"]');
  await hits.waitFor();
  assert.equal(await hits.textContent(), '1');
  await page.reload();
  await hits.waitFor();
  assert.equal(await hits.textContent(), '2');
  assert.equal(await page.locator('[data-tally="today-hits"]').textContent(), '2');
  assert.equal(await tally.hits('demo', '/demo/plain.html'), 2);
  // The numbers are locale-formatted: set a large count and read it back.
  const set = await tally.api('PUT', '/v1/sites/demo/counters?key=/demo/plain.html', {
    token: tally.rootToken,
    body: { hits: 1234566 },
  });
  assert.equal(set.status, 200, set.text);
  await page.reload();
  await hits.waitFor();
  assert.equal(await hits.textContent(), '1,234,567');
  assert.deepEqual(errors, []);
  assert.deepEqual(scriptConsoleErrors(consoleErrors), []);
  await page.close();
});
