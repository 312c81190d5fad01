// counter.js on a page of another origin: counted when the site allows that
// origin, refused and not counted when it does not, and harmless when the
// API is down or blocked.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';

import { scriptConsoleErrors, startBrowser, startPageServer, startTally } from './harness.mjs';

let tally;
let browser;
let pages;
let keyed;

// A page of someone's blog that embeds counter.js from `api`.
function blogPage(api, site, extra = '') {
  return `<!doctype html><html><head><meta charset="utf-8"><title>blog</title></head><body>
<h1 id="title">My blog</h1>
<p id="line">Read <span id="hits" data-tally="hits">…</span> times</p>
<script src="${api}/counter.js" data-site="${site}" ${extra} async></script>
<script>window.__loaded = true;</script>
</body></html>`;
}

before(async () => {
  tally = await startTally();
  // The page server's port is only known once it listens: pages are filled in after.
  const html = {};
  pages = await startPageServer(html);
  await tally.createSite('allowed.example', [pages.origin]);
  await tally.createSite('strict.example', ['https://strict.example']);
  keyed = await tally.createSite('keyed.example', [pages.origin], { require_public_key: true });
  html['/allowed.html'] = blogPage(tally.url, 'allowed.example');
  html['/refused.html'] = blogPage(tally.url, 'strict.example');
  html['/keyed.html'] = blogPage(tally.url, 'keyed.example', `data-api-key="${keyed.public_key}"`);
  html['/keyed-missing.html'] = blogPage(tally.url, 'keyed.example', 'data-key="/nokey"');
  // Nothing listens on port 9.
  html['/down.html'] = blogPage(tally.url, 'allowed.example', 'data-api="http://127.0.0.1:9"');
  html['/read.html'] = blogPage(tally.url, 'allowed.example', 'data-mode="read" data-key="/allowed.html"');
  browser = await startBrowser();
});
after(async () => {
  await browser?.stop();
  await pages?.stop();
  await tally?.stop();
});

test('an allowed origin is counted and shown', async () => {
  const { page, errors, consoleErrors } = await browser.newPage();
  await page.goto(pages.origin + '/allowed.html');
  await page.locator('#hits[data-tally-state="ready"]').waitFor();
  assert.equal(await page.locator('#hits').textContent(), '1');
  assert.equal(await tally.hits('allowed.example', '/allowed.html'), 1);
  // Read mode shows the count without counting.
  await page.goto(pages.origin + '/read.html');
  await page.locator('#hits[data-tally-state="ready"]').waitFor();
  assert.equal(await page.locator('#hits').textContent(), '1');
  assert.equal(await tally.hits('allowed.example', '/allowed.html'), 1);
  assert.deepEqual(errors, []);
  assert.deepEqual(scriptConsoleErrors(consoleErrors), []);
});

test('a disallowed origin is refused and not counted', async () => {
  const { page, errors, consoleErrors } = await browser.newPage();
  const attempts = [];
  page.on('request', (r) => {
    if (r.url().includes('/v1/sites/')) attempts.push(r.method());
  });
  await page.goto(pages.origin + '/refused.html');
  await page.locator('#hits[data-tally-state="error"]').waitFor();
  assert.equal(await page.locator('#hits').textContent(), '…', 'the placeholder stays');
  assert.deepEqual(attempts, ['POST'], 'the page did try to count');
  // What the server answered that browser: 403, without CORS headers.
  const refused = await tally.api('POST', '/v1/sites/strict.example/hits?key=/x', {
    headers: { origin: pages.origin },
  });
  assert.equal(refused.status, 403);
  assert.equal(refused.json.error.code, 'origin_not_allowed');
  assert.equal(refused.headers.get('access-control-allow-origin'), null);
  assert.equal(await tally.hits('strict.example', '/refused.html'), 0);
  assert.deepEqual(errors, []);
  assert.deepEqual(scriptConsoleErrors(consoleErrors), []);
});

test('a site that requires a public key counts with it and refuses without', async () => {
  const { page, errors } = await browser.newPage();
  await page.goto(pages.origin + '/keyed.html');
  await page.locator('#hits[data-tally-state="ready"]').waitFor();
  assert.equal(await tally.hits('keyed.example', '/keyed.html', keyed.public_key), 1);
  await page.goto(pages.origin + '/keyed-missing.html');
  await page.locator('#hits[data-tally-state="error"]').waitFor();
  const read = await tally.api('GET', '/v1/sites/keyed.example/counters?key=/nokey');
  assert.equal(read.status, 403, 'public reads of a keyed site need the key too');
  assert.deepEqual(errors, []);
});

test('API down: the page renders, the placeholder stays, nothing throws', async () => {
  const { page, errors, consoleErrors } = await browser.newPage();
  await page.goto(pages.origin + '/down.html');
  await page.locator('#hits[data-tally-state="error"]').waitFor();
  assert.equal(await page.locator('#title').textContent(), 'My blog');
  assert.equal(await page.locator('#hits').textContent(), '…');
  assert.equal(await page.evaluate(() => window.__loaded), true);
  assert.deepEqual(errors, []);
  assert.deepEqual(scriptConsoleErrors(consoleErrors), []);
});

test('counter.js itself blocked: the page renders and nothing throws', async () => {
  const { page, errors } = await browser.newPage();
  await page.route('**/counter.js', (route) => route.abort('blockedbyclient'));
  await page.goto(pages.origin + '/allowed.html');
  await page.waitForFunction(() => window.__loaded === true);
  assert.equal(await page.locator('#hits').textContent(), '…');
  assert.deepEqual(errors, []);
});

test('API down under the React demo: the page renders with its fallback, nothing throws', async () => {
  const { page, errors, consoleErrors } = await browser.newPage();
  await page.route('**/v1/sites/**', (route) => route.abort('connectionrefused'));
  await page.goto(tally.url + '/demo/');
  await page.getByRole('heading', { name: 'Ada Example' }).waitFor();
  await page.locator('.counter-number[data-tally-state="error"]').waitFor();
  assert.equal(await page.locator('.counter-number').textContent(), '—');
  // The layout holds: the counter box keeps its size without a number.
  const box = await page.locator('.counter').boundingBox();
  assert.ok(box.width > 100 && box.height > 50, JSON.stringify(box));
  assert.deepEqual(errors, []);
  assert.deepEqual(scriptConsoleErrors(consoleErrors), []);
  assert.equal(await tally.hits('demo', '/demo/'), 0);
});
