// Renewing an expired CA is the normal repair: the same key, a new certificate, the CA active again everywhere (its
// status is read from its dates), audited; what it issued under the old certificate verifies under the new one, its
// CRL and OCSP answers verify again. A disabled or revoked CA stays refused, and an intermediate needs a valid parent;
// a refusal changes nothing. Rotating an expired CA works too (an expired root signs no cross certificate). A fixed
// clock moves past the CAs' ends; openssl checks every certificate, CRL and OCSP response at that time (-attime).
import { describe, expect, it } from 'vitest';
import { fixedClock } from '@pkim/shared';
import { parseCertificate } from '@pkim/core';
import { internalsOf } from '@pkim/authority/internals';
import { ENGINES } from '../../../tests/support/engines';
import { authorityOnEngine } from '../../../tests/support/authority-on-engine';
import {
  goCrlVerify,
  goVerify,
  opensslCrlVerifyOnly,
  opensslOcspCheck,
  opensslOcspRequest,
  opensslVerify,
} from '../../../tests/support/verifiers';
import { expectPkiError } from '../../../tests/support/test-kit';
import { admin, keyRequest } from './fixtures/authority-suite';

const DAY = 86_400_000;
const T0 = Date.UTC(2031, 2, 1, 12, 0, 0);
const bare = (hex: string) => hex.toLowerCase().replace(/^0+/, '');
const crlPem = (der: Uint8Array) =>
  `-----BEGIN X509 CRL-----\n${Buffer.from(der)
    .toString('base64')
    .replace(/.{1,64}/g, '$&\n')}-----END X509 CRL-----\n`;

