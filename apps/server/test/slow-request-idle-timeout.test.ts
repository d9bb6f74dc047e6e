import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdirSync, writeFileSync } from 'node:fs';
import { connect, createServer, type AddressInfo, type Server, type Socket } from 'node:net';
import { join } from 'node:path';
import { startServer, type RunningServer } from '@pkim/server';
import { ACTORS } from './server-test-support';
import { startPyKmip, type PyKmipServer } from '../../../tests/support/pykmip';
import { tempDir } from '../../../tests/support/openssl-tools';
import { opensslText } from '../../../tests/support/verifiers';

/** the server's idle timeout in this file: far below the KMS's slowness below, so a cut would always happen */
const IDLE_MS = 300;
/** how long the slow network path holds each chunk on its way to the KMS (several idle timeouts) */
const HOLD_MS = 4 * IDLE_MS;

/**
 * A TCP relay in front of the real PyKMIP server: the network path of an HSM/KMS that answers slowly (a loaded
 * appliance, a far site). pkim reaches the KMS through PKIM_KMIP_URL — the supported setting — and nothing in pkim
 * knows it is slow. While `slow` is on, every chunk on its way to the KMS is held HOLD_MS.
 */
async function slowRelay(to: number): Promise<{ port: number; slow: boolean; close(): Promise<void> }> {
  const sockets = new Set<Socket>();
  const relay = { port: 0, slow: false, close: async () => undefined };
  const server: Server = createServer((client) => {
    const up = connect(to, '127.0.0.1');
    for (const s of [client, up]) {
      sockets.add(s);
      s.on('close', () => sockets.delete(s));
      s.on('error', () => undefined);
    }
    client.on('data', (d) => (relay.slow ? setTimeout(() => up.write(d), HOLD_MS) : up.write(d)));
    client.on('close', () => up.destroy());
    up.on('close', () => client.destroy());
    up.pipe(client);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  relay.port = (server.address() as AddressInfo).port;
  relay.close = async () => {
    for (const s of sockets) s.destroy();
    await new Promise<void>((r) => server.close(() => r()));
  };
  return relay;
}

describe('a slow request is not cut by the idle timeout (PKIM_HTTP_IDLE_TIMEOUT_MS)', () => {
  const tmp = tempDir('pkim-slow-request-');
  let kmip: PyKmipServer;
  let relay: Awaited<ReturnType<typeof slowRelay>>;
  let server: RunningServer;
  let token: string;

  beforeAll(async () => {
    kmip = await startPyKmip();
    relay = await slowRelay(kmip.port);
    const creds = join(tmp.dir, 'kmip-credentials');
    mkdirSync(creds);
    const files = { 'ca.pem': kmip.caPem, 'client.pem': kmip.clientCertPem, 'client.key': kmip.clientKeyPem };
    for (const [name, pem] of Object.entries(files)) writeFileSync(join(creds, name), pem, { mode: 0o600 });
    server = await startServer({
      dataDir: join(tmp.dir, 'data'),
      port: 0,
      logLevel: 'silent',
      handleSignals: false,
      print: () => undefined,
      idleTimeoutMs: IDLE_MS,
      server: { backgroundJobs: false },
      env: {
        PKIM_KMIP_URL: `kmip://127.0.0.1:${relay.port}`,
        PKIM_KMIP_CA: join(creds, 'ca.pem'),
        PKIM_KMIP_CLIENT_CERT: join(creds, 'client.pem'),
        PKIM_KMIP_CLIENT_KEY: join(creds, 'client.key'),
        PKIM_KMIP_TIMEOUT_MS: '60000',
      },
    });
    token = (await server.authority.auth.createToken({ name: 'slow', role: 'admin' }, ACTORS.admin)).token;
  }, 120_000);

  afterAll(async () => {
    await server?.close();
    await relay?.close();
    await kmip?.stop();
    tmp.cleanup();
  });

  it('answers a CA creation slower than the idle timeout (was: the connection cut, the CA made)', async () => {
    relay.slow = true;
    const body = {
      name: 'slow-kmip-root',
      subject: { commonName: 'Slow KMIP Root' },
      keyType: 'rsa-2048',
      backend: 'kmip',
    };
    let res: Response;
    try {
      res = await fetch(`${server.url}/api/v1/cas`, {
        method: 'POST',
        headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
        body: JSON.stringify(body),
      });
    } finally {
      relay.slow = false;
    }
    expect(res.status, await res.clone().text()).toBe(201);
    const ca = (await res.json()) as { id: string; name: string; keyBackend: string; certificatePem: string };
    expect(ca).toMatchObject({ name: 'slow-kmip-root', keyBackend: 'kmip' });
    expect(opensslText(ca.certificatePem)).toContain('CN=Slow KMIP Root');
    const made = await server.authority.audit.list({ action: 'ca.created', limit: 10 });
    expect(made.map((e) => e.target)).toEqual([ca.id]);
  });

  it('still closes a connection that is silent while the server waits for the client', async () => {
    const { port } = new URL(server.url);
    // headers sent, the body never: the server waits on the client, which the idle timeout is for
    const closedByServer = await new Promise<boolean>((resolve) => {
      const s = connect(Number(port), '127.0.0.1', () =>
        s.write('POST /api/v1/cas HTTP/1.1\r\nhost: x\r\ncontent-type: application/json\r\ncontent-length: 9\r\n\r\n{'),
      );
      s.on('close', () => resolve(true));
      s.on('error', () => undefined);
    });
    expect(closedByServer).toBe(true);
  });
});
