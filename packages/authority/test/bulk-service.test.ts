import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { classifySans } from '@pkim/shared';
import { createAuthority, parseBulkCsv, type Actor, type Authority } from '@pkim/authority';
import { opensslCsr, tempDir } from '../../../tests/support/openssl-tools';
import { opensslText, opensslVerify } from '../../../tests/support/verifiers';
import { silentLogger, TEST_ADMIN } from '../../../tests/support/test-kit';
import { rootAndIssuing } from '../../../tests/support/ca-kit';

describe('bulk CSV service: one pipeline, all or nothing', { timeout: 120_000 }, () => {
  let authority: Authority;
  let tmp: ReturnType<typeof tempDir>;
  let rootPem: string;
  let issuingPem: string;
  let issuingId: string;

  const certificateCount = async () => (await authority.certificates.list({ limit: 1000 })).items.length;

  beforeAll(async () => {
    tmp = tempDir();
    authority = await createAuthority({ dataDir: tmp.dir, logger: silentLogger });
    const { root, issuing } = await rootAndIssuing(authority, undefined, {
      root: { subject: 'CN=Bulk Root' },
      issuing: { subject: 'CN=Bulk Issuing' },
    });
    [rootPem, issuingPem, issuingId] = [root.pem, issuing.pem, issuing.id];
  });
  afterAll(async () => {
    await authority.close();
    tmp.cleanup();
  });

  it('sorts SANs by type: IPv4, IPv6, e-mail, URIs, DNS, explicit prefixes', () => {
    expect(
      classifySans([
        'a.example.com',
        '10.0.0.1',
        '2001:db8::1',
        '::1',
        'ops@example.com',
        'spiffe://example.org/web',
        'urn:uuid:6e8bc430-9c3a-11d9-9669-0800200c9a66',
        'dns:b.example.com',
        ' ',
      ]),
    ).toEqual({
      dns: ['a.example.com', 'b.example.com'],
      ip: ['10.0.0.1', '2001:db8::1', '::1'],
      email: ['ops@example.com'],
      uri: ['spiffe://example.org/web', 'urn:uuid:6e8bc430-9c3a-11d9-9669-0800200c9a66'],
    });
  });

  it('reads quoted fields with commas, quotes and line breaks (a CSR) and numbers rows and lines', async () => {
    const { csrPem } = opensslCsr({ keyType: 'ec-p256', subject: '/CN=csr.example.com' });
    const rows = await parseBulkCsv(
      `Common Name,O,SANs,CSR\r\n` +
        `a.example.com,"Acme ""Labs"", Ltd",a.example.com;fd00::a,\r\n` +
        `csr.example.com,,csr.example.com,"${csrPem}"\r\n` +
        `c.example.com,C,c.example.com,\r\n`,
    );
    expect(rows.map((r) => [r.row, r.line])).toEqual([
      [1, 2],
      [2, 3],
      [3, 4 + csrPem.trimEnd().split('\n').length], // the PEM's final line break is inside the quotes
    ]);
    expect(rows[0]!.subject.organization).toBe('Acme "Labs", Ltd');
    expect(rows[0]!.sans).toEqual({ dns: ['a.example.com'], ip: ['fd00::a'] });
    expect(rows[1]!.csrPem).toContain('BEGIN CERTIFICATE REQUEST');
  });

  it('all-or-nothing: a signature failing midway (CA disabled after 3 rows) commits none of the batch', async () => {
    const csv = 'cn,sans\n' + [1, 2, 3, 4, 5].map((i) => `m${i}.example.com,m${i}.example.com`).join('\n') + '\n';
    const before = await certificateCount();
    const r = await authority.bulk.issueCsv(
      {
        ca: 'issuing',
        csv,
        mode: 'all-or-nothing',
        keepKeys: true,
        defaults: { profile: 'tls-server' },
        onProgress: async (p) => {
          if (p.phase === 'issue' && p.done === 3) await authority.cas.setStatus(issuingId, 'disabled', TEST_ADMIN);
        },
      },
      TEST_ADMIN,
    );
    await authority.cas.setStatus(issuingId, 'active', TEST_ADMIN);
    expect(r.issued).toBe(0);
    expect(r.rows.map((x) => x.status)).toEqual(['not-issued', 'not-issued', 'not-issued', 'failed', 'not-issued']);
    expect(r.rows[3]!.error?.code).toBe('ca.not_active');
    expect(await certificateCount()).toBe(before);
    const [failure] = await authority.audit.list({ action: 'certificate.issue_failed', limit: 1 });
    expect(failure?.details).toMatchObject({ batch: 5, signed: 3, committed: 0, code: 'ca.not_active' });
    const [batch] = await authority.audit.list({ action: 'certificate.bulk', limit: 1 });
    expect(batch).toMatchObject({ outcome: 'failure', actor: TEST_ADMIN.id });
  });

  it("the actor's own limits apply to every row, in a dry run as in a real run; CSR rows keep their key", async () => {
    const limited: Actor = {
      id: 'tok_bulk',
      name: 'bulk-ci',
      role: 'operator',
      resources: { names: ['*.ok.example.com', '10.1.0.0/16'] },
    };
    const { csrPem } = opensslCsr({ keyType: 'ec-p384', subject: '/CN=csr.ok.example.com' });
    const csv =
      'cn,sans,csr,profile\n' +
      'a.ok.example.com,a.ok.example.com,,tls-server\n' +
      'b.elsewhere.example.com,b.elsewhere.example.com,,tls-server\n' +
      `csr.ok.example.com,csr.ok.example.com;10.1.2.3,"${csrPem}",tls-server\n`;
    const dry = await authority.bulk.issueCsv({ ca: 'issuing', csv, dryRun: true }, limited);
    const real = await authority.bulk.issueCsv({ ca: 'issuing', csv, keepKeys: true }, limited);
    for (const r of [dry, real]) {
      expect(r.rows.map((x) => [x.row, x.status === 'failed' ? x.error?.code : 'ok'])).toEqual([
        [1, 'ok'],
        [2, 'provisioner.name_not_allowed'],
        [3, 'ok'],
      ]);
    }
    expect(real.issued).toBe(2);
    const csrRow = real.rows[2]!;
    const cert = await authority.certificates.find(csrRow.certificateId!);
    expect(cert.keyType).toBe('ec-p384');
    const v = opensslVerify({ leafPem: cert.certificatePem, chainPems: [issuingPem], rootPem });
    expect(v.ok, v.output).toBe(true);
    expect(opensslText(cert.certificatePem)).toContain('IP Address:10.1.2.3');
  });

  it('a CA-limited caller may not batch revoke/renew outside its CAs (reference, filter): 403 up front', async () => {
    const leaf = (ca: string, cn: string) =>
      authority.sign(
        {
          kind: 'leaf-generated-key',
          ca,
          profile: 'tls-server',
          keyType: 'ec-p256',
          subject: { commonName: cn },
          sans: { dns: [cn] },
        },
        { actor: TEST_ADMIN },
      );
    const mine = (await leaf('issuing', 'mine.scope.example')).certificate;
    // a leaf of the root CA: outside the limited caller's CAs
    const theirs = (await leaf('root', 'theirs.scope.example')).certificate;
    const limited: Actor = { id: 'tok_scope', name: 'scoped', role: 'operator', resources: { cas: ['issuing'] } };
    const refused = async (p: Promise<unknown>) => {
      const e = (await p.then(
        () => undefined,
        (x: unknown) => x,
      )) as { code?: string; kind?: string; message?: string } | undefined;
      expect(e, 'refused').toMatchObject({ code: 'provisioner.ca_not_allowed', kind: 'forbidden' });
      return e!.message!;
    };
    const selection = { refs: [mine.id, theirs.serialHex] };
    expect(await refused(authority.batch.revoke(selection, 'superseded', limited))).toContain(
      `certificate ${theirs.serialHex} is of CA 'root'`,
    );
    expect(await refused(authority.batch.renew(selection, {}, limited))).toContain("CA 'root'");
    expect(await refused(authority.batch.revoke({ ca: 'root', search: 'scope' }, 'superseded', limited))).toContain(
      "the filter's CA is of CA 'root'",
    );
    // nothing was revoked or renewed, not even the caller's own certificate
    for (const c of [mine, theirs]) expect((await authority.certificates.find(c.id)).status).toBe('active');
    expect((await authority.certificates.list({ search: 'mine.scope.example', limit: 10 })).items).toHaveLength(1);
    // within its CA the batch runs; an unknown reference fails on its own
    const ok = await authority.batch.revoke({ refs: [mine.id, 'crt_nonexistent'] }, 'superseded', limited);
    expect(ok.items.map((i) => i.status)).toEqual(['revoked', 'failed']);
  });
});
