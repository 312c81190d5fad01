// A Lambda Runtime API emulator on loopback, following AWS's documentation
// ("Using the Lambda runtime API for custom runtimes", API version
// 2018-06-01), plus a minimal SSM Parameter Store (GetParameter) that checks
// SigV4 signatures with the AWS SDK's own signer. Our mock: AWS cannot run
// here; everything it does is what the documentation says Lambda does.
//
// Runtime API (for the function):
//   GET  /2018-06-01/runtime/invocation/next   held open until an event is
//        queued (no timeout); 200 with the event as body and the headers
//        Lambda-Runtime-Aws-Request-Id, -Deadline-Ms, -Invoked-Function-Arn,
//        -Trace-Id.
//   POST /2018-06-01/runtime/invocation/{id}/response   202 {"status":"OK"};
//        400 for an unknown or already answered id; 413 over 6 MB.
//   POST /2018-06-01/runtime/invocation/{id}/error      202, same checks.
//   POST /2018-06-01/runtime/init/error                 202.
// Control (for the test):
//   POST /test/invoke?timeout_ms=N   queues the body as an event and answers,
//        once the function has, {"kind":"response"|"error","body":...,
//        "errorType":...,"requestId":...}; 504 after the timeout.
//   GET  /test/init-error?timeout_ms=N   the init error once posted, else 504.
//   GET  /test/state   {"nextCalls":n,"firstNextAt":epoch ms or null,
//        "ssmCalls":n,"violations":[...]} — violations are protocol errors
//        the function made (unknown ids, double answers, bad SSM signatures).
// SSM (POST / with X-Amz-Target: AmazonSSM.GetParameter): parameters from
//   --ssm NAME=VALUE; unknown names answer 400 ParameterNotFound.
//
// Usage: node runtime_api_emulator.js --port-file FILE [--ssm NAME=VALUE]...
//        [--secret-key KEY]   (the secret the SigV4 check uses)
'use strict';
const http = require('http');
const fs = require('fs');
const path = require('path');
const crypto = require('crypto');

const args = process.argv.slice(2);
let portFile = null;
let secretKey = 'test-secret-key';
const ssmParams = new Map();
for (let i = 0; i < args.length; i += 2) {
  if (args[i] === '--port-file') portFile = args[i + 1];
  else if (args[i] === '--ssm') {
    const eq = args[i + 1].indexOf('=');
    ssmParams.set(args[i + 1].slice(0, eq), args[i + 1].slice(eq + 1));
  } else if (args[i] === '--secret-key') secretKey = args[i + 1];
  else throw new Error('unknown argument ' + args[i]);
}

const kMaxResponseBytes = 6 * 1024 * 1024;
const queue = [];          // events waiting for `next`
const waitingNext = [];    // `next` requests held open
const pending = new Map(); // request id -> { resolve } until answered
let nextCalls = 0;
let firstNextAt = null;
let ssmCalls = 0;
let initError = null;
const initErrorWaiters = [];
const violations = [];

function send(res, status, body, headers = {}) {
  const text = typeof body === 'string' ? body : JSON.stringify(body);
  res.writeHead(status, { 'Content-Type': 'application/json', ...headers });
  res.end(text);
}

function dispatch() {
  while (queue.length > 0 && waitingNext.length > 0) {
    const res = waitingNext.shift();
    if (res.destroyed) continue;
    const inv = queue.shift();
    res.writeHead(200, {
      'Content-Type': 'application/json',
      'Lambda-Runtime-Aws-Request-Id': inv.id,
      'Lambda-Runtime-Deadline-Ms': String(Date.now() + 30000),
      'Lambda-Runtime-Invoked-Function-Arn':
          'arn:aws:lambda:us-east-1:123456789012:function:tally',
      'Lambda-Runtime-Trace-Id': 'Root=1-5bef4de7-ad49b0e87f6ef6c87fc2e700;Parent=9a9197af755a6419;Sampled=1',
    });
    res.end(inv.event);
  }
}

// Error bodies must be the documented ErrorRequest: {errorMessage, errorType, stackTrace}.
function checkErrorBody(what, body) {
  try {
    const e = JSON.parse(body);
    if (typeof e.errorMessage !== 'string' || typeof e.errorType !== 'string' ||
        (e.stackTrace !== undefined && !Array.isArray(e.stackTrace))) {
      violations.push(`${what}: body is not {errorMessage, errorType, stackTrace}`);
    }
  } catch (err) {
    violations.push(`${what}: body is not JSON`);
  }
}

function answer(id, kind, req, body) {
  if (kind === 'error') checkErrorBody('invocation error', body);
  const p = pending.get(id);
  if (!p) {
    violations.push(`${kind} for unknown or answered request id ${id}`);
    return false;
  }
  pending.delete(id);
  p.resolve({ kind, requestId: id, body, errorType: req.headers['lambda-runtime-function-error-type'] || null });
  return true;
}

