// SVG badges as a README shows them: an <img> on another origin.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';

import { pngSize, startBrowser, startPageServer, startTally } from './harness.mjs';

let tally;
let browser;
let pages;
let keyed;

before(async () => {
  tally = await startTally();
  const html = {};
  pages = await startPageServer(html);
  keyed = await tally.createSite('keyed.example', ['https://keyed.example'], {
    require_public_key: true,
  });
  const b = (q) => `${tally.url}/v1/sites/${q}`;
  html['/readme.html'] = `<!doctype html><meta charset="utf-8"><title>README</title>
<body style="margin:0;background:#fff">
<p><img id="counting" src="${b('demo/badge.svg?key=/readme&hit=1')}" alt="visits"></p>
<p><img id="square" src="${b('demo/badge.svg?key=/readme&style=flat-square&label=page%20views%20of%20this%20project&color=brightgreen')}" alt="views"></p>
<p><img id="bad" src="${b('demo/badge.svg?key=/readme&color=not-a-colour')}" alt="bad"></p>
<p><img id="keyed" src="${b('keyed.example/badge.svg?key=/readme&hit=1')}" alt="keyed"></p>
</body>`;
  browser = await startBrowser();
});
after(async () => {
  await browser?.stop();
  await pages?.stop();
  await tally?.stop();
});

async function loaded(page, id) {
  await page.waitForFunction((i) => {
    const img = document.getElementById(i);
    return img && img.complete;
  }, id);
  return page.evaluate((i) => {
    const img = document.getElementById(i);
    return { width: img.naturalWidth, height: img.naturalHeight };
  }, id);
}

test('a counting badge renders at a sane size and counts each view', async () => {
  const { page, errors } = await browser.newPage();
  await page.goto(pages.origin + '/readme.html');
  const size = await loaded(page, 'counting');
  assert.equal(size.height, 20);
  assert.ok(size.width >= 50 && size.width <= 120, `width ${size.width}`);
  const shot = await page.locator('#counting').screenshot();
  const png = pngSize(shot);
  assert.equal(png.height, 20);
  assert.equal(png.width, size.width);
  assert.ok(shot.length > 300, 'the screenshot has content');
  assert.equal(await tally.hits('demo', '/readme'), 1);
  // The read-only badge on the same page did not count; a reload counts again
  // (no-store: the browser and image proxies fetch it anew).
  await page.reload();
  await loaded(page, 'counting');
  assert.equal(await tally.hits('demo', '/readme'), 2);
  assert.deepEqual(errors, []);
});

test('label, colour and style are applied and the badge widens to fit', async () => {
  const { page } = await browser.newPage();
  await page.goto(pages.origin + '/readme.html');
  const square = await loaded(page, 'square');
  assert.equal(square.height, 20);
  assert.ok(square.width >= 150 && square.width <= 260, `width ${square.width}`);
  const svg = await (
    await fetch(
      `${tally.url}/v1/sites/demo/badge.svg?key=/readme&style=flat-square&label=page%20views%20of%20this%20project&color=brightgreen`,
    )
  ).text();
  assert.match(svg, /fill="#4c1"/);
  assert.match(svg, />page views of this project<\/text>/);
  assert.doesNotMatch(svg, /rx="3"/);
});

test('the reserved text width fits the font the browser really uses', async () => {
  const { page } = await browser.newPage();
  const label = 'Visitors of WWW.EXAMPLE.COM — 2026';
  const r = await fetch(`${tally.url}/v1/sites/demo/badge.svg?key=/readme&label=${encodeURIComponent(label)}`);
  assert.equal(r.headers.get('content-type'), 'image/svg+xml; charset=utf-8');
  assert.equal(r.headers.get('cache-control'), 'no-cache, no-store, must-revalidate');
  const svg = await r.text();
  await page.setContent(`<!doctype html><body>${svg}</body>`);
  // Measure the label as drawn without textLength, in the badge's own font stack.
  const { natural, reserved } = await page.evaluate(() => {
    const text = document.querySelector('text:not([aria-hidden])');
    const reserved = Number(text.getAttribute('textLength'));
    text.removeAttribute('textLength');
    return { natural: text.getComputedTextLength(), reserved };
  });
  const ratio = natural / reserved;
  // textLength stretches or squeezes to `reserved`; within 15 % the glyphs
  // neither overlap nor gap visibly, and the box (reserved + padding) holds them.
  assert.ok(ratio > 0.85 && ratio < 1.15, `natural ${natural} vs reserved ${reserved}`);
});

test('an invalid parameter is an error badge with status 400', async () => {
  const { page } = await browser.newPage();
  await page.goto(pages.origin + '/readme.html');
  const bad = await loaded(page, 'bad');
  assert.equal(bad.height, 20, 'still drawn, saying what is wrong');
  const image = { headers: { accept: 'image/avif,image/webp,image/svg+xml,image/*,*/*;q=0.8' } };
  const r = await fetch(`${tally.url}/v1/sites/demo/badge.svg?color=not-a-colour`, image);
  assert.equal(r.status, 400);
  assert.match(await r.text(), /invalid color/);
  // A client that did not ask for an image gets the JSON error, like everywhere.
  const api = await fetch(`${tally.url}/v1/sites/demo/badge.svg?color=not-a-colour`);
  assert.equal(api.status, 400);
  assert.equal((await api.json()).error.code, 'invalid_query');
});

test('a site that requires a public key gets no public badge and is not counted', async () => {
  const { page } = await browser.newPage();
  await page.goto(pages.origin + '/readme.html');
  await loaded(page, 'keyed');
  const r = await fetch(`${tally.url}/v1/sites/keyed.example/badge.svg?key=/readme&hit=1`, {
    headers: { accept: 'image/svg+xml,image/*' },
  });
  assert.equal(r.status, 403);
  assert.match(await r.text(), /public key required/);
  assert.equal(await tally.hits('keyed.example', '/readme', keyed.public_key), 0);
  // With the key (a server-side fetch can send it), it counts.
  const ok = await fetch(`${tally.url}/v1/sites/keyed.example/badge.svg?key=/readme&hit=1`, {
    headers: { 'x-api-key': keyed.public_key },
  });
  assert.equal(ok.status, 200);
  assert.equal(await tally.hits('keyed.example', '/readme', keyed.public_key), 1);
});
