// Sends HITS POSTs to URL from CONCURRENCY parallel keep-alive clients and
// prints a JSON summary: ok, failed, statuses, distinct numbers, min, max.
// Usage: node hit_load.js URL HITS CONCURRENCY
'use strict';
const http = require('http');
const [url, hitsArg, concArg] = process.argv.slice(2);
const total = Number(hitsArg), concurrency = Number(concArg);
const agent = new http.Agent({ keepAlive: true, maxSockets: concurrency });
const numbers = [];
const statuses = {};
let sent = 0, ok = 0, failed = 0;

function one() {
  return new Promise((resolve) => {
    const req = http.request(url, { method: 'POST', agent, headers: { 'content-length': 0 } },
      (res) => {
        let body = '';
        res.on('data', (c) => { body += c; });
        res.on('end', () => {
          statuses[res.statusCode] = (statuses[res.statusCode] || 0) + 1;
          if (res.statusCode === 200) {
            ok++;
            numbers.push(JSON.parse(body).hits);
          } else {
            failed++;
          }
          resolve();
        });
      });
    req.on('error', () => { failed++; statuses.error = (statuses.error || 0) + 1; resolve(); });
    req.end();
  });
}

async function worker() {
  while (sent < total) {
    sent++;
    await one();
  }
}

(async () => {
  const start = Date.now();
  await Promise.all(Array.from({ length: concurrency }, worker));
  const seconds = (Date.now() - start) / 1000;
  const distinct = new Set(numbers).size;
  console.log(JSON.stringify({
    ok, failed, statuses, distinct, seconds,
    min: numbers.length ? Math.min(...numbers) : null,
    max: numbers.length ? Math.max(...numbers) : null,
    hits_per_second: Math.round(ok / seconds),
  }));
  agent.destroy();
})();
