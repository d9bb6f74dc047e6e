// `pkim cert renew` and `pkim cert renew-batch` of a subordinate CA certificate made by Vault `root/sign-intermediate`
// (its key held elsewhere, its CSR not kept): without a CSR refused alike in local mode and through a `pkim serve`
// (--server/--token) with `policy.profile_not_allowed` and the ways it is renewed, nothing made; with `--csr` (a new
// key from its key holder) renewed in both modes as sign-intermediate signs, the new CA certificate and a leaf it signs
// checked by openssl up to the root. The certificate is made in-process through the signing pipeline.
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { pino } from 'pino';
import { createAuthority, type Actor } from '@pkim/authority';
import { runPkim } from '../../../tests/support/cli-in-process';
import { leafSignedBy, opensslCsr, tempDir } from '../../../tests/support/openssl-tools';
import { opensslVerify } from '../../../tests/support/verifiers';
import { startPkimServer, type PkimServer } from '../../../tests/support/remote-server';

const admin: Actor = { id: 'usr_renew_sub_cli', name: 'alice', role: 'admin' };

describe('pkim cert renew of a subordinate CA certificate (sign-intermediate)', { timeout: 180_000 }, () => {
  const tmp = tempDir('pkim-renew-sub-cli-');
  const dataDir = join(tmp.dir, 'data');
  const pkim = (...args: string[]) => runPkim(args, { dataDir, cwd: tmp.dir });
  let serial = '';
  let token = '';
  let rootPem = '';
  let server: PkimServer | undefined;

  beforeAll(async () => {
    expect(pkim('init', '--json').code).toBe(0);
    const a = await createAuthority({ dataDir, logger: pino({ level: 'silent' }) });
    try {
      const root = await a.cas.create({ name: 'root', subject: 'CN=Renew Sub CLI Root', keyType: 'ec-p256' }, admin);
      const mount = await a.vault.mounts.mount({ path: 'root', ca: root.ca.id }, admin);
      const csr = opensslCsr({ keyType: 'ec-p256', subject: '/CN=Renew Sub CLI Sub CA' });
      const r = await a.vault.pki.signIntermediate(mount, 'default', { csr: csr.csrPem, ttl: '8760h' }, admin);
      const pem = r.data as { certificate: string; serial_number: string };
      const v = opensslVerify({ leafPem: `${pem.certificate}\n`, rootPem: root.certificatePem! });
      expect(v.ok, v.output).toBe(true);
      serial = pem.serial_number.replace(/:/g, '');
      rootPem = root.certificatePem!;
      ({ token } = await a.auth.createToken({ name: 'cli', role: 'admin', expiresInMs: null }, admin));
    } finally {
      await a.close();
    }
    server = await startPkimServer(dataDir, [], {});
  });
  afterAll(async () => {
    await server?.stop();
    tmp.cleanup();
  });

  const certificates = () => pkim('cert', 'list', '--json').json<{ items: unknown[] }>().items.length;
  const expectRefused = (r: { code: number; stderr: string }) => {
    expect(r.code).toBe(5);
    expect(r.stderr).toMatch(
      new RegExp(`policy\\.profile_not_allowed: certificate ${serial} is a subordinate CA certificate`),
    );
    expect(r.stderr).toContain('sign-intermediate');
    expect(r.stderr).not.toContain('ca create --parent');
  };

  it('refuses `cert renew` locally and through the server with the way it is renewed; nothing signed', () => {
    const before = certificates();
    expectRefused(pkim('cert', 'renew', serial));
    expectRefused(pkim('--server', server!.url, '--token', token, 'cert', 'renew', serial, '--revoke-old'));
    expect(certificates()).toBe(before);
    expect(pkim('cert', 'show', serial, '--json').json<{ status: string }>().status).toBe('active');
  });

  it('`cert renew-batch` lists it as a failed item with the same code and message', () => {
    const r = pkim('cert', 'renew-batch', '--ca', 'root', '--json');
    expect(r.code).toBe(5);
    const items = r.json<{ items: { ref: string; status: string; error?: { code: string; message: string } }[] }>()
      .items;
    expect(items).toHaveLength(1);
    expect(items[0]!.status).toBe('failed');
    expectRefused({ code: 5, stderr: `${items[0]!.error!.code}: ${items[0]!.error!.message}` });
  });

  it('renews it with `--csr` locally and through the server: a CA certificate signing a leaf openssl verifies', () => {
    for (const [i, remote] of [
      [1, []],
      [2, ['--server', server!.url, '--token', token]],
    ] as const) {
      const next = opensslCsr({ keyType: 'ec-p256', subject: '/CN=ignored' });
      writeFileSync(join(tmp.dir, `next-${i}.csr`), next.csrPem);
      const out = join(tmp.dir, `renewed-${i}.pem`);
      const r = pkim(...remote, 'cert', 'renew', serial, '--csr', join(tmp.dir, `next-${i}.csr`), '--out-cert', out);
      expect(r.code, r.stderr).toBe(0);
      const caPem = readFileSync(out, 'utf8');
      const ca = opensslVerify({ leafPem: caPem, rootPem });
      expect(ca.ok, ca.output).toBe(true);
      const leafPem = leafSignedBy(caPem, next.keyPem, 'leaf.example');
      const leaf = opensslVerify({ leafPem: `${leafPem}\n`, chainPems: [caPem], rootPem, purpose: 'sslserver' });
      expect(leaf.ok, leaf.output).toBe(true);
    }
  });
});