describe.each(ENGINES)('renewing an expired CA on $name', (engine) => {
  const clock = fixedClock(T0);
  const fx = authorityOnEngine(engine, { clock, publicBaseUrl: 'http://127.0.0.1:9' });
  const at = () => Math.floor(clock.now() / 1000);

  async function unchanged(caId: string, p: () => Promise<unknown>, code: string, message?: RegExp) {
    const store = internalsOf(fx.authority).store;
    const was = await store.cas.findById(caId);
    const rows = [await fx.rowCount('certificate_authorities'), await fx.rowCount('certificates')];
    const e = await expectPkiError(p(), code);
    if (message) expect(e.message).toMatch(message);
    expect(await store.cas.findById(caId)).toEqual(was);
    expect([await fx.rowCount('certificate_authorities'), await fx.rowCount('certificates')]).toEqual(rows);
  }

  it('an expired intermediate renewed: active again, its old leaf, CRL and OCSP verify; then its root', async () => {
    const a = fx.authority;
    const root = await a.cas.create(
      { name: 'exp-root', subject: 'CN=Exp Root,O=Lifecycle', keyType: 'ec-p256', validityMs: 60 * DAY },
      admin,
    );
    const int = await a.cas.create(
      {
        name: 'exp-int',
        subject: 'CN=Exp Int,O=Lifecycle',
        keyType: 'ec-p256',
        parentId: root.ca.id,
        validityMs: 30 * DAY,
        pathLen: 0,
      },
      admin,
    );
    const disabled = await a.cas.create(
      { name: 'exp-off', subject: 'CN=Exp Off', keyType: 'ec-p256', parentId: root.ca.id, validityMs: 30 * DAY },
      admin,
    );
    await a.cas.setStatus(disabled.ca.id, 'disabled', admin);
    const revoked = await a.cas.create(
      { name: 'exp-rev', subject: 'CN=Exp Rev', keyType: 'ec-p256', parentId: root.ca.id, validityMs: 30 * DAY },
      admin,
    );
    await a.cas.revokeCa(revoked.ca.id, 'superseded', admin);
    // a leaf that outlives its CA's certificate (the CA permits it): what the renewal must keep verifiable
    await a.cas.setLeafNotAfterBehavior(int.ca.id, 'permit', admin);
    const leaf = await a.issuance.issueWithKey(keyRequest(int.ca.id, 'leaf.exp.test', { validityMs: 50 * DAY }), admin);

    clock.advance(35 * DAY);
    expect((await a.cas.get(int.ca.id)).ca.status).toBe('expired');
    const validity = async () => (await a.statistics.caValidity()).find((c) => c.caId === int.ca.id);
    // what /metrics' pkim_ca_not_after_seconds reads
    expect(await validity()).toMatchObject({ status: 'expired', notAfter: int.ca.notAfter });
    await expectPkiError(a.issuance.issueWithKey(keyRequest(int.ca.id, 'no.exp.test'), admin), 'ca.not_active');
    const old = opensslVerify({
      leafPem: leaf.certificatePem,
      chainPems: [int.certificatePem!],
      rootPem: root.certificatePem!,
      atTime: at(),
    });
    expect(old.ok).toBe(false); // the control: under its old certificate the leaf no longer verifies
    // disabled (and expired): refused, enable it first; revoked: refused
    await unchanged(disabled.ca.id, () => a.cas.renew(disabled.ca.id, {}, admin), 'ca.not_active', /disabled/);
    await unchanged(disabled.ca.id, () => a.cas.rotate(disabled.ca.id, {}, admin), 'ca.not_active', /disabled/);
    await unchanged(revoked.ca.id, () => a.cas.renew(revoked.ca.id, {}, admin), 'ca.not_active', /revoked/);

    const renewed = await a.cas.renew(int.ca.id, {}, admin);
    expect(renewed.ca.status).toBe('active');
    expect((await a.cas.get(int.ca.id)).ca.status).toBe('active');
    expect((await a.cas.list()).find((c) => c.id === int.ca.id)?.status).toBe('active');
    expect(await validity()).toMatchObject({ status: 'active', notAfter: renewed.ca.notAfter });
    expect(renewed.ca.notAfter).toBeGreaterThan(at() * 1000);
    const events = await a.audit.list({ target: int.ca.id, action: 'ca.renewed', limit: 5 });
    expect(events.map((e) => e.details)).toEqual([
      expect.objectContaining({ wasExpired: true, previousSerial: parseCertificate(int.certificatePem!).serialHex }),
    ]);
    const v = opensslVerify({
      leafPem: leaf.certificatePem,
      chainPems: [renewed.certificatePem!],
      rootPem: root.certificatePem!,
      purpose: 'sslserver',
      atTime: at(),
    });
    expect(v.ok, v.output).toBe(true);
    const g = goVerify({
      leafPem: leaf.certificatePem,
      intermediatesPems: [renewed.certificatePem!],
      rootPem: root.certificatePem!,
      dnsName: 'leaf.exp.test',
      keyUsage: 'serverAuth',
      atTime: at(),
    });
    expect(g.ok, g.output).toBe(true);
    // it signs again: a new leaf; the old one revoked — on its CRL, revoked in OCSP (openssl reads both)
    const again = await a.issuance.issueWithKey(keyRequest(int.ca.id, 'again.exp.test'), admin);
    await a.certificates.revoke(leaf.certificate.id, 'superseded', admin);
    const crlDer = (await a.crl.generate(int.ca.id, admin)).der;
    const crl = opensslCrlVerifyOnly(crlDer, renewed.certificatePem!);
    expect(crl.ok, crl.text).toBe(true);
    const go = goCrlVerify(crlDer, renewed.certificatePem!);
    expect(go.ok, go.output).toBe(true);
    expect([...go.entries.keys()]).toEqual([bare(leaf.certificate.serialHex)]);
    // openssl's -crl_check with the renewed certificate and its CRL: the new leaf passes, the revoked one does not
    const withCrl = (leafPem: string) =>
      opensslVerify({
        leafPem,
        chainPems: [renewed.certificatePem!],
        rootPem: root.certificatePem!,
        crlPems: [crlPem(crlDer)],
        atTime: at(),
      });
    // (-crl_check checks the leaf only: the root's CRL is not needed)
    const ok = withCrl(again.certificatePem);
    expect(ok.ok, ok.output).toBe(true);
    expect(withCrl(leaf.certificatePem).output).toMatch(/certificate revoked/);
    const answer = await a.ocsp.respond(
      opensslOcspRequest({ issuerPem: renewed.certificatePem!, leafPem: leaf.certificatePem }),
    );
    const check = opensslOcspCheck({
      responseDer: answer.der,
      issuerPem: renewed.certificatePem!,
      caFilePem: root.certificatePem!,
      leafPem: leaf.certificatePem,
      atTime: at(),
    });
    expect(check.ok, check.output).toBe(true);
    expect(check.output).toMatch(/: revoked\b/);

    // past the root's end too: the intermediate waits for its parent; the root renewed (self-signed), then it
    clock.advance(30 * DAY);
    expect((await a.cas.get(root.ca.id)).ca.status).toBe('expired');
    await unchanged(int.ca.id, () => a.cas.renew(int.ca.id, {}, admin), 'ca.not_active', /expired/);
    const newRoot = await a.cas.renew(root.ca.id, { validityMs: 3650 * DAY }, admin);
    expect(newRoot.ca.status).toBe('active');
    const newInt = await a.cas.renew(int.ca.id, { validityMs: 365 * DAY }, admin);
    const chain = opensslVerify({
      leafPem: newInt.certificatePem!,
      rootPem: newRoot.certificatePem!,
      purpose: 'any',
      atTime: at(),
    });
    expect(chain.ok, chain.output).toBe(true);
    const rootCrl = opensslCrlVerifyOnly((await a.crl.generate(root.ca.id, admin)).der, newRoot.certificatePem!);
    expect(rootCrl.ok, rootCrl.text).toBe(true);
  });

  it('an expired root and intermediate rotated: successors, no cross certificate from the old root', async () => {
    const a = fx.authority;
    const root = await a.cas.create(
      { name: 'xexp-root', subject: 'CN=XExp Root', keyType: 'ec-p256', validityMs: 3650 * DAY },
      admin,
    );
    const int = await a.cas.create(
      { name: 'xexp-int', subject: 'CN=XExp Int', keyType: 'ec-p256', parentId: root.ca.id, validityMs: 10 * DAY },
      admin,
    );
    const short = await a.cas.create(
      { name: 'xexp-short', subject: 'CN=XExp Short', keyType: 'ec-p256', validityMs: 10 * DAY },
      admin,
    );
    clock.advance(11 * DAY);
    const ri = await a.cas.rotate(int.ca.id, {}, admin);
    expect(ri.ca).toMatchObject({ status: 'active', parentId: root.ca.id, predecessorId: int.ca.id });
    const v = opensslVerify({ leafPem: ri.certificatePem!, rootPem: root.certificatePem!, atTime: at() });
    expect(v.ok, v.output).toBe(true);
    const rr = await a.cas.rotate(short.ca.id, {}, admin);
    expect(rr.crossCertificatePem).toBeNull();
    expect(rr.ca).toMatchObject({ status: 'active', predecessorId: short.ca.id });
    const self = opensslVerify({ leafPem: rr.certificatePem!, rootPem: rr.certificatePem!, atTime: at() });
    expect(self.ok, self.output).toBe(true);
    const events = await a.audit.list({ target: short.ca.id, action: 'ca.rotated', limit: 5 });
    expect(events.map((e) => e.details)).toEqual([expect.objectContaining({ predecessorExpired: true })]);
  });
});
