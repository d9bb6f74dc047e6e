// Checklist items 2 (sealed → 503 on every path but the seal's own) and 34 (a second tidy while one runs, tidy-cancel),
// over real HTTP against a real authority; the unavailable-backend seal uses a KMIP backend on a closed port.
import { createServer, type AddressInfo } from 'node:net';
import nodeVault from 'node-vault';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createKmipBackend } from '@pkim/keys';
import { fixedClock } from '@pkim/shared';
import { ACTORS } from '../server-test-support';
import { openVaultFixture, rawHttp, vaultCall, WEB_ROLE, type VaultFixture } from './vault-test-support';

const SEALED = { errors: ['Vault is sealed'] };

/** one request of every kind a mount answers: reads, writes, LIST, raw CA/CRL/OCSP, auth, sys */
const MOUNT_PATHS: [string, string][] = [
  ['GET', 'pki/roles/web'],
  ['GET', 'pki/roles?list=true'],
  ['POST', 'pki/issue/web'],
  ['POST', 'pki/sign/web'],
  ['POST', 'pki/sign-verbatim'],
  ['POST', 'pki/revoke'],
  ['GET', 'pki/cert/01:02'],
  ['GET', 'pki/ca/pem'],
  ['GET', 'pki/crl'],
  ['POST', 'pki/ocsp'],
  ['POST', 'pki/tidy'],
  ['GET', 'pki/no-such-path'],
  ['GET', 'sys/mounts'],
  ['GET', 'auth/token/lookup-self'],
  ['POST', 'auth/approle/login'],
  ['GET', 'nomount/anything'],
];

async function waitForTidy(f: VaultFixture, until: (state: string) => boolean): Promise<Record<string, unknown>> {
  let data: Record<string, unknown> = {};
  for (let i = 0; i < 200; i++) {
    data = (await vaultCall(f, 'GET', 'pki/tidy-status')).body.data;
    if (until(String(data.state))) return data;
    await new Promise((r) => setTimeout(r, 25));
  }
  throw new Error(`tidy never reached the expected state: ${JSON.stringify(data)}`);
}

describe('sealed by an administrator (sys/seal)', () => {
  let f: VaultFixture;
  beforeAll(async () => {
    f = await openVaultFixture({}, { roles: { web: WEB_ROLE } });
  }, 60_000);
  afterAll(async () => f?.close());

  it('answers every path but sys/health and sys/seal-status 503 "Vault is sealed" until unsealed', async () => {
    const { token: operator } = await f.authority.auth.createToken(
      { name: 'op', role: 'operator', expiresInMs: null },
      ACTORS.admin,
    );
    expect((await vaultCall(f, 'PUT', 'sys/seal', {}, { token: operator })).status).toBe(403);
    expect((await vaultCall(f, 'PUT', 'sys/seal', {}, { token: null })).status).toBe(403);
    const sealed = await vaultCall(f, 'PUT', 'sys/seal', {});
    expect(sealed.status, sealed.text).toBe(204);

    for (const [method, path] of MOUNT_PATHS) {
      const r = await vaultCall(f, method, path, method === 'POST' ? { common_name: 'a.example.com' } : undefined);
      expect(r.status, `${method} ${path}`).toBe(503);
      expect(r.headers.get('content-type')).toBe('application/json');
      expect(r.body, `${method} ${path}`).toEqual(SEALED);
    }
    // the raw LIST verb too (through the shim)
    const list = await rawHttp(
      f.port,
      `LIST /v1/pki/roles HTTP/1.1\r\nHost: x\r\nX-Vault-Token: ${f.token}\r\nConnection: close\r\n\r\n`,
      (t) => t.includes('sealed'),
    );
    expect(list).toMatch(/^HTTP\/1\.1 503/);
    const health = await vaultCall(f, 'GET', 'sys/health', undefined, { token: null });
    expect(health.status).toBe(503);
    expect(health.body).toMatchObject({ initialized: true, sealed: true, standby: false });
    const sealedOk = await vaultCall(f, 'GET', 'sys/health?sealedcode=200', undefined, { token: null });
    expect(sealedOk.status).toBe(200);
    // item 39: node-vault's health() resolves while sealed, with the 503's body
    expect(await nodeVault({ endpoint: f.url }).health()).toMatchObject({ initialized: true, sealed: true });
    expect((await vaultCall(f, 'GET', 'sys/seal-status', undefined, { token: null })).body.sealed).toBe(true);
    // nothing was issued while sealed
    expect(await f.authority.audit.list({ action: 'certificate.issued', limit: 1 })).toHaveLength(0);

    expect((await vaultCall(f, 'PUT', 'sys/unseal', {}, { token: operator })).status).toBe(403);
    const unsealed = await vaultCall(f, 'PUT', 'sys/unseal', {});
    expect(unsealed.status).toBe(200);
    expect(unsealed.body.sealed).toBe(false);
    expect((await vaultCall(f, 'GET', 'sys/health', undefined, { token: null })).body.sealed).toBe(false);
    const issued = await vaultCall(f, 'POST', 'pki/issue/web', { common_name: 'a.example.com' });
    expect(issued.status, issued.text).toBe(200);
    const events = await f.authority.audit.list({ action: 'vault.*', order: 'asc', limit: 10 });
    expect(events.map((e) => e.action)).toEqual(expect.arrayContaining(['vault.sealed', 'vault.unsealed']));
  });

  it('is seen by a second instance on the same database', async () => {
    await vaultCall(f, 'PUT', 'sys/seal', {});
    const second = await f.fx.openSecond();
    try {
      expect(await second.vault.seal.state()).toMatchObject({ sealed: true, reason: 'operator' });
    } finally {
      await vaultCall(f, 'PUT', 'sys/unseal', {});
    }
  });
});

