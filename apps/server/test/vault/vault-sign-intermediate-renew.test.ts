// A subordinate CA certificate made by `root/sign-intermediate` (its key held elsewhere, its CSR not kept) is a row of
// the certificates table, yet no renewal can make it again: a renewal makes a leaf. Every surface refuses it alike —
// REST `POST /certificates/:ref/renew` (with or without a CSR), tRPC `renewal.renew`, a batch renewal (the item fails
// with the code and message while a leaf of the same filter is renewed; with reuseKey the whole batch is refused) —
// with `policy.profile_not_allowed` and a message naming the way it is renewed (sign a new CSR with sign-intermediate),
// nothing signed and the refusal audited. The certificate is checked by openssl against the root first.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { BulkJobDto } from '@pkim/contract';
import { opensslCsr } from '../../../../tests/support/openssl-tools';
import { opensslVerify } from '../../../../tests/support/verifiers';
import { ACTORS, callerFor, pkiCodeOf, trpcError } from '../server-test-support';
import { openVaultFixture, vaultCall, type VaultFixture } from './vault-test-support';

let f: VaultFixture;
/** the subordinate CA certificate's id and serial (lowercase hex) */
let sub: { id: string; serial: string };
/** a leaf of the root, renewed beside it by the batch */
let leafId: string;

beforeAll(async () => {
  f = await openVaultFixture();
  await f.authority.vault.mounts.mount({ path: 'root', ca: f.rootCaId, maxLeaseTtl: '200000h' }, ACTORS.admin);
  const csr = opensslCsr({ keyType: 'ec-p256', subject: '/CN=Renewal Sub CA' });
  const r = await vaultCall(f, 'POST', 'root/root/sign-intermediate', { csr: csr.csrPem, ttl: '8760h' });
  expect(r.status, r.text).toBe(200);
  const v = opensslVerify({ leafPem: `${r.body.data.certificate}\n`, rootPem: f.rootPem });
  expect(v.ok, v.output).toBe(true);
  const serial = (r.body.data.serial_number as string).replace(/:/g, '');
  sub = { id: (await f.authority.certificates.find(serial, ACTORS.admin)).id, serial };
  const leaf = await f.authority.issuance.issueWithKey(
    {
      caId: f.rootCaId,
      profile: 'tls-server',
      subject: { commonName: 'leaf.renew-sub.example' },
      sans: { dns: ['leaf.renew-sub.example'] },
      keyType: 'ec-p256',
    },
    ACTORS.admin,
  );
  leafId = leaf.certificate.id;
}, 60_000);
afterAll(async () => f?.close());

/** the refusal every surface gives, for the subordinate CA certificate */
const expectRefusal = (code: string | undefined, message: string) => {
  expect(code).toBe('policy.profile_not_allowed');
  expect(message).toContain(`certificate ${sub.serial} is a subordinate CA certificate (profile intermediate-ca)`);
  expect(message).toContain('sign it with the Vault API');
  expect(message).toContain('<mount>/root/sign-intermediate');
  expect(message).not.toContain('ca create --parent');
};

const rest = async (method: string, path: string, body?: unknown) => {
  const r = await fetch(`${f.url}/api/v1${path}`, {
    method,
    headers: { authorization: `Bearer ${f.token}`, ...(body ? { 'content-type': 'application/json' } : {}) },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  return { status: r.status, body: (await r.json()) as Record<string, any> };
};

/** certificates of the root CA, and renew_failed events naming the subordinate certificate */
const snapshot = async () => ({
  certificates: (await f.authority.certificates.list({ caId: f.rootCaId, limit: 500 }, ACTORS.admin)).items.length,
  failures: (await f.authority.audit.list({ action: 'certificate.renew_failed', target: sub.id, limit: 100 })).length,
});

/** polls the batch job until it ends */
async function finished(id: string): Promise<BulkJobDto> {
  for (const start = Date.now(); Date.now() - start < 120_000;) {
    const r = await rest('GET', `/bulk/jobs/${id}`);
    expect(r.status).toBe(200);
    if (r.body.state !== 'running') return r.body as BulkJobDto;
    await new Promise((res) => setTimeout(res, 100));
  }
  throw new Error(`bulk job ${id} did not finish`);
}

describe('renewing a subordinate CA certificate of sign-intermediate', () => {
  it('REST renew refuses it (with or without a CSR) with the way it is renewed; nothing signed, audited', async () => {
    const before = await snapshot();
    for (const body of [{}, { csrPem: opensslCsr({ keyType: 'ec-p256', subject: '/CN=Renewal Sub CA' }).csrPem }]) {
      const r = await rest('POST', `/certificates/${sub.serial}/renew`, body);
      expect(r.status).toBe(422);
      expectRefusal(r.body.code, r.body.message);
    }
    expect(await snapshot()).toEqual({ certificates: before.certificates, failures: before.failures + 2 });
    const [event] = await f.authority.audit.list({ action: 'certificate.renew_failed', target: sub.id, limit: 1 });
    expect(event!.details).toEqual(expect.objectContaining({ code: 'policy.profile_not_allowed' }));
  });

  it('tRPC renewal.renew refuses it alike', async () => {
    const before = await snapshot();
    const e = await trpcError(callerFor(f.authority, ACTORS.admin).renewal.renew({ ref: sub.id, revokeOld: true }));
    expectRefusal(pkiCodeOf(e), e.message);
    expect(await snapshot()).toEqual({ certificates: before.certificates, failures: before.failures + 1 });
    // the old certificate stays active: revokeOld did not apply
    expect((await f.authority.certificates.find(sub.id, ACTORS.admin)).status).toBe('active');
  });

  it('a batch renewal by filter fails its item with the same code and message and renews the leaf', async () => {
    const started = await rest('POST', '/bulk/renew', { ca: 'Vault Test Root' });
    expect(started.status, JSON.stringify(started.body)).toBe(201);
    const job = await finished(started.body.id);
    const items = new Map(job.items.map((i) => [i.certificateId ?? i.ref, i]));
    const renewed = items.get(leafId)!;
    expect(renewed.status).toBe('renewed');
    const leafPem = (await f.authority.certificates.find(renewed.newCertificateId!, ACTORS.admin)).certificatePem;
    const v = opensslVerify({ leafPem, rootPem: f.rootPem, hostname: 'leaf.renew-sub.example' });
    expect(v.ok, v.output).toBe(true);
    const failed = items.get(sub.id)!;
    expect(failed.status).toBe('failed');
    expectRefusal(failed.error?.code, failed.error?.message ?? '');
  });

  it('a batch renewal keeping the keys is refused before any is renewed, naming it', async () => {
    const before = await snapshot();
    const r = await rest('POST', '/bulk/renew', { refs: [sub.serial], reuseKey: true });
    expect(r.status).toBe(422);
    expectRefusal(r.body.code, r.body.message);
    expect((await snapshot()).certificates).toBe(before.certificates);
  });
});
