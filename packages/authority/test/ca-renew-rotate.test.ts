// A CA's lifecycle on both engines: `cas.renew` (a new certificate for the CA's own key: same subject and SKI, a new
// serial and validity) and `cas.rotate` (a successor with a new key; a root's with a cross certificate signed by the
// old root). Every certificate is checked by openssl and certtool or Go: leaves issued before and after, under the
// old and the new chain, and — for a rotated root — through the cross certificate with only the old root trusted.
// Refusals change nothing (the CA rows, certificates and the CA row itself as they were).
import { describe, expect, it } from 'vitest';
import { parseCertificate } from '@pkim/core';
import { internalsOf } from '@pkim/authority/internals';
import type { KeyType } from '@pkim/shared';
import { ENGINES } from '../../../tests/support/engines';
import {
  certtoolVerify,
  goVerify,
  opensslCrlVerify,
  opensslText,
  opensslVerify,
} from '../../../tests/support/verifiers';
import { opensslSignCaCsr } from '../../../tests/support/openssl-tools';
import { expectPkiError } from '../../../tests/support/test-kit';
import { admin, keyRequest, useAuthoritySuite } from './fixtures/authority-suite';

const DAY = 86_400_000;

describe.each(ENGINES)('CA renewal and key rotation on $name', (engine) => {
  const s = useAuthoritySuite(engine);

  /** a root and an intermediate of this test's own (the suite's root stays as the other files expect it) */
  async function hierarchy(tag: string) {
    const root = await s.authority.cas.create(
      { name: `${tag}-root`, subject: `CN=${tag} Root,O=Lifecycle`, keyType: 'ec-p256', validityMs: 3650 * DAY },
      admin,
    );
    const int = await s.authority.cas.create(
      {
        name: `${tag}-int`,
        subject: `CN=${tag} Issuing,O=Lifecycle`,
        keyType: 'ec-p256',
        parentId: root.ca.id,
        validityMs: 365 * DAY,
        pathLen: 0,
      },
      admin,
    );
    return { root, int };
  }

  function verifiedEverywhere(leafPem: string, chainPems: string[], rootPem: string, dns: string): void {
    const o = opensslVerify({ leafPem, chainPems, rootPem, purpose: 'sslserver' });
    expect(o.ok, o.output).toBe(true);
    const c = certtoolVerify({ leafPem, chainPems, rootPem, purpose: 'serverAuth' });
    expect(c.ok, c.output).toBe(true);
    const g = goVerify({ leafPem, intermediatesPems: chainPems, rootPem, dnsName: dns, keyUsage: 'serverAuth' });
    expect(g.ok, g.output).toBe(true);
  }

  async function rows() {
    const store = internalsOf(s.authority).store;
    return { cas: (await store.cas.list()).length, certs: (await s.counts()).certs };
  }

  it('renews an intermediate and a root with their keys: leaves old and new verify under both chains', async () => {
    const { root, int } = await hierarchy('renew');
    const before = await s.authority.issuance.issueWithKey(keyRequest(int.ca.id, 'before.renew.test'), admin);

    const renewedInt = await s.authority.cas.renew(int.ca.id, { validityMs: 200 * DAY }, admin);
    const oldInt = parseCertificate(int.certificatePem!);
    const newInt = parseCertificate(renewedInt.certificatePem!);
    expect(newInt.subjectDn).toBe(oldInt.subjectDn);
    expect(newInt.subjectKeyIdentifierHex).toBe(oldInt.subjectKeyIdentifierHex);
    expect(Buffer.from(newInt.publicKey).equals(Buffer.from(oldInt.publicKey))).toBe(true);
    expect(newInt.serialHex).not.toBe(oldInt.serialHex);
    expect(newInt.issuerDn).toBe(parseCertificate(root.certificatePem!).subjectDn);
    expect(newInt.notAfter - newInt.notBefore).toBeLessThanOrEqual(200 * DAY + 60_000);
    expect(renewedInt.ca).toMatchObject({ serialHex: newInt.serialHex, notAfter: newInt.notAfter, status: 'active' });
    expect(renewedInt.chainPem.startsWith(renewedInt.certificatePem!.trim())).toBe(true);
    expect(opensslText(renewedInt.certificatePem!)).toContain('CA:TRUE, pathlen:0');

    // the CA's view is the new certificate; the one replaced is kept in its history
    const shown = await s.authority.cas.get(int.ca.id);
    expect(shown.certificatePem).toBe(renewedInt.certificatePem);
    expect(shown.chainPem).toBe(`${renewedInt.certificatePem!.trim()}\n${root.certificatePem!.trim()}\n`);
    expect(shown.ca.certificateHistory).toEqual([
      expect.objectContaining({ kind: 'previous', serialHex: oldInt.serialHex, issuerCaId: root.ca.id }),
    ]);
    expect(shown.ca.certificateHistory![0]!.certificatePem.trim()).toBe(int.certificatePem!.trim());

    const after = await s.authority.issuance.issueWithKey(keyRequest(int.ca.id, 'after.renew.test'), admin);
    for (const [leaf, dns] of [
      [before, 'before.renew.test'],
      [after, 'after.renew.test'],
    ] as const) {
      verifiedEverywhere(leaf.certificatePem, [renewedInt.certificatePem!], root.certificatePem!, dns);
      verifiedEverywhere(leaf.certificatePem, [int.certificatePem!], root.certificatePem!, dns);
    }
    expect(after.chainPem).toContain(renewedInt.certificatePem!.trim());

    // the root renewed too (self-signed, its key): both intermediates' certificates verify under it, and the leaves
    const renewedRoot = await s.authority.cas.renew(root.ca.id, {}, admin);
    const newRoot = parseCertificate(renewedRoot.certificatePem!);
    const oldRoot = parseCertificate(root.certificatePem!);
    expect(newRoot.issuerDn).toBe(newRoot.subjectDn);
    expect(newRoot.subjectKeyIdentifierHex).toBe(oldRoot.subjectKeyIdentifierHex);
    expect(newRoot.serialHex).not.toBe(oldRoot.serialHex);
    for (const rootPem of [renewedRoot.certificatePem!, root.certificatePem!])
      for (const intPem of [renewedInt.certificatePem!, int.certificatePem!])
        verifiedEverywhere(before.certificatePem, [intPem], rootPem, 'before.renew.test');
    const self = opensslVerify({ leafPem: renewedRoot.certificatePem!, rootPem: renewedRoot.certificatePem! });
    expect(self.ok, self.output).toBe(true);
    // the intermediate's chain follows its parent's new certificate
    expect((await s.authority.cas.get(int.ca.id)).chainPem).toContain(renewedRoot.certificatePem!.trim());

    const events = await s.authority.audit.list({ target: int.ca.id, action: 'ca.renewed', limit: 10 });
    expect(events.map((e) => e.details)).toEqual([
      expect.objectContaining({ serial: newInt.serialHex, previousSerial: oldInt.serialHex }),
    ]);
    expect(JSON.stringify(events)).not.toMatch(/PRIVATE KEY|pkcs8/i);
    expect((await s.authority.audit.verify()).ok).toBe(true);

    // revoked, the intermediate's old certificate (its key, still valid) is on its parent's CRL beside the new one
    await s.authority.cas.revokeCa(int.ca.id, 'keyCompromise', admin);
    const crl = await s.authority.crl.generate(root.ca.id, admin);
    const listed = opensslCrlVerify(crl.der, renewedRoot.certificatePem!);
    expect(listed.ok, listed.text).toBe(true);
    const bare = (hex: string) => hex.toLowerCase().replace(/^0+/, '');
    expect([...listed.go.entries.keys()].sort()).toEqual([bare(oldInt.serialHex), bare(newInt.serialHex)].sort());
  });

  it('refuses a renewal of a CA that cannot be renewed, or past its parent, and changes nothing', async () => {
    const { root, int } = await hierarchy('refuse');
    const store = internalsOf(s.authority).store;
    const expectUnchanged = async (caId: string, p: () => Promise<unknown>, code: string) => {
      const was = await store.cas.findById(caId);
      const counted = await rows();
      await expectPkiError(p(), code);
      expect(await store.cas.findById(caId)).toEqual(was);
      expect(await rows()).toEqual(counted);
    };
    // a validity past the parent's end
    await expectUnchanged(
      int.ca.id,
      () => s.authority.cas.renew(int.ca.id, { validityMs: 4000 * DAY }, admin),
      'lint.lifetime_beyond_issuer',
    );
    // a disabled CA, a disabled parent
    await s.authority.cas.setStatus(int.ca.id, 'disabled', admin);
    await expectUnchanged(int.ca.id, () => s.authority.cas.renew(int.ca.id, {}, admin), 'ca.not_active');
    await expectUnchanged(int.ca.id, () => s.authority.cas.rotate(int.ca.id, {}, admin), 'ca.not_active');
    await s.authority.cas.setStatus(int.ca.id, 'active', admin);
    await s.authority.cas.setStatus(root.ca.id, 'disabled', admin);
    await expectUnchanged(int.ca.id, () => s.authority.cas.renew(int.ca.id, {}, admin), 'ca.not_active');
    await s.authority.cas.setStatus(root.ca.id, 'active', admin);
    // an unknown key type for the successor
    await expectUnchanged(
      int.ca.id,
      () => s.authority.cas.rotate(int.ca.id, { keyType: 'dsa-1024' as KeyType }, admin),
      'input.invalid',
    );
    // a pending CA (its CSR with an outside CA), then the same CA once the outside CA signed it
    const ext = await s.authority.cas.createExternalIntermediate(
      { name: 'refuse-ext', subject: 'CN=refuse External', keyType: 'ec-p256' },
      admin,
    );
    await expectUnchanged(ext.ca.id, () => s.authority.cas.renew(ext.ca.id, {}, admin), 'ca.not_active');
    const outside = opensslSignCaCsr(ext.csrPem);
    await s.authority.cas.importCertificate(ext.ca.id, outside.subPem, admin, {
      issuerCertificatePem: outside.rootPem,
    });
    await expectUnchanged(ext.ca.id, () => s.authority.cas.renew(ext.ca.id, {}, admin), 'ca.externally_signed');
    await expectUnchanged(ext.ca.id, () => s.authority.cas.rotate(ext.ca.id, {}, admin), 'ca.externally_signed');
    // a revoked CA
    await s.authority.cas.revokeCa(int.ca.id, 'superseded', admin);
    await expectUnchanged(int.ca.id, () => s.authority.cas.renew(int.ca.id, {}, admin), 'ca.not_active');
    await expectUnchanged(int.ca.id, () => s.authority.cas.rotate(int.ca.id, {}, admin), 'ca.not_active');
    const failures = await s.authority.audit.list({ target: int.ca.id, action: 'ca.renew_failed', limit: 10 });
    expect(failures.length).toBeGreaterThanOrEqual(3);
  });

  it('rotates a root: the successor verifies alone and through the cross certificate under the old root', async () => {
    const { root } = await hierarchy('rot');
    const oldLeafCa = await s.authority.cas.create(
      { name: 'rot-old-int', subject: 'CN=rot Old Int', keyType: 'ec-p256', parentId: root.ca.id, pathLen: 0 },
      admin,
    );
    const r = await s.authority.cas.rotate(root.ca.id, { keyType: 'ec-p384' }, admin);
    expect(r.ca).toMatchObject({
      name: 'rot-root-2',
      subjectDn: root.ca.subjectDn,
      keyType: 'ec-p384',
      predecessorId: root.ca.id,
      parentId: null,
      status: 'active',
    });
    expect(r.predecessor).toMatchObject({ id: root.ca.id, status: 'active' });
    expect(r.ca.keyUri).not.toBe(root.ca.keyUri);
    const cross = parseCertificate(r.crossCertificatePem!);
    const successor = parseCertificate(r.certificatePem!);
    expect(cross.subjectDn).toBe(successor.subjectDn);
    expect(Buffer.from(cross.publicKey).equals(Buffer.from(successor.publicKey))).toBe(true);
    expect(cross.authorityKeyIdentifierHex).toBe(parseCertificate(root.certificatePem!).subjectKeyIdentifierHex);
    expect(cross.notAfter).toBeLessThanOrEqual(root.ca.notAfter!);
    expect((await s.authority.cas.get(r.ca.id)).ca.certificateHistory).toEqual([
      expect.objectContaining({ kind: 'cross', serialHex: cross.serialHex, issuerCaId: root.ca.id }),
    ]);

    // a leaf under an intermediate of the new root: verified with the new root, and with only the old root trusted
    const newInt = await s.authority.cas.create(
      { name: 'rot-new-int', subject: 'CN=rot New Int', keyType: 'ec-p256', parentId: r.ca.id, pathLen: 0 },
      admin,
    );
    const leaf = await s.authority.issuance.issueWithKey(keyRequest(newInt.ca.id, 'new.rot.test'), admin);
    verifiedEverywhere(leaf.certificatePem, [newInt.certificatePem!], r.certificatePem!, 'new.rot.test');
    verifiedEverywhere(
      leaf.certificatePem,
      [newInt.certificatePem!, r.crossCertificatePem!],
      root.certificatePem!,
      'new.rot.test',
    );
    // (the control: without the cross certificate the old root does not verify it)
    const without = opensslVerify({
      leafPem: leaf.certificatePem,
      chainPems: [newInt.certificatePem!],
      rootPem: root.certificatePem!,
    });
    expect(without.ok).toBe(false);

    // the old root still signs: its CRL, a new intermediate below it; what it issued before still verifies
    const oldLeaf = await s.authority.issuance.issueWithKey(keyRequest(oldLeafCa.ca.id, 'old.rot.test'), admin);
    verifiedEverywhere(oldLeaf.certificatePem, [oldLeafCa.certificatePem!], root.certificatePem!, 'old.rot.test');
    await s.authority.crl.generate(root.ca.id, admin);

    const events = await s.authority.audit.list({ target: root.ca.id, action: 'ca.rotated', limit: 10 });
    expect(events.map((e) => e.details)).toEqual([
      expect.objectContaining({ successorId: r.ca.id, crossSerial: cross.serialHex, predecessorDisabled: false }),
    ]);
    expect(JSON.stringify(events)).not.toMatch(/PRIVATE KEY|pkcs8/i);
  });

  it('rotates an intermediate under the same parent, the old one disabled with it when asked', async () => {
    const { root, int } = await hierarchy('rotint');
    const before = await s.authority.issuance.issueWithKey(keyRequest(int.ca.id, 'before.rotint.test'), admin);
    const r = await s.authority.cas.rotate(
      int.ca.id,
      { name: 'rotint-next', subject: 'CN=rotint Issuing 2,O=Lifecycle', disableOld: true },
      admin,
    );
    expect(r.crossCertificatePem).toBeNull();
    expect(r.ca).toMatchObject({ name: 'rotint-next', parentId: root.ca.id, predecessorId: int.ca.id });
    expect(r.predecessor.status).toBe('disabled');
    await expectPkiError(
      s.authority.issuance.issueWithKey(keyRequest(int.ca.id, 'refused.rotint.test'), admin),
      'ca.not_active',
    );
    const after = await s.authority.issuance.issueWithKey(keyRequest(r.ca.id, 'after.rotint.test'), admin);
    verifiedEverywhere(after.certificatePem, [r.certificatePem!], root.certificatePem!, 'after.rotint.test');
    verifiedEverywhere(before.certificatePem, [int.certificatePem!], root.certificatePem!, 'before.rotint.test');
    // the old CA still signs its CRL (a leaf it issued revoked is listed there)
    await s.authority.certificates.revoke(before.certificate.id, 'superseded', admin);
    const crl = await s.authority.crl.generate(int.ca.id, admin);
    expect(crl.crlNumber).toBeGreaterThan(0);
  });
});