// Checks an SSM request's SigV4 signature with @smithy/signature-v4.
async function checkSignature(req, body) {
  const auth = req.headers['authorization'] || '';
  const m = /^AWS4-HMAC-SHA256 Credential=([^/]+)\/(\d{8})\/([^/]+)\/ssm\/aws4_request, ?SignedHeaders=([^,]+), ?Signature=([0-9a-f]{64})$/.exec(auth);
  if (!m) return 'not a SigV4 Authorization for service ssm: ' + auth;
  const modules = path.join(__dirname, '../dynamodb/node_modules');
  const { SignatureV4 } = require(path.join(modules, '@smithy/signature-v4'));
  const { HttpRequest } = require(path.join(modules, '@smithy/protocol-http'));
  class Sha256 {
    constructor(secret) { this.h = secret ? crypto.createHmac('sha256', secret) : crypto.createHash('sha256'); }
    update(d) { this.h.update(d); }
    async digest() { return new Uint8Array(this.h.digest()); }
  }
  const signedNames = m[4].split(';');
  const headers = {};
  for (const name of signedNames) headers[name] = req.headers[name];
  const d = req.headers['x-amz-date'] || '';
  const date = new Date(Date.UTC(+d.slice(0, 4), +d.slice(4, 6) - 1, +d.slice(6, 8),
                                 +d.slice(9, 11), +d.slice(11, 13), +d.slice(13, 15)));
  const signer = new SignatureV4({
    credentials: { accessKeyId: m[1], secretAccessKey: secretKey,
                   sessionToken: req.headers['x-amz-security-token'] },
    region: m[3], service: 'ssm', sha256: Sha256, applyChecksum: false,
  });
  const request = new HttpRequest({ method: req.method, protocol: 'http:',
    hostname: req.headers.host.split(':')[0], port: +req.headers.host.split(':')[1],
    path: req.url, headers, body });
  const signed = await signer.sign(request, { signingDate: date, signableHeaders: new Set(signedNames) });
  const expected = (signed.headers['authorization'] || '').replace(/.*Signature=/, '');
  if (expected !== m[5]) console.error('SigV4 mismatch; request headers:', JSON.stringify(req.headers));
  return expected === m[5] ? null : `SigV4 signature mismatch (${m[5]} vs ${expected})`;
}

async function handleSsm(req, res, body) {
  ssmCalls++;
  const target = req.headers['x-amz-target'];
  if (target !== 'AmazonSSM.GetParameter') {
    return send(res, 400, { __type: 'InvalidAction', message: 'unsupported ' + target });
  }
  const bad = await checkSignature(req, body);
  if (bad) {
    violations.push(bad);
    return send(res, 400, { __type: 'InvalidSignatureException', message: bad });
  }
  const input = JSON.parse(body);
  if (input.WithDecryption !== true) violations.push('GetParameter without WithDecryption');
  if (!ssmParams.has(input.Name)) {
    return send(res, 400, { __type: 'ParameterNotFound', message: '' }, { 'Content-Type': 'application/x-amz-json-1.1' });
  }
  send(res, 200, { Parameter: { Name: input.Name, Type: 'SecureString', Value: ssmParams.get(input.Name), Version: 1 } },
       { 'Content-Type': 'application/x-amz-json-1.1' });
}

const server = http.createServer((req, res) => {
  const chunks = [];
  req.on('data', (c) => chunks.push(c));
  req.on('end', () => {
    const body = Buffer.concat(chunks);
    const url = new URL(req.url, 'http://localhost');
    const p = url.pathname;
    const timeoutMs = +(url.searchParams.get('timeout_ms') || 20000);
    let m;
    if (req.method === 'GET' && p === '/2018-06-01/runtime/invocation/next') {
      nextCalls++;
      if (firstNextAt === null) firstNextAt = Date.now();
      req.socket.setTimeout(0);
      waitingNext.push(res);
      return dispatch();
    }
    if (req.method === 'POST' && (m = /^\/2018-06-01\/runtime\/invocation\/([^/]+)\/(response|error)$/.exec(p))) {
      if (body.length > kMaxResponseBytes) {
        return send(res, 413, { errorMessage: 'payload too large', errorType: 'RequestEntityTooLarge' });
      }
      if (!answer(decodeURIComponent(m[1]), m[2], req, body.toString('utf8'))) {
        return send(res, 400, { errorMessage: 'Invalid request ID', errorType: 'InvalidRequestID' });
      }
      return send(res, 202, { status: 'OK' });
    }
    if (req.method === 'POST' && p === '/2018-06-01/runtime/init/error') {
      checkErrorBody('init error', body.toString('utf8'));
      initError = { body: body.toString('utf8'), errorType: req.headers['lambda-runtime-function-error-type'] || null };
      while (initErrorWaiters.length) initErrorWaiters.shift()();
      return send(res, 202, { status: 'OK' });
    }
    if (req.method === 'POST' && p === '/') return handleSsm(req, res, body.toString('utf8')).catch((e) => send(res, 500, { message: String(e) }));
    if (req.method === 'POST' && p === '/test/invoke') {
      const id = crypto.randomUUID();
      const timer = setTimeout(() => { pending.delete(id); send(res, 504, { error: 'no answer' }); }, timeoutMs);
      pending.set(id, { resolve: (r) => { clearTimeout(timer); send(res, 200, r); } });
      queue.push({ id, event: body.toString('utf8') });
      return dispatch();
    }
    if (req.method === 'GET' && p === '/test/init-error') {
      if (initError) return send(res, 200, initError);
      const timer = setTimeout(() => send(res, 504, { error: 'no init error' }), timeoutMs);
      initErrorWaiters.push(() => { clearTimeout(timer); send(res, 200, initError); });
      return;
    }
    if (req.method === 'GET' && p === '/test/state') {
      return send(res, 200, { nextCalls, firstNextAt, ssmCalls, violations, initError: initError !== null });
    }
    if (p.startsWith('/2018-06-01/')) {
      violations.push(`${req.method} ${p}: not part of the Runtime API`);
    }
    send(res, 404, { errorMessage: 'unknown path ' + p, errorType: 'NotFound' });
  });
});
server.keepAliveTimeout = 0;
server.requestTimeout = 0;
server.headersTimeout = 0;
server.listen(0, '127.0.0.1', () => {
  const port = server.address().port;
  if (portFile) fs.writeFileSync(portFile + '.tmp', String(port)), fs.renameSync(portFile + '.tmp', portFile);
  else console.log(port);
});
