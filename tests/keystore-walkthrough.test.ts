// docs/keystore.md's walk run verbatim (tests/support/doc-script.ts): the PKI side (a CA, a mount, the templates'
// roles, Kubernetes auth for the CMK API server's service account) and the client side (a Kubernetes login, connect
// to a keystore, a scheduler pass, an export, a disconnect, the event chain), `kubectl` played by
// tests/support/kubectl-standin.mjs and `vault` by hvac (tests/support/hvac-vault-cli.py). The keystore is a TLS
// server here that asks for a client certificate and trusts the CA the walk exported for it (read at each
// connection, as a keystore's admin adds it): the connect's handshake is a real mTLS one. The client certificate is
// verified by openssl and certtool under the walk's root, and its serial is on the CRL after the disconnect (openssl).
import { readFileSync, writeFileSync, mkdirSync } from 'node:fs';
import { createServer, type Server, type Socket } from 'node:net';
import { createSecureContext, TLSSocket } from 'node:tls';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { REPO_ROOT, runPkim } from './support/cli-runner';
import { markedBashBlock, runDocScript } from './support/doc-script';
import { tempDir } from './support/openssl-tools';
import { certtoolVerify, opensslVerify, requireBinary } from './support/verifiers';
import { serverPki } from '../packages/keystore-certs/test/keystore-test-support';

const DOC = 'docs/keystore.md';
const tmp = tempDir('pkim-keystore-walk-');
const work = join(tmp.dir, 'work');
/** client certificates the keystore accepted (serials, lowercase hex) */
const accepted: string[] = [];
let keystore: Server;
let endpoint = '';

beforeAll(async () => {
  mkdirSync(work, { recursive: true });
  const pki = serverPki();
  writeFileSync(join(work, 'luna-server-ca.pem'), pki.caPem);
  keystore = createServer((raw: Socket) => {
    // the client CA the walk exported for the keystore, read now: the keystore's admin added it before the connect
    const ca = readFileSync(join(work, 'keystore-clients-ca.pem'), 'utf8');
    const tls = new TLSSocket(raw, {
      isServer: true,
      secureContext: createSecureContext({ cert: pki.certPem, key: pki.keyPem, ca }),
      requestCert: true,
      rejectUnauthorized: true,
    });
    tls.on('secure', () => {
      accepted.push(tls.getPeerCertificate().serialNumber.toLowerCase());
      tls.end('keystore ready\n');
    });
    tls.on('error', () => undefined);
  });
  await new Promise<void>((resolve) => keystore.listen(0, '127.0.0.1', resolve));
  const address = keystore.address();
  endpoint = `127.0.0.1:${typeof address === 'object' && address ? address.port : 0}`;
});

afterAll(async () => {
  await new Promise<void>((resolve) => keystore?.close(() => resolve()));
  tmp.cleanup();
});

describe('docs/keystore.md walk-through', () => {
  it('PKI side, Kubernetes login, connect with a real mTLS handshake, run, export, disconnect', async () => {
    for (const bin of ['bash', 'curl', 'jq', '/usr/bin/python3', 'openssl', 'certtool']) requireBinary(bin);
    const block = markedBashBlock(readFileSync(join(REPO_ROOT, DOC), 'utf8'), 'keystore-walk', DOC);
    const script = [
      `vault() { /usr/bin/python3 '${join(REPO_ROOT, 'tests/support/hvac-vault-cli.py')}' "$@"; }`,
      `kubectl() { '${process.execPath}' '${join(REPO_ROOT, 'tests/support/kubectl-standin.mjs')}' "$@"; }`,
      block,
    ].join('\n');
    const run = await runDocScript(tmp.dir, script, 300_000, { KEYSTORE_ENDPOINT: endpoint });
    expect(run.code, run.out).toBe(0);

    const dataDir = join(tmp.dir, 'data');
    const exported = readFileSync(join(work, 'luna-client', 'acme-corp-12345-thales_luna.crt'), 'utf8');
    const chain = readFileSync(join(work, 'keystore-clients-ca.pem'), 'utf8');
    const [issuing, root] = chain.match(/-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----\n?/g)!;
    for (const v of [
      opensslVerify({ leafPem: exported, rootPem: root!, chainPems: [issuing], purpose: 'sslclient' }),
      certtoolVerify({ leafPem: exported, rootPem: root!, chainPems: [issuing], purpose: 'clientAuth' }),
    ])
      expect(v.ok, v.output).toBe(true);
    // the keystore accepted exactly that certificate in the connect's handshake
    const serial = new (await import('node:crypto')).X509Certificate(exported).serialNumber.toLowerCase();
    expect(accepted).toEqual([serial]);

    // disconnected: the certificate is on the CA's CRL (openssl reads and checks it), the chain of events verifies
    const crl = runPkim(['crl', 'generate', '--ca', 'keystore-clients', '--pem'], { dataDir });
    expect(crl.code, crl.stderr).toBe(0);
    const revoked = opensslVerify({
      leafPem: exported,
      rootPem: root!,
      chainPems: [issuing],
      purpose: 'sslclient',
      crlPems: [crl.stdout],
    });
    expect(revoked.ok).toBe(false);
    expect(revoked.output).toMatch(/certificate revoked/);
    const lines = run.out.split('\n');
    const colons = serial.match(/../g)!.join(':');
    for (const line of [
      'renewed 0, renewal failed 0, revoked after grace 0, errors 0',
      `disconnected acme-corp-12345/thales_luna; revoked ${colons}`,
      'event chain OK (10 events)',
    ])
      expect(lines, run.out).toContain(line);
  }, 320_000);
});
