// Inventory reports (issue #16 item 4): a filtered certificate list as CSV/JSON, read page by page. The CSV is
// parsed back with csv-parse and compared with the certificate list of the same filter; who sees what (a
// requester only the certificates of its own requests, a CA-limited token only its CAs); the audit event.
import { beforeAll, describe, expect, it } from 'vitest';
import { parse } from 'csv-parse/sync';
import { fixedClock } from '@pkim/shared';
import { internalsOf } from '@pkim/authority/internals';
import {
  INVENTORY_COLUMNS,
  createInventoryService,
  sansField,
  type Actor,
  type Authority,
  type CertificateRow,
  type InventoryFilter,
} from '@pkim/authority';
import { ENGINES } from '../../../tests/support/engines';
import { authorityOnEngine } from '../../../tests/support/authority-on-engine';
import { opensslCsr } from '../../../tests/support/openssl-tools';
import { opensslVerify } from '../../../tests/support/verifiers';
import { expectPkiError } from '../../../tests/support/test-kit';
import { createIssuingCa, rootAndIssuing } from '../../../tests/support/ca-kit';

const admin: Actor = { id: 'usr_inv_admin', name: 'alice', role: 'admin' };
const requester: Actor = { id: 'usr_inv_requester', name: 'rita', role: 'requester' };
const otherRequester: Actor = { id: 'usr_inv_other', name: 'otto', role: 'requester' };
const DAY = 86_400_000;
const T0 = Date.UTC(2031, 2, 1, 12, 0, 0);

async function text(body: AsyncIterable<string>): Promise<string> {
  let out = '';
  for await (const chunk of body) out += chunk;
  return out;
}

