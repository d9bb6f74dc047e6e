// A subordinate CA certificate made by `root/sign-intermediate` (its key held elsewhere, its CSR not kept) is a row of
// the certificates table. It is renewed only with a new CSR from its key holder: REST `POST /certificates/:ref/renew`
// and tRPC `renewal.renew` with `csrPem` sign it through the pipeline's subordinate-CA path, the one sign-intermediate
// takes (ca:write, proof of possession, the CA-request lint), keeping the old certificate's subject, path length and
// name constraints; the new CA certificate and a leaf it signs are verified by openssl up to the root. Without a CSR
// every surface refuses it alike — REST, tRPC, a batch renewal (the item fails with the code and message while a leaf
// of the same filter is renewed; with reuseKey the whole batch is refused) — with `policy.profile_not_allowed` and a
// message naming the ways it is renewed, nothing signed and the refusal audited.
import { createPublicKey, X509Certificate } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { BulkJobDto } from '@pkim/contract';
import { leafSignedBy, opensslCsr } from '../../../../tests/support/openssl-tools';
import { opensslVerify } from '../../../../tests/support/verifiers';
import { ACTORS, callerFor, pkiCodeOf, trpcError } from '../server-test-support';
import { corruptCsrSignature, openVaultFixture, vaultCall, type VaultFixture } from './vault-test-support';

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
  expect(message).toContain('renewed only with a new CSR from its key holder (pkim cert renew <ref> --csr <file>');
  expect(message).toContain("signed with the Vault API's sign-intermediate (<mount>/root/sign-intermediate");
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
  it('REST renew without a CSR refuses it with the ways it is renewed; nothing signed, audited', async () => {
    const before = await snapshot();
    for (const body of [{}, { keyType: 'ec-p384' }]) {
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

describe('renewing it with a new CSR from its key holder', () => {
  /** a subordinate CA signed by sign-intermediate with a path length and name constraints, and its key */
  async function constrainedSub(cn: string) {
    const csr = opensslCsr({ keyType: 'ec-p256', subject: `/CN=${cn}` });
    const r = await vaultCall(f, 'POST', 'root/root/sign-intermediate', {
      csr: csr.csrPem,
      ttl: '8760h',
      max_path_length: '0',
      permitted_dns_domains: 'example.com',
    });
    expect(r.status, r.text).toBe(200);
    const serial = (r.body.data.serial_number as string).replace(/:/g, '');
    return { row: await f.authority.certificates.find(serial, ACTORS.admin), keyPem: csr.keyPem };
  }
  /** the renewed CA certificate and a leaf it signs with the new key, verified by openssl up to the root */
  function expectWorkingCa(caPem: string, keyPem: string) {
    const chain = { chainPems: [`${caPem}\n`], rootPem: f.rootPem };
    const ca = opensslVerify({ leafPem: `${caPem}\n`, rootPem: f.rootPem });
    expect(ca.ok, ca.output).toBe(true);
    const leaf = opensslVerify({
      leafPem: leafSignedBy(caPem, keyPem, 'www.example.com'),
      ...chain,
      purpose: 'sslserver',
    });
    expect(leaf.ok, leaf.output).toBe(true);
    // the old certificate's name constraints and path length came along
    const outside = opensslVerify({ leafPem: leafSignedBy(caPem, keyPem, 'www.other.org'), ...chain });
    expect(outside.ok).toBe(false);
    expect(outside.output).toMatch(/permitted subtree violation/);
    expect(new X509Certificate(caPem).toLegacyObject().ext_key_usage).toBeUndefined();
  }

  it('REST renew with csrPem signs it as sign-intermediate does: its subject, path length, constraints', async () => {
    const old = await constrainedSub('Renewed Sub CA');
    const next = opensslCsr({ keyType: 'ec-p256', subject: '/CN=whatever the CSR says' });
    const r = await rest('POST', `/certificates/${old.row.serialHex}/renew`, { csrPem: next.csrPem, revokeOld: true });
    expect(r.status, JSON.stringify(r.body)).toBe(201);
    const pem = r.body.certificatePem as string;
    const x = new X509Certificate(pem);
    expect(x.subject).toBe('CN=Renewed Sub CA');
    expect(x.ca).toBe(true);
    expect(x.checkIssued(new X509Certificate(f.rootPem))).toBe(true);
    expect(x.publicKey.export({ type: 'spki', format: 'der' })).toEqual(
      createPublicKey(next.keyPem).export({ type: 'spki', format: 'der' }),
    );
    expectWorkingCa(pem, next.keyPem);
    const renewed = await f.authority.certificates.find(x.serialNumber.toLowerCase(), ACTORS.admin);
    expect(renewed).toMatchObject({ profile: 'intermediate-ca', caId: f.rootCaId, renewedFrom: old.row.id });
    expect(r.body.certificate.renewedFrom).toBe(old.row.id);
    expect(r.body.previous.status).toBe('revoked');
    const [event] = await f.authority.audit.list({ action: 'certificate.renewed', target: renewed.id, limit: 1 });
    expect(event!.details).toMatchObject({ renewedFrom: old.row.id, previousRevoked: true });
    const [issued] = await f.authority.audit.list({ action: 'certificate.issued', target: renewed.id, limit: 1 });
    expect(issued!.details).toMatchObject({ ca: true, pathLen: 0, renewedFrom: old.row.id });
  });

  it('tRPC renewal.renew with csrPem renews it too; the old one stays active without revokeOld', async () => {
    const old = await constrainedSub('tRPC Renewed Sub CA');
    const next = opensslCsr({ keyType: 'ec-p256', subject: '/CN=x' });
    const r = await callerFor(f.authority, ACTORS.admin).renewal.renew({ ref: old.row.id, csrPem: next.csrPem });
    expectWorkingCa(r.certificatePem, next.keyPem);
    expect((await f.authority.certificates.find(old.row.id, ACTORS.admin)).status).toBe('active');
  });

  it("keeps sign-intermediate's checks: ca:write, the CSR's signature, no SANs; nothing signed", async () => {
    const old = await constrainedSub('Checked Sub CA');
    const before = await snapshot();
    const next = opensslCsr({ keyType: 'ec-p256', subject: '/CN=x' });
    const operator = await f.authority.auth.createToken({ name: 'renew-operator', role: 'operator' }, ACTORS.admin);
    const asOperator = await fetch(`${f.url}/api/v1/certificates/${old.row.serialHex}/renew`, {
      method: 'POST',
      headers: { authorization: `Bearer ${operator.token}`, 'content-type': 'application/json' },
      body: JSON.stringify({ csrPem: next.csrPem }),
    });
    expect(asOperator.status).toBe(403);
    expect(((await asOperator.json()) as { code: string }).code).toBe('auth.forbidden');
    const forged = await rest('POST', `/certificates/${old.row.serialHex}/renew`, {
      csrPem: corruptCsrSignature(next.csrPem),
    });
    expect(forged.status).toBe(400);
    expect(forged.body.code).toBe('csr.invalid_signature');
    const sans = await rest('POST', `/certificates/${old.row.serialHex}/renew`, {
      csrPem: next.csrPem,
      sans: { dns: ['sub.example.com'] },
    });
    expect(sans.status).toBe(400);
    expect(sans.body.code).toBe('input.invalid');
    expect((await snapshot()).certificates).toBe(before.certificates);
  });
});
