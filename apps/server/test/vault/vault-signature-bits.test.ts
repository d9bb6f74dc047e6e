// OpenBao's `signature_bits` and `not_before_duration`, honoured or refused — never accepted and ignored. A PKI Manager
// key signs with its key type's hash in every backend (software, PKCS#11, KMIP), so `signature_bits` is 0 or that
// hash, else a 400 naming it, nothing issued; `not_before_duration` (a role's, sign-intermediate's) backdates
// notBefore, never before the issuer's own; a root's is refused (`pkim ca create` backdates a CA one minute). The
// fixture's issuer is EC P-256 (SHA-256). Certificates are read by openssl and verified by openssl and certtool.
import { X509Certificate } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { opensslCsr } from '../../../../tests/support/openssl-tools';
import { certtoolVerify, opensslText, opensslVerify } from '../../../../tests/support/verifiers';
import { openVaultFixture, vaultCall, type VaultFixture } from './vault-test-support';

let f: VaultFixture;
beforeAll(async () => {
  f = await openVaultFixture();
}, 60_000);
afterAll(async () => f?.close());

const ROLE = { allowed_domains: 'example.com', allow_subdomains: true, max_ttl: '72h', key_type: 'ec' };
const certCount = async () => (await f.authority.certificates.list({ caId: f.caId, limit: 500 })).items.length;
const notBeforeOf = (pem: string) => Date.parse(new X509Certificate(pem).validFrom);

function verified(pem: string): string {
  const leafPem = `${pem}\n`;
  const chain = { leafPem, chainPems: [f.intermediatePem], rootPem: f.rootPem };
  for (const v of [opensslVerify({ ...chain, purpose: 'sslserver' }), certtoolVerify(chain)]) {
    expect(v.ok, v.output).toBe(true);
  }
  return opensslText(leafPem);
}

/** issues under `role` and answers the certificate with the time window it was asked in (whole seconds) */
async function issue(role: string, cn: string) {
  const before = Math.floor(Date.now() / 1000) * 1000;
  const r = await vaultCall(f, 'POST', `pki/issue/${role}`, { common_name: cn, ttl: '1h' });
  const after = Math.ceil(Date.now() / 1000) * 1000;
  return { r, before, after };
}

