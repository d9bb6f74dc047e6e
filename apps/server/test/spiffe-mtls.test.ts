import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { request as httpsRequest } from 'node:https';
import { connect as tlsConnect, createServer as createTlsServer, type TLSSocket } from 'node:tls';
import type { AddressInfo } from 'node:net';
import type { FastifyInstance } from 'fastify';
import { fixedClock } from '@pkim/shared';
import { createAuthority, type SvidSignResult } from '@pkim/authority';
import { buildServer } from '../src/build-server';
import { silent } from './server-test-support';
import { opensslSelfSigned, tempDir } from '../../../tests/support/openssl-tools';
import { TEST_ADMIN } from '../../../tests/support/test-kit';
import { svidCsr, spiffeIdFor, TD } from '../../../tests/support/spiffe-kit';

interface Svid extends SvidSignResult {
  keyPem: string;
}

async function openSpiffe(trustDomain: string, clock = fixedClock(Date.now())) {
  const tmp = tempDir('pkim-spiffe-mtls-');
  const authority = await createAuthority({ dataDir: tmp.dir, logger: silent, clock, ephemeral: true });
  await authority.spiffe.init({ trustDomain }, TEST_ADMIN);
  const token = (
    await authority.auth.createToken({ name: 'workloads', role: 'operator', scopes: ['spiffe:sign'] }, TEST_ADMIN)
  ).token;
  const issue = async (serviceType: string, instanceId: string, ttlSeconds?: number): Promise<Svid> => {
    const { csrPem, keyPem } = svidCsr(spiffeIdFor(serviceType, instanceId, trustDomain));
    const r = await authority.spiffe.sign({ csrPem, serviceType, instanceId, ttlSeconds }, { bearerToken: token });
    return { ...r, keyPem };
  };
  return {
    authority,
    clock,
    issue,
    close: async () => {
      await authority.close();
      tmp.cleanup();
    },
  };
}

/** The SVID's certificate followed by its chain (what a TLS endpoint presents). */
const presented = (s: Svid) => [s.certificatePem, ...s.chain].join('');

