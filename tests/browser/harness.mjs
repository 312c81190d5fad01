// Shared pieces of the browser tests: a real `tally serve` on a loopback
// port with a fresh SQLite file, a second loopback origin serving plain
// pages, and Debian's Chromium driven by playwright-core.
import { spawn, execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, rmSync, mkdirSync } from 'node:fs';
import { createServer } from 'node:http';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';

export const repoRoot = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
export const imagesDir = join(repoRoot, 'docs', 'images');

const binary = process.env.TALLY_BINARY;
if (!binary || !existsSync(binary)) {
  throw new Error('TALLY_BINARY must name the built tally binary (ctest sets it)');
}
const chromiumPath = process.env.TALLY_CHROMIUM ?? '/usr/bin/chromium';
if (!existsSync(chromiumPath)) {
  throw new Error(`${chromiumPath} is missing: apt-get install chromium (scripts/test.sh does)`);
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/** Runs the tally CLI on `dbPath` and returns its stdout. */
export function tallyCli(dbPath, args, input) {
  return execFileSync(binary, ['--store', `sqlite:${dbPath}`, ...args], {
    input,
    encoding: 'utf8',
    stdio: ['pipe', 'pipe', 'pipe'],
  });
}

/**
 * Starts `tally serve` on 127.0.0.1 with a fresh database. `prepare(dbPath)`
 * runs before the server starts (e.g. to import history).
 */
export async function startTally({ prepare } = {}) {
  const dir = mkdtempSync(join(tmpdir(), 'tally-browser-'));
  const db = join(dir, 't.db');
  if (prepare) await prepare(db);
  const rootToken = randomBytes(24).toString('hex');
  const portFile = join(dir, 'port');
  const log = [];
  const child = spawn(
    binary,
    ['serve', '--listen', '127.0.0.1:0', '--port-file', portFile, '--store', `sqlite:${db}`],
    { env: { ...process.env, TALLY_ADMIN_TOKEN: rootToken }, stdio: ['ignore', 'pipe', 'pipe'] },
  );
  child.stdout.on('data', (d) => log.push(String(d)));
  child.stderr.on('data', (d) => log.push(String(d)));
  let exited = false;
  child.on('exit', () => (exited = true));
  let port = 0;
  for (let i = 0; i < 200 && !port; i++) {
    if (exited) throw new Error('tally exited at start:\n' + log.join(''));
    if (existsSync(portFile)) port = Number(readFileSync(portFile, 'utf8').trim()) || 0;
    if (!port) await sleep(50);
  }
  if (!port) throw new Error('tally did not start:\n' + log.join(''));
  const url = `http://127.0.0.1:${port}`;

  /** Calls the API from node (no Origin header). */
  async function api(method, path, { body, token, headers = {} } = {}) {
    const h = { ...headers };
    if (token) h.authorization = `Bearer ${token}`;
    if (body !== undefined) h['content-type'] = 'application/json';
    const r = await fetch(url + path, {
      method,
      headers: h,
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const text = await r.text();
    let json;
    try {
      json = JSON.parse(text);
    } catch {
      json = undefined;
    }
    return { status: r.status, json, text, headers: r.headers };
  }

  /** Creates a site through the API; returns its admin token and public key. */
  async function createSite(site, origins, extra = {}) {
    const r = await api('POST', '/v1/sites', {
      token: rootToken,
      body: { site, origins, ...extra },
    });
    if (r.status !== 201) throw new Error(`create ${site}: ${r.status} ${r.text}`);
    return r.json;
  }

  /** The counter's hits as the server has them (0 if it does not exist). */
  async function hits(site, key, publicKey) {
    const r = await api('GET', `/v1/sites/${site}/counters?key=${encodeURIComponent(key)}`, {
      headers: publicKey ? { 'x-api-key': publicKey } : {},
    });
    if (r.status === 404) return 0;
    if (r.status !== 200) throw new Error(`read ${site} ${key}: ${r.status} ${r.text}`);
    return r.json.hits;
  }

  async function stop() {
    if (!exited) {
      child.kill('SIGTERM');
      for (let i = 0; i < 100 && !exited; i++) await sleep(50);
      if (!exited) child.kill('SIGKILL');
    }
    rmSync(dir, { recursive: true, force: true });
  }

  return { url, port, db, rootToken, api, createSite, hits, stop, log };
}

/** A second origin on loopback that serves the given pages (path -> html). */
export async function startPageServer(pages) {
  const server = createServer((req, res) => {
    const html = pages[req.url.split('?')[0]];
    if (html === undefined) {
      res.writeHead(404).end('not found');
      return;
    }
    res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' }).end(html);
  });
  await new Promise((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.address();
  return {
    origin: `http://127.0.0.1:${port}`,
    port,
    stop: () => new Promise((r) => server.close(r)),
  };
}

/**
 * Launches headless Chromium with a new empty profile. Returns the context
 * and a `watch(page)` that records uncaught page errors and console errors.
 */
export async function startBrowser(options = {}) {
  const profile = mkdtempSync(join(tmpdir(), 'tally-chromium-'));
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: chromiumPath,
    headless: true,
    args: [
      '--no-sandbox',
      '--disable-gpu',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-quic',
      '--no-first-run',
      '--disable-sync',
    ],
    viewport: { width: 1000, height: 720 },
    deviceScaleFactor: 1,
    colorScheme: 'light',
    locale: 'en-US',
    timezoneId: 'UTC',
    ...options,
  });
  context.setDefaultTimeout(15000);
  return {
    context,
    async newPage() {
      const page = await context.newPage();
      const errors = [];
      const consoleErrors = [];
      page.on('pageerror', (e) => errors.push(String(e)));
      page.on('console', (m) => {
        if (m.type() === 'error') consoleErrors.push(m.text());
      });
      return { page, errors, consoleErrors };
    },
    async stop() {
      await context.close();
      rmSync(profile, { recursive: true, force: true });
    },
  };
}

/** Console errors that are the browser's own network reports, not a script's. */
export function scriptConsoleErrors(consoleErrors) {
  return consoleErrors.filter(
    (t) => !/Failed to load resource|net::ERR_|blocked by CORS policy|status of 40[34]/.test(t),
  );
}

/** Width and height of a PNG from its IHDR chunk. */
export function pngSize(buffer) {
  return { width: buffer.readUInt32BE(16), height: buffer.readUInt32BE(20) };
}

/** Saves a screenshot for the README when TALLY_SCREENSHOTS=1. */
export function screenshotPath(name) {
  if (process.env.TALLY_SCREENSHOTS !== '1') return undefined;
  mkdirSync(imagesDir, { recursive: true });
  return join(imagesDir, name);
}