describe('sealed while a key backend is unavailable', () => {
  let f: VaultFixture;
  beforeAll(async () => {
    // a KMIP server that is down: a port that was just closed
    const probe = createServer();
    await new Promise<void>((r) => probe.listen(0, '127.0.0.1', r));
    const port = (probe.address() as AddressInfo).port;
    await new Promise<void>((r) => probe.close(() => r()));
    const kmip = createKmipBackend({ url: `http://127.0.0.1:${port}`, timeoutMs: 300, retries: 1 });
    f = await openVaultFixture({ keyBackends: [kmip] }, { roles: { web: WEB_ROLE } });
  }, 60_000);
  afterAll(async () => f?.close());

  it('answers sys/health 503 sealed:true and every mount path 503, and an unseal cannot lift it', async () => {
    const health = await vaultCall(f, 'GET', 'sys/health', undefined, { token: null });
    expect(health.status).toBe(503);
    expect(health.body.sealed).toBe(true);
    const r = await vaultCall(f, 'POST', 'pki/issue/web', { common_name: 'a.example.com' });
    expect(r.status).toBe(503);
    expect(r.body).toEqual(SEALED);
    const unseal = await vaultCall(f, 'PUT', 'sys/unseal', {});
    expect(unseal.body.sealed).toBe(true);
    expect(await f.fx.authority.vault.seal.state()).toMatchObject({ sealed: true, reason: 'unavailable' });
  });
});

describe('tidy while one runs, tidy-cancel', () => {
  let f: VaultFixture;
  const clock = fixedClock(Date.now());
  beforeAll(async () => {
    f = await openVaultFixture({ clock }, { roles: { web: WEB_ROLE } });
  }, 60_000);
  afterAll(async () => f?.close());

  it('answers a second tidy 200 "already in progress", cancels a paused one, then tidies for real', async () => {
    const issued = await vaultCall(f, 'POST', 'pki/issue/web', { common_name: 'old.example.com', ttl: '1h' });
    expect(issued.status, issued.text).toBe(200);
    const serial = issued.body.data.serial_number;
    clock.advance(3 * 3_600_000);

    const idle = await vaultCall(f, 'POST', 'pki/tidy-cancel', {});
    expect(idle.status).toBe(200);
    expect(idle.body.warnings).toEqual(['Tidy operation cannot be cancelled as none is currently running.']);
    expect((await vaultCall(f, 'POST', 'pki/tidy', { pause_duration: '-1s' })).status).toBe(400);

    // pause_duration: an hour before each certificate, so this tidy is still running when the next call comes
    const first = await vaultCall(f, 'POST', 'pki/tidy', {
      tidy_cert_store: true,
      safety_buffer: '1s',
      pause_duration: '1h',
    });
    expect(first.status).toBe(202);
    expect(first.body.warnings[0]).toMatch(/Tidy operation successfully started/);
    const second = await vaultCall(f, 'POST', 'pki/tidy', { tidy_cert_store: true, safety_buffer: '1s' });
    expect(second.status).toBe(200);
    expect(second.body.data).toBeNull();
    expect(second.body.warnings).toEqual(['Tidy operation already in progress.']);
    expect((await vaultCall(f, 'GET', 'pki/tidy-status')).body.data).toMatchObject({
      state: 'Running',
      pause_duration: '1h0m0s',
    });

    const cancel = await vaultCall(f, 'POST', 'pki/tidy-cancel', {});
    expect(cancel.status).toBe(200);
    expect(['Cancelling', 'Cancelled']).toContain(cancel.body.data.state);
    const cancelled = await waitForTidy(f, (s) => s === 'Cancelled');
    expect(cancelled.cert_store_deleted_count).toBe(0);
    expect((await vaultCall(f, 'GET', 'pki/certs?list=true')).body.data.keys).toContain(serial);

    // nothing runs any more: a new tidy starts and removes the expired certificate
    const again = await vaultCall(f, 'POST', 'pki/tidy', { tidy_cert_store: true, safety_buffer: '1s' });
    expect(again.status).toBe(202);
    const done = await waitForTidy(f, (s) => s === 'Finished');
    expect(done.cert_store_deleted_count).toBe(1);
    expect((await vaultCall(f, 'GET', 'pki/certs?list=true')).status).toBe(404);
    const audit = await f.authority.audit.list({ action: 'vault.*', order: 'asc', limit: 50 });
    expect(audit.map((e) => e.action).filter((a) => a.startsWith('vault.tidy_'))).toEqual([
      'vault.tidy_cancelled',
      'vault.tidy_finished',
    ]);
  });
});