describe('SVID renewal over mTLS: a real TLS handshake with the current SVID as client certificate', () => {
  let fx: Awaited<ReturnType<typeof openSpiffe>>;
  let app: FastifyInstance;
  let port: number;
  let serverCertPem: string;

  beforeAll(async () => {
    fx = await openSpiffe(TD);
    // the server's own HTTPS certificate (independent of the SPIFFE CAs), made by openssl
    const self = opensslSelfSigned({ subject: '/CN=localhost', addext: ['subjectAltName=IP:127.0.0.1'] });
    serverCertPem = self.certPem;
    app = await buildServer(fx.authority, {
      logger: silent,
      backgroundJobs: false,
      rateLimit: false,
      https: { cert: serverCertPem, key: self.keyPem },
    });
    await app.listen({ host: '127.0.0.1', port: 0 });
    port = (app.server.address() as AddressInfo).port;
  });
  afterAll(async () => {
    await app?.close();
    await fx?.close();
  });

  /** POST /pki/csr/sign over HTTPS (node:https on node:tls) presenting `client` as the TLS client certificate. */
  function renew(
    client: { cert: string; key: string } | undefined,
    body: object,
  ): Promise<{ status: number; json: Record<string, unknown> }> {
    const payload = JSON.stringify(body);
    return new Promise((resolve, reject) => {
      const req = httpsRequest(
        {
          host: '127.0.0.1',
          port,
          path: '/pki/csr/sign',
          method: 'POST',
          ca: serverCertPem,
          agent: false,
          ...(client ?? {}),
          headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(payload) },
        },
        (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (c: Buffer) => chunks.push(c));
          res.on('end', () => {
            resolve({
              status: res.statusCode ?? 0,
              json: JSON.parse(Buffer.concat(chunks).toString('utf8')) as Record<string, unknown>,
            });
          });
        },
      );
      req.on('error', reject);
      req.end(payload);
    });
  }

  const csrBody = (serviceType: string, instanceId: string) => ({
    csrPem: svidCsr(spiffeIdFor(serviceType, instanceId)).csrPem,
    serviceType,
    instanceId,
  });

  it('renews with the current SVID and no token; the previous one is superseded; the issuance names it', async () => {
    const first = await fx.issue('node', 'mtls-1');
    const r = await renew({ cert: presented(first), key: first.keyPem }, csrBody('node', 'mtls-1'));
    expect(r.status, JSON.stringify(r.json)).toBe(200);
    expect(r.json.spiffeId).toBe(spiffeIdFor('node', 'mtls-1'));
    expect(r.json.serial).not.toBe(first.serial);
    const listed = await fx.authority.spiffe.list({ spiffeId: spiffeIdFor('node', 'mtls-1') }, TEST_ADMIN);
    expect(listed.items.map((i) => [i.serial, i.state])).toEqual([
      [r.json.serial, 'current'],
      [first.serial, 'superseded'],
    ]);
    const [issued] = await fx.authority.audit.list({ action: 'certificate.issued', order: 'desc', limit: 1 });
    expect(issued!.actor).toMatch(/^svid:crt_/);
    // as docs/spiffe.md says: the superseded SVID still renews (a renewal whose answer was lost is retried with it)
    const retried = await renew({ cert: presented(first), key: first.keyPem }, csrBody('node', 'mtls-1'));
    expect(retried.status, JSON.stringify(retried.json)).toBe(200);
  });

  it('refuses without a token or client certificate (401), and for another identity than the SVID (403)', async () => {
    const none = await renew(undefined, csrBody('node', 'mtls-2'));
    expect([none.status, none.json.code]).toEqual([401, 'auth.unauthenticated']);
    const svid = await fx.issue('node', 'mtls-2');
    const other = await renew({ cert: presented(svid), key: svid.keyPem }, csrBody('node', 'someone-else'));
    expect([other.status, other.json.code]).toEqual([403, 'spiffe.identity_not_allowed']);
  });

  it('refuses a revoked SVID (403 spiffe.svid_revoked), a denied identity (403 spiffe.identity_denied)', async () => {
    const revoked = await fx.issue('auth', 'mtls-revoked');
    await fx.authority.certificates.revoke(revoked.serial, 'keyCompromise', TEST_ADMIN);
    const r1 = await renew({ cert: presented(revoked), key: revoked.keyPem }, csrBody('auth', 'mtls-revoked'));
    expect([r1.status, r1.json.code]).toEqual([403, 'spiffe.svid_revoked']);

    const denied = await fx.issue('auth', 'mtls-denied');
    await fx.authority.spiffe.deny({ spiffeId: denied.spiffeId, reason: 'decommissioned' }, TEST_ADMIN);
    const r2 = await renew({ cert: presented(denied), key: denied.keyPem }, csrBody('auth', 'mtls-denied'));
    expect([r2.status, r2.json.code]).toEqual([403, 'spiffe.identity_denied']);
    const failures = await fx.authority.audit.list({ action: 'spiffe.sign_failed', order: 'desc', limit: 5 });
    expect(failures.map((e) => e.details.code)).toEqual(
      expect.arrayContaining(['spiffe.svid_revoked', 'spiffe.identity_denied']),
    );
  });

  it('refuses an SVID of another trust domain (401 spiffe.svid_invalid)', async () => {
    const foreign = await openSpiffe('other.org');
    try {
      const svid = await foreign.issue('node', 'mtls-3');
      const r = await renew({ cert: presented(svid), key: svid.keyPem }, csrBody('node', 'mtls-3'));
      expect([r.status, r.json.code]).toEqual([401, 'spiffe.svid_invalid']);
    } finally {
      await foreign.close();
    }
  });

  it('refuses an SVID once it has expired (injected clock; 401 spiffe.svid_invalid)', async () => {
    const short = await fx.issue('orchestrator', 'mtls-short', 600);
    const now = fx.clock.now();
    fx.clock.set(Date.parse(short.expiresAt) + 1000);
    try {
      const r = await renew({ cert: presented(short), key: short.keyPem }, csrBody('orchestrator', 'mtls-short'));
      expect([r.status, r.json.code]).toEqual([401, 'spiffe.svid_invalid']);
      expect(String(r.json.message)).toMatch(/expired/);
    } finally {
      fx.clock.set(now);
    }
  });
});