describe.each(ENGINES)('inventory reports on $name', (engine) => {
  const fx = authorityOnEngine(engine, { clock: fixedClock(T0) });
  let authority: Authority;
  let issuingId: string;
  let otherCaId: string;
  let rootPem: string;
  let issuingPem: string;
  const own: string[] = [];

  async function issue(caId: string, cn: string, o: { days: number; profile?: string; org?: string; ip?: string[] }) {
    const r = await authority.issuance.issueWithKey(
      {
        caId,
        profile: o.profile ?? 'tls-server',
        subject: { commonName: cn, ...(o.org ? { organization: o.org } : {}) },
        sans: { dns: [cn, `alt.${cn}`], ...(o.ip ? { ip: o.ip } : {}) },
        keyType: 'ec-p256',
        validityMs: o.days * DAY,
      },
      admin,
    );
    return r;
  }

  beforeAll(async () => {
    authority = fx.authority;
    const { root, issuing } = await rootAndIssuing(authority, 'inv', {
      actor: admin,
      verifyAt: T0,
      root: { subject: 'CN=Inventory Root CA,O=PKI Manager Tests' },
      issuing: { subject: 'CN=Inventory Issuing CA' },
    });
    [rootPem, issuingId, issuingPem] = [root.pem, issuing.id, issuing.pem];
    otherCaId = (
      await createIssuingCa(authority, root, 'inv-other', {
        actor: admin,
        verifyAt: T0,
        subject: 'CN=Inventory Other CA',
      })
    ).id;
    // a quoted field with a comma and quotes, an IPv6 SAN, expiring soon and later, another profile, revoked
    const tricky = await issue(issuingId, 'web.example.com', {
      days: 10,
      org: 'Example, "Quoted" Inc.',
      ip: ['2001:db8::1'],
    });
    expect(
      opensslVerify({ leafPem: tricky.certificatePem, chainPems: [issuingPem], rootPem, atTime: T0 / 1000 + 60 }).ok,
    ).toBe(true);
    await issue(issuingId, 'api.example.com', { days: 200 });
    await issue(issuingId, 'client.example.com', { days: 40, profile: 'tls-client' });
    const revoked = await issue(issuingId, 'old.example.com', { days: 90 });
    await authority.certificates.revoke(revoked.certificate.id, 'keyCompromise', admin);
    await issue(otherCaId, 'elsewhere.example.org', { days: 5 });
    // two requests of the requester, one of another requester, all approved
    for (const [who, cn] of [
      [requester, 'mine1.example.com'],
      [requester, 'mine2.example.com'],
      [otherRequester, 'theirs.example.com'],
    ] as const) {
      const { csrPem } = opensslCsr({ keyType: 'ec-p256', subject: `/CN=${cn}`, sans: [`DNS:${cn}`] });
      const req = await authority.requests.submit({ caId: issuingId, csrPem, profile: 'tls-server' }, who);
      const done = await authority.requests.approve(req.id, admin);
      expect(
        opensslVerify({ leafPem: done.issued.certificatePem, chainPems: [issuingPem], rootPem, atTime: T0 / 1000 + 60 })
          .ok,
      ).toBe(true);
      if (who === requester) own.push(done.issued.certificate.id);
    }
  });

  /** every row of the certificate list with this filter (pages of 2, to cross page boundaries) */
  async function listed(filter: InventoryFilter, actor: Actor = admin): Promise<CertificateRow[]> {
    const out: CertificateRow[] = [];
    let cursor: string | null | undefined;
    do {
      const page = await authority.certificates.list({ ...filter, limit: 2, cursor }, actor);
      out.push(...page.items);
      cursor = page.nextCursor;
    } while (cursor);
    return out;
  }

  async function csvRows(filter: InventoryFilter, actor: Actor = admin): Promise<Record<string, string>[]> {
    const report = await authority.inventory.report(filter, 'csv', actor);
    expect(report.mediaType).toBe('text/csv; charset=utf-8');
    expect(report.fileName).toBe('certificates-2031-03-01.csv');
    const csv = await text(report.body);
    expect(csv.split('\r\n')[0]).toBe(INVENTORY_COLUMNS.join(','));
    return parse<Record<string, string>>(csv, { columns: true, skip_empty_lines: true });
  }

  it.each<[string, InventoryFilter]>([
    ['no filter', {}],
    ['CA by name', { caId: 'inv-issuing' }],
    ['status', { status: 'revoked' }],
    ['profile', { profile: 'tls-client' }],
    ['expiring before', { expiringBefore: T0 + 30 * DAY }],
    ['search', { search: 'example.com' }],
    ['CA + expiring, by expiry', { caId: 'inv-issuing', expiringBefore: T0 + 100 * DAY, sort: 'expiry_asc' }],
  ])('CSV with filter "%s" = the certificate list of the same filter, every column', async (_name, filter) => {
    const rows = await csvRows(filter);
    const expected = await listed(filter);
    expect(expected.length).toBeGreaterThan(0);
    expect(rows.map((r) => r.id)).toEqual(expected.map((c) => c.id));
    const cas = new Map((await authority.cas.list()).map((c) => [c.id, c]));
    for (const [i, c] of expected.entries()) {
      const r = rows[i]!;
      expect(r).toEqual({
        id: c.id,
        serial: c.serialHex,
        subject: c.subjectDn,
        common_name: c.commonName ?? '',
        sans: sansField(c.sans),
        fingerprint_sha256: c.fingerprintSha256,
        status: c.status,
        not_before: new Date(c.notBefore).toISOString(),
        not_after: new Date(c.notAfter).toISOString(),
        days_left: String(Math.floor((c.notAfter - T0) / DAY)),
        ca_id: c.caId,
        ca_name: cas.get(c.caId)!.name,
        issuer: cas.get(c.caId)!.subjectDn,
        profile: c.profile,
        key_type: c.keyType,
        requester: c.requestId ? expect.stringMatching(/^usr_inv_/) : '',
        issued_by: c.issuedBy,
        request_id: c.requestId ?? '',
        revoked_at: c.revokedAt ? new Date(c.revokedAt).toISOString() : '',
        revocation_reason: c.revocationReason ?? '',
        renewed_from: '',
      });
    }
  });

  it('reads page after page: small pages give the same CSV (one header) and JSON (one array) as one page', async () => {
    const paged = createInventoryService({ store: internalsOf(authority).store, clock: fixedClock(T0), pageSize: 3 });
    for (const format of ['csv', 'json'] as const) {
      const one = await text((await authority.inventory.report({}, format, admin)).body);
      const many = await text((await paged.report({}, format, admin)).body);
      expect(many).toBe(one);
    }
    const lines = (await text((await paged.report({}, 'csv', admin)).body)).split('\r\n');
    expect(lines.filter((l) => l.startsWith('id,serial,'))).toHaveLength(1);
    expect(lines.length).toBeGreaterThan(9); // 8 certificates over 3 pages, a header and the last line end
  });

  it('keeps a comma and quotes of a subject in one field, an IPv6 SAN, RFC 3339 times and days left', async () => {
    const [web] = await csvRows({ search: 'web.example' });
    // RFC 4514 escapes in the DN, then a comma and quotes inside one CSV field
    expect(web!.subject).toBe('CN=web.example.com,O=Example\\, \\"Quoted\\" Inc.');
    expect(web!.sans).toBe('DNS:web.example.com;DNS:alt.web.example.com;IP:2001:db8::1');
    expect(web!.not_after).toBe('2031-03-11T12:00:00.000Z');
    expect(web!.days_left).toBe('10');
    const [old] = await csvRows({ status: 'revoked' });
    expect(old!.revocation_reason).toBe('keyCompromise');
    expect(old!.revoked_at).toBe(new Date(T0).toISOString());
  });

  it('JSON: the same records (SANs as an object, days left a number) as one array', async () => {
    const report = await authority.inventory.report({ caId: issuingId }, 'json', admin);
    expect(report.mediaType).toBe('application/json; charset=utf-8');
    const records = JSON.parse(await text(report.body)) as Record<string, unknown>[];
    const expected = await listed({ caId: issuingId });
    expect(records.map((r) => r.id)).toEqual(expected.map((c) => c.id));
    expect(Object.keys(records[0]!)).toEqual([...INVENTORY_COLUMNS]);
    const web = records.find((r) => r.common_name === 'web.example.com')!;
    expect(web.sans).toEqual({ dns: ['web.example.com', 'alt.web.example.com'], ip: ['2001:db8::1'] });
    expect(web.days_left).toBe(10);
    const empty = await authority.inventory.report({ search: 'no-such-name' }, 'json', admin);
    expect(JSON.parse(await text(empty.body))).toEqual([]);
    expect((await csvRows({ search: 'no-such-name' })).length).toBe(0);
  });

  it('a requester sees only the certificates of its own requests; the requester column names it', async () => {
    const rows = await csvRows({}, requester);
    expect(rows.map((r) => r.id).sort()).toEqual([...own].sort());
    expect(new Set(rows.map((r) => r.requester))).toEqual(new Set([requester.id]));
    expect((await csvRows({ search: 'theirs' }, requester)).length).toBe(0);
    expect((await csvRows({}, otherRequester)).map((r) => r.common_name)).toEqual(['theirs.example.com']);
  });

  it('a token limited to one CA sees that CA only; a role without reading rights is refused', async () => {
    const limited: Actor = { id: 'tok_inv', role: 'operator', resources: { cas: ['inv-other'] } };
    const rows = await csvRows({}, limited);
    expect(rows.map((r) => r.ca_id)).toEqual([otherCaId]);
    const noRead: Actor = { id: 'tok_inv_sign', role: 'operator', scopes: ['certificate:issue'] };
    await expectPkiError(authority.inventory.report({}, 'csv', noRead), 'auth.forbidden');
    await expectPkiError(authority.inventory.report({}, 'xml' as 'csv', admin), 'input.invalid');
  });

  it('audits every report with the actor, the format and the filter', async () => {
    await authority.inventory.report({ status: 'active', search: 'api' }, 'csv', admin);
    const [event] = await authority.audit.list({ action: 'certificate.inventory_exported', order: 'desc', limit: 1 });
    expect(event).toMatchObject({
      actor: admin.id,
      outcome: 'success',
      details: { format: 'csv', filter: { status: 'active', search: 'api' } },
    });
    await authority.inventory.report({}, 'json', requester);
    const [mine] = await authority.audit.list({ action: 'certificate.inventory_exported', order: 'desc', limit: 1 });
    expect(mine).toMatchObject({ actor: requester.id, details: { format: 'json', filter: {}, ownRequestsOnly: true } });
  });
});
