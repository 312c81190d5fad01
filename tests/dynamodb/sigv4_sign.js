// Signs one request with the AWS SDK for JavaScript's own SigV4 signer
// (@smithy/signature-v4) and prints its Authorization header. Reads a JSON
// object from stdin: method, host, path, headers (name -> value), body,
// accessKeyId, secretAccessKey, sessionToken, region, service, amzDate
// (YYYYMMDDTHHMMSSZ, the X-Amz-Date of the request to compare with).
'use strict';
const crypto = require('crypto');
const { SignatureV4 } = require('@smithy/signature-v4');
const { HttpRequest } = require('@smithy/protocol-http');

// The hash the SDK uses on Node (@smithy/hash-node), on node's crypto.
class Sha256 {
  constructor(secret) {
    this.hash = secret ? crypto.createHmac('sha256', secret) : crypto.createHash('sha256');
  }
  update(data) { this.hash.update(data); }
  async digest() { return new Uint8Array(this.hash.digest()); }
}

async function main() {
  const input = JSON.parse(require('fs').readFileSync(0, 'utf8'));
  const d = input.amzDate;
  const date = new Date(Date.UTC(+d.slice(0, 4), +d.slice(4, 6) - 1, +d.slice(6, 8),
                                 +d.slice(9, 11), +d.slice(11, 13), +d.slice(13, 15)));
  const signer = new SignatureV4({
    credentials: {
      accessKeyId: input.accessKeyId,
      secretAccessKey: input.secretAccessKey,
      sessionToken: input.sessionToken || undefined,
    },
    region: input.region,
    service: input.service,
    sha256: Sha256,
    applyChecksum: input.applyChecksum === true,
  });
  const request = new HttpRequest({
    method: input.method,
    protocol: 'http:',
    hostname: input.host,
    path: input.path,
    headers: input.headers,
    body: input.body,
  });
  const signed = await signer.sign(request, { signingDate: date });
  process.stdout.write(signed.headers['authorization'] || signed.headers['Authorization']);
}

main().catch((e) => { console.error(e); process.exit(1); });