describe('signature_bits', () => {
  it('a role asking for the issuer key’s own hash (256 on P-256) issues, signed with SHA-256', async () => {
    expect((await vaultCall(f, 'POST', 'pki/roles/sha256', { ...ROLE, signature_bits: 256 })).status).toBe(200);
    const { r } = await issue('sha256', 'a.example.com');
    expect(r.status, r.text).toBe(200);
    expect(verified(r.body.data.certificate)).toMatch(/Signature Algorithm: ecdsa-with-SHA256/);
  });

  it('a role asking for another hash (384, 512) is refused at its write and PATCH (400), nothing stored', async () => {
    for (const bits of [384, 512]) {
      const w = await vaultCall(f, 'POST', `pki/roles/sha${bits}`, { ...ROLE, signature_bits: bits });
      expect(w.status, w.text).toBe(400);
      expect(w.body.errors[0]).toBe(
        `signature_bits ${bits} cannot be honoured: the issuer's key (ec-p256) signs with SHA-256 in PKI Manager ` +
          "(every key backend signs with its key type's hash); use 0 or 256",
      );
      expect((await vaultCall(f, 'GET', `pki/roles/sha${bits}`)).status).toBe(404);
    }
    await vaultCall(f, 'POST', 'pki/roles/patched', ROLE);
    const p = await vaultCall(f, 'PATCH', 'pki/roles/patched', { signature_bits: '384' });
    expect(p.status, p.text).toBe(400);
    expect(p.body.errors[0]).toMatch(/^signature_bits 384 cannot be honoured: the issuer's key \(ec-p256\)/);
    expect((await vaultCall(f, 'GET', 'pki/roles/patched')).body.data.signature_bits).toBe(0);
    const audited = await f.authority.audit.list({ action: 'vault.role_written', limit: 500 });
    expect(audited.filter((e) => /\/roles\/sha(384|512)$/.test(String(e.target)))).toEqual([]);
  });

  it('a role written on a mount without a CA is kept; the CA made names it; issue and sign refuse it', async () => {
    await vaultCall(f, 'POST', 'sys/mounts/sigwait', { type: 'pki' });
    expect((await vaultCall(f, 'POST', 'sigwait/roles/r384', { ...ROLE, signature_bits: 384 })).status).toBe(200);
    expect((await vaultCall(f, 'POST', 'sigwait/roles/r256', { ...ROLE, signature_bits: 256 })).status).toBe(200);
    const root = await vaultCall(f, 'POST', 'sigwait/root/generate/internal', { common_name: 'Wait', key_type: 'ec' });
    expect(root.status, root.text).toBe(200);
    expect(root.body.warnings).toContain(
      "role r384: signature_bits 384 cannot be honoured: the new issuer's key (ec-p256) signs with SHA-256 in PKI " +
        "Manager (every key backend signs with its key type's hash); use 0 or 256; issue and sign through it are " +
        'refused until it is rewritten',
    );
    expect(root.body.warnings.filter((w: string) => w.startsWith('role '))).toHaveLength(1);
    const before = await certCount();
    const r = await vaultCall(f, 'POST', 'sigwait/issue/r384', { common_name: 'b.example.com', ttl: '1h' });
    expect(r.status, r.text).toBe(400);
    expect(r.body.errors[0]).toMatch(/^signature_bits 384 cannot be honoured: the issuer's key \(ec-p256\)/);
    const { csrPem } = opensslCsr({ keyType: 'ec-p256', subject: '/CN=c.example.com', sans: ['DNS:c.example.com'] });
    const s = await vaultCall(f, 'POST', 'sigwait/sign/r384', { csr: csrPem, common_name: 'c.example.com' });
    expect(s.status, s.text).toBe(400);
    expect(await certCount()).toBe(before);
    // r256 fits: it issues; the warned role rewritten with 0 issues too
    expect((await vaultCall(f, 'POST', 'sigwait/roles/r384', { ...ROLE, signature_bits: 0 })).status).toBe(200);
    for (const role of ['r256', 'r384']) {
      const ok = await vaultCall(f, 'POST', `sigwait/issue/${role}`, { common_name: 'b.example.com', ttl: '1h' });
      expect(ok.status, ok.text).toBe(200);
      const rootPem = `${root.body.data.certificate}\n`;
      for (const v of [
        opensslVerify({ leafPem: `${ok.body.data.certificate}\n`, rootPem, purpose: 'sslserver' }),
        certtoolVerify({ leafPem: `${ok.body.data.certificate}\n`, rootPem }),
      ]) {
        expect(v.ok, v.output).toBe(true);
      }
    }
  });

  it('sign-verbatim takes signature_bits from the request: 0 or the issuer key’s hash', async () => {
    const before = await certCount();
    const { csrPem } = opensslCsr({ keyType: 'ec-p256', subject: '/CN=v.example.com', sans: ['DNS:v.example.com'] });
    const v = await vaultCall(f, 'POST', 'pki/sign-verbatim', { csr: csrPem, signature_bits: 384 });
    expect(v.status, v.text).toBe(400);
    expect(v.body.errors[0]).toMatch(/^signature_bits 384 cannot be honoured/);
    expect(await certCount()).toBe(before);
    const ok = await vaultCall(f, 'POST', 'pki/sign-verbatim', { csr: csrPem, signature_bits: 256, ttl: '1h' });
    expect(ok.status, ok.text).toBe(200);
  });

  it('sign-intermediate and root/generate: 0 or the key’s hash; another refused, nothing made', async () => {
    const { csrPem } = opensslCsr({ keyType: 'ec-p256', subject: '/CN=Sub CA' });
    const sub = await vaultCall(f, 'POST', 'pki/root/sign-intermediate', { csr: csrPem, signature_bits: 512 });
    expect(sub.status, sub.text).toBe(400);
    expect(sub.body.errors[0]).toMatch(/^signature_bits 512 cannot be honoured: the issuer's key \(ec-p256\)/);

    await vaultCall(f, 'POST', 'sys/mounts/sigroot', { type: 'pki' });
    const cas = (await f.authority.cas.list()).length;
    const generate = (signature_bits: number) =>
      vaultCall(f, 'POST', 'sigroot/root/generate/internal', {
        common_name: 'Sig Root',
        key_type: 'ec',
        key_bits: 384,
        signature_bits,
      });
    const bad = await generate(256);
    expect(bad.status, bad.text).toBe(400);
    expect(bad.body.errors[0]).toMatch(/^signature_bits 256 cannot be honoured: the new CA's key \(ec-p384\)/);
    expect((await f.authority.cas.list()).length).toBe(cas);
    const good = await generate(384);
    expect(good.status, good.text).toBe(200);
    const rootPem = `${good.body.data.certificate}\n`;
    expect(opensslText(rootPem)).toMatch(/Signature Algorithm: ecdsa-with-SHA384/);
    const self = opensslVerify({ leafPem: rootPem, rootPem });
    expect(self.ok, self.output).toBe(true);
  });
});

describe('not_before_duration', () => {
  it('a role’s default (30 s) and its own value backdate notBefore; never before the issuer’s notBefore', async () => {
    await vaultCall(f, 'POST', 'pki/roles/nbd-default', ROLE);
    const d = await issue('nbd-default', 'd.example.com');
    expect(d.r.status, d.r.text).toBe(200);
    verified(d.r.body.data.certificate);
    const nb = notBeforeOf(d.r.body.data.certificate);
    expect(nb).toBeGreaterThanOrEqual(d.before - 30_000);
    expect(nb).toBeLessThanOrEqual(d.after - 30_000);

    await vaultCall(f, 'POST', 'pki/roles/nbd-5m', { ...ROLE, not_before_duration: '5m' });
    const five = await issue('nbd-5m', 'e.example.com');
    expect(five.r.status, five.r.text).toBe(200);
    const nb5 = notBeforeOf(five.r.body.data.certificate);
    const issuerNotBefore = Date.parse(new X509Certificate(f.intermediatePem).validFrom);
    // the fixture's issuer was made in beforeAll (valid from a minute before): five minutes back reaches before it,
    // so the issuer's own notBefore is taken
    expect(five.before - 300_000).toBeLessThan(issuerNotBefore);
    expect(nb5).toBe(issuerNotBefore);
    verified(five.r.body.data.certificate);

    await vaultCall(f, 'POST', 'pki/roles/nbd-0', { ...ROLE, not_before_duration: 0 });
    const zero = await issue('nbd-0', 'z.example.com');
    expect(zero.r.status, zero.r.text).toBe(200);
    const nb0 = notBeforeOf(zero.r.body.data.certificate);
    expect(nb0).toBeGreaterThanOrEqual(zero.before);
    expect(nb0).toBeLessThanOrEqual(zero.after);
  });

  it('sign-intermediate backdates by its not_before_duration (30 s by default)', async () => {
    await vaultCall(f, 'POST', 'sys/mounts/nbdroot', { type: 'pki', config: { max_lease_ttl: '87600h' } });
    const root = await vaultCall(f, 'POST', 'nbdroot/root/generate/internal', {
      common_name: 'NBD Root',
      ttl: '8760h',
    });
    expect(root.status, root.text).toBe(200);
    // the root is valid from 30 s before it was made (its not_before_duration default): 10 s and 30 s back later on
    // stay within it
    for (const [asked, back] of [
      [10, 10_000],
      [undefined, 30_000],
    ] as const) {
      const { csrPem } = opensslCsr({ keyType: 'ec-p256', subject: `/CN=NBD Sub ${back}` });
      const before = Math.floor(Date.now() / 1000) * 1000;
      const r = await vaultCall(f, 'POST', 'nbdroot/root/sign-intermediate', {
        csr: csrPem,
        use_csr_values: true,
        ttl: '24h',
        ...(asked === undefined ? {} : { not_before_duration: asked }),
      });
      const after = Math.ceil(Date.now() / 1000) * 1000;
      expect(r.status, r.text).toBe(200);
      const nb = notBeforeOf(r.body.data.certificate);
      expect(nb).toBeGreaterThanOrEqual(before - back);
      expect(nb).toBeLessThanOrEqual(after - back);
      const v = opensslVerify({ leafPem: `${r.body.data.certificate}\n`, rootPem: `${root.body.data.certificate}\n` });
      expect(v.ok, v.output).toBe(true);
    }
  });

  it('root/generate backdates its root by not_before_duration (30 s by default), ends at not_after', async () => {
    const cas = (await f.authority.cas.list()).length;
    await vaultCall(f, 'POST', 'sys/mounts/nbdroots', { type: 'pki', config: { max_lease_ttl: '87600h' } });
    const soon = await vaultCall(f, 'POST', 'nbdroots/root/generate/internal', {
      common_name: 'Never',
      not_before_duration: 'soon',
    });
    expect(soon.status, soon.text).toBe(400);
    expect(soon.body.errors[0]).toMatch(/"not_before_duration": invalid duration/);
    expect((await f.authority.cas.list()).length).toBe(cas);
    const notAfter = new Date(Date.now() + 400 * 86_400_000 + 4321).toISOString().replace(/\.\d+Z$/, 'Z');
    for (const [mount, asked, back] of [
      ['nbdroots', '2h', 7_200_000],
      ['nbdroots2', undefined, 30_000],
    ] as const) {
      if (mount !== 'nbdroots') {
        await vaultCall(f, 'POST', `sys/mounts/${mount}`, { type: 'pki', config: { max_lease_ttl: '87600h' } });
      }
      const before = Math.floor(Date.now() / 1000) * 1000;
      const root = await vaultCall(f, 'POST', `${mount}/root/generate/internal`, {
        common_name: `NBD Root ${mount}`,
        key_type: 'ec',
        not_after: notAfter,
        ...(asked === undefined ? {} : { not_before_duration: asked }),
      });
      const after = Math.ceil(Date.now() / 1000) * 1000;
      expect(root.status, root.text).toBe(200);
      const rootPem = `${root.body.data.certificate}\n`;
      for (const v of [opensslVerify({ leafPem: rootPem, rootPem }), certtoolVerify({ leafPem: rootPem, rootPem })]) {
        expect(v.ok, v.output).toBe(true);
      }
      const text = opensslText(rootPem);
      const nb = Date.parse(/Not Before: (.+)/.exec(text)![1]!);
      expect(nb).toBeGreaterThanOrEqual(before - back);
      expect(nb).toBeLessThanOrEqual(after - back);
      expect(Date.parse(/Not After : (.+)/.exec(text)![1]!)).toBe(Date.parse(notAfter));
      expect(root.body.data.expiration).toBe(Date.parse(notAfter) / 1000);
    }
  });
});
