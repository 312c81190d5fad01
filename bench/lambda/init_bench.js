// Init time of a Lambda custom runtime: from process start (spawn) to its
// first GET /2018-06-01/runtime/invocation/next on a tiny Runtime API on
// loopback — the part of a cold start the function itself controls. Each
// command is started `--runs` times, interleaved, and killed once it has
// asked for its first event.
//
// Usage: node init_bench.js --runs N --env-file FILE -- NAME=COMMAND... (JSON array argv)
'use strict';
const http = require('http');
const { spawn } = require('child_process');
const fs = require('fs');

const args = process.argv.slice(2);
let runs = 20;
let env = {};
const commands = [];
for (let i = 0; i < args.length; i++) {
  if (args[i] === '--runs') runs = +args[++i];
  else if (args[i] === '--env-file') env = JSON.parse(fs.readFileSync(args[++i], 'utf8'));
  else {
    const eq = args[i].indexOf('=');
    commands.push({ name: args[i].slice(0, eq), argv: JSON.parse(args[i].slice(eq + 1)), times: [] });
  }
}

let waiter = null;
const server = http.createServer((req, res) => {
  if (req.url.endsWith('/runtime/invocation/next')) {
    const t = process.hrtime.bigint();
    if (waiter) waiter(t);
    return;  // held open, as Lambda does with no event
  }
  if (req.url.endsWith('/runtime/init/error')) {
    let b = '';
    req.on('data', (c) => (b += c));
    req.on('end', () => { console.error('init error:', b); process.exit(1); });
    return;
  }
  res.writeHead(404);
  res.end();
});

function once(cmd, port) {
  return new Promise((resolve, reject) => {
    const start = process.hrtime.bigint();
    const child = spawn(cmd.argv[0], cmd.argv.slice(1), {
      env: { ...env, AWS_LAMBDA_RUNTIME_API: `127.0.0.1:${port}` },
      stdio: ['ignore', 'ignore', 'inherit'],
    });
    const timer = setTimeout(() => reject(new Error(cmd.name + ': no next call in 20 s')), 20000);
    child.on('exit', (code) => { if (waiter) reject(new Error(`${cmd.name} exited ${code}`)); });
    waiter = (t) => {
      waiter = null;
      clearTimeout(timer);
      child.kill('SIGKILL');
      child.on('exit', () => resolve(Number(t - start) / 1e6));
    };
  });
}

function stats(times) {
  const s = [...times].sort((a, b) => a - b);
  const q = (p) => s[Math.min(s.length - 1, Math.floor(p * s.length))];
  return { median: q(0.5), p90: q(0.9), min: s[0], max: s[s.length - 1] };
}

server.listen(0, '127.0.0.1', async () => {
  const port = server.address().port;
  try {
    for (let r = 0; r < runs; r++) {
      for (const cmd of commands) cmd.times.push(await once(cmd, port));
    }
  } catch (e) {
    console.error(e.message);
    process.exit(1);
  }
  console.log(`init time, process start -> first /invocation/next, ${runs} runs each (ms)`);
  console.log('runtime'.padEnd(46) + '  median     p90     min     max');
  for (const cmd of commands) {
    const st = stats(cmd.times);
    console.log(cmd.name.padEnd(46) + [st.median, st.p90, st.min, st.max].map((v) => v.toFixed(1).padStart(8)).join(''));
  }
  server.close();
  process.exit(0);
});