describe('mTLS between two Node TLS endpoints with issued SVIDs and the bundle', () => {
  let a: Awaited<ReturnType<typeof openSpiffe>>;
  let b: Awaited<ReturnType<typeof openSpiffe>>;
  beforeAll(async () => {
    a = await openSpiffe(TD);
    b = await openSpiffe('other.org');
  });
  afterAll(async () => {
    await a?.close();
    await b?.close();
  });

  /** SPIFFE ID of a peer certificate (its one URI SAN). */
  const uriOf = (s: TLSSocket) => /URI:(\S+?)(,|$)/.exec(s.getPeerCertificate().subjectaltname ?? '')?.[1];

  /**
   * A TLS server presenting `server`, requiring a client certificate that chains to `serverTrust`, and a client
   * presenting `client` that trusts `clientTrust`. Resolves with both sides' view, or the error of each side.
   */
  interface Outcome {
    ok: boolean;
    clientSaw?: string;
    serverSaw?: string;
    clientError?: string;
  }
  async function handshake(server: Svid, serverTrust: string[], client: Svid, clientTrust: string[]) {
    let serverSaw: string | undefined;
    let serverFailed: (message: string) => void = () => undefined;
    const serverError = new Promise<string>((r) => (serverFailed = r));
    const srv = createTlsServer(
      // the server verifies the client chain in the handshake (OpenSSL, against `ca`) and reports why it failed
      { cert: presented(server), key: server.keyPem, ca: serverTrust, requestCert: true, rejectUnauthorized: false },
      (socket) => {
        if (!socket.authorized) {
          serverFailed(String(socket.authorizationError));
          socket.destroy();
          return;
        }
        serverSaw = uriOf(socket);
        socket.end('hello\n');
      },
    );
    srv.on('tlsClientError', (e) => serverFailed(e.message));
    await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
    const port = (srv.address() as AddressInfo).port;
    try {
      return await new Promise<Outcome & { serverError: Promise<string> }>((resolve) => {
        const socket = tlsConnect({
          host: '127.0.0.1',
          port,
          cert: presented(client),
          key: client.keyPem,
          ca: clientTrust,
          // SPIFFE: the peer is identified by its URI SAN, not a host name
          checkServerIdentity: (_host, cert) =>
            cert.subjectaltname === `URI:${server.spiffeId}` ? undefined : new Error('unexpected SPIFFE ID'),
        });
        let data = '';
        socket.on('data', (d: Buffer) => (data += d.toString()));
        socket.on('end', () => {
          const clientSaw = uriOf(socket);
          resolve({ ok: data === 'hello\n', clientSaw, serverSaw, serverError });
        });
        socket.on('error', (e) => resolve({ ok: false, clientError: e.message, serverError }));
      });
    } finally {
      await new Promise<void>((r) => srv.close(() => r()));
    }
  }

  it('succeeds between two SVIDs of one trust domain, each side seeing the other SPIFFE ID', async () => {
    const server = await a.issue('orchestrator', 'api');
    const client = await a.issue('node', 'worker-1');
    const bundle = await a.authority.spiffe.bundle();
    const trust = [bundle.servicesBundle.at(-1)!]; // the root; each side sends its intermediate
    const r = await handshake(server, trust, client, trust);
    expect(r, r.clientError).toMatchObject({
      ok: true,
      clientSaw: server.spiffeId,
      serverSaw: client.spiffeId,
    });
  });

  it('fails when the client presents an SVID of another trust domain', async () => {
    const server = await a.issue('orchestrator', 'api-2');
    const foreign = await b.issue('node', 'worker-1');
    const bundleA = await a.authority.spiffe.bundle();
    const bundleB = await b.authority.spiffe.bundle();
    const r = await handshake(server, [bundleA.servicesBundle.at(-1)!], foreign, [bundleA.servicesBundle.at(-1)!]);
    expect(r.ok).toBe(false);
    // the server refuses the client certificate: it does not chain to the server's trust bundle
    expect(await r.serverError).toMatch(/UNABLE_TO_GET_ISSUER_CERT_LOCALLY|unable to get local issuer/i);
    // and the other way round: a client trusting only its own bundle refuses a server from another trust domain
    const client = await a.issue('node', 'worker-2');
    const otherServer = await b.issue('orchestrator', 'api');
    const r2 = await handshake(otherServer, [bundleB.servicesBundle.at(-1)!], client, [bundleA.servicesBundle.at(-1)!]);
    expect(r2.ok).toBe(false);
    expect(r2.clientError).toMatch(/unable to get local issuer|unable to verify/i);
  });
});
