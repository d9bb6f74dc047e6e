// Finding 1 of issue #9: a certificate revoked with `removeFromCRL` passed `openssl verify -crl_check`
// and `aACompromise` gave an OCSP reason openssl calls UNKNOWN. Only the RFC 5280 reasons valid for
// public-key certificates in full CRLs are accepted; holds are refused (revocation is final).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { toPem } from '@pkim/core';
import { ACCEPTED_REVOCATION_REASONS, PkiError, REVOCATION_REASONS } from '@pkim/shared';
import { opensslOcspCheck, opensslOcspRequest, opensslRaw, opensslVerify } from '../support/verifiers';
import { runPkim } from '../support/cli-in-process';
import { ACTORS, csrFor, openSecurityFixture, type SecurityFixture } from './security-support';

/** OpenSSL's CRL text names of the reason codes (absent = unspecified). */
const CRL_TEXT: Record<string, string> = {
  keyCompromise: 'Key Compromise',
  cACompromise: 'CA Compromise',
  affiliationChanged: 'Affiliation Changed',
  superseded: 'Superseded',
  cessationOfOperation: 'Cessation Of Operation',
  privilegeWithdrawn: 'Privilege Withdrawn',
};

describe('finding 1: revocation reasons that un-revoke or are unknown are refused', () => {
  let s: SecurityFixture;
  const issue = async (cn: string) => {
    const r = await s.http('POST', `/api/v1/cas/${s.intId}/sign`, {
      token: s.operatorToken,
      body: { csr: csrFor(cn), profile: 'tls-server', ttl: '30d' },
    });
    expect(r.status).toBe(201);
    return r.json();
  };
  const revoke = (id: string, reason: string) =>
    s.http('POST', `/api/v1/certificates/${id}/revoke`, { token: s.operatorToken, body: { reason } });
  const crlPem = async () => toPem(new Uint8Array((await s.http('GET', `/crl/${s.intId}.crl`)).raw), 'X509 CRL');
  const ocsp = async (leafPem: string) => {
    const r = await s.http('POST', '/ocsp', {
      headers: { 'content-type': 'application/ocsp-request' },
      body: opensslOcspRequest({ issuerPem: s.intPem, leafPem }),
    });
    const check = opensslOcspCheck({
      responseDer: new Uint8Array(r.raw),
      issuerPem: s.intPem,
      caFilePem: s.rootPem,
      leafPem,
    });
    expect(check.output).toMatch(/Response verify OK/);
    return check.output;
  };

  beforeAll(async () => {
    s = await openSecurityFixture();
  });
  afterAll(async () => {
    await s?.close();
  });

  for (const reason of ['removeFromCRL', 'aACompromise', 'certificateHold']) {
    it(`refuses ${reason} over REST, tRPC and the authority, and leaves the certificate active`, async () => {
      const leaf = await issue(`${reason.toLowerCase()}.example.test`);
      const r = await revoke(leaf.id, reason);
      expect(r.status).toBe(400);
      expect(r.json<{ code: string }>().code).toBe('input.invalid');

      const trpc = await s.http('POST', '/trpc/certificate.revoke', {
        token: s.operatorToken,
        body: { ref: leaf.id, reason },
      });
      expect(trpc.status).toBe(400);

      // the authority itself refuses it (a transport that forgot the schema cannot get through)
      const err = await s.authority.certificates
        .revoke(leaf.id, reason as 'unspecified', ACTORS.admin)
        .catch((e: unknown) => e);
      expect(err).toBeInstanceOf(PkiError);
      expect((err as PkiError).code).toBe('revocation.invalid_reason');
      const caErr = await s.authority.cas
        .revokeCa(s.intId, reason as 'unspecified', ACTORS.admin)
        .catch((e: unknown) => e);
      expect((caErr as PkiError).code).toBe('revocation.invalid_reason');

      expect((await s.authority.certificates.find(leaf.id)).status).toBe('active');
      expect(await ocsp(leaf.certificate)).toMatch(/leaf\.pem: good/);
    });
  }

  for (const [reason, why] of [
    ['removeFromCRL', /delta CRLs/],
    ['aACompromise', /attribute certificates/],
    ['certificateHold', /holds are not supported/],
  ] as const) {
    it(`the CLI refuses --reason ${reason} with one error line and exit ≠ 0`, async () => {
      const leaf = await issue(`cli-${reason.toLowerCase()}.example.test`);
      const r = runPkim(['cert', 'revoke', leaf.id, '--reason', reason], { dataDir: s.fx.dataDir });
      expect(r.code).not.toBe(0);
      expect(r.stderr.trim()).toMatch(/^error: revocation\.invalid_reason: [^\n]*$/);
      expect(r.stderr).toMatch(why);
      expect((await s.authority.certificates.find(leaf.id)).status).toBe('active');
    });
  }

  it('openssl verify -crl_check refuses a certificate revoked with each accepted reason; OCSP agrees', async () => {
    const leaves: { reason: (typeof ACCEPTED_REVOCATION_REASONS)[number]; pem: string }[] = [];
    for (const reason of ACCEPTED_REVOCATION_REASONS) {
      const leaf = await issue(`${reason.toLowerCase()}.accepted.example.test`);
      const r = await revoke(leaf.id, reason);
      expect(r.status).toBe(200);
      leaves.push({ reason, pem: leaf.certificate });
    }
    const crl = await crlPem();
    const crlText = opensslRaw(['crl', '-noout', '-text'], Buffer.from(crl)).output;
    for (const { reason, pem } of leaves) {
      const v = opensslVerify({ leafPem: pem, chainPems: [s.intPem], rootPem: s.rootPem, crlPems: [crl] });
      expect(v.ok, `${reason}: ${v.output}`).toBe(false);
      expect(v.output).toMatch(/certificate revoked/);
      const serial = opensslRaw(['x509', '-noout', '-serial'], Buffer.from(pem)).stdout.trim().split('=')[1]!;
      const entry = crlText.split('Serial Number: ').find((e) => e.toUpperCase().startsWith(serial.toUpperCase()))!;
      expect(entry, `CRL entry for ${reason}`).toBeDefined();
      const o = await ocsp(pem);
      expect(o).toMatch(/leaf\.pem: revoked/);
      if (reason === 'unspecified') {
        expect(entry).not.toMatch(/Reason Code/);
        expect(o).not.toMatch(/Reason:/); // absent in both: unspecified
      } else {
        expect(entry).toContain(CRL_TEXT[reason]);
        // the same code as the CRL (openssl's OCSP printer has no name for 9, privilegeWithdrawn)
        const code = REVOCATION_REASONS[reason].toString(16);
        expect(o).toMatch(new RegExp(`Revocation Reason: \\S+ \\(0x${code}\\)`));
      }
    }
  });

  it('rows stored with a now-refused reason by an old version are published unspecified, never unrevoked', async () => {
    const leaf = await issue('legacy.example.test');
    expect((await revoke(leaf.id, 'superseded')).status).toBe(200);
    const db = new Database(join(s.fx.dataDir, 'pkim.db'));
    db.prepare("UPDATE certificates SET revocation_reason = 'removeFromCRL' WHERE id = ?").run(leaf.id);
    db.close();
    // a new revocation bumps the CRL so the cache is rebuilt from the rows
    expect((await revoke((await issue('bump.example.test')).id, 'superseded')).status).toBe(200);
    const v = opensslVerify({
      leafPem: leaf.certificate,
      chainPems: [s.intPem],
      rootPem: s.rootPem,
      crlPems: [await crlPem()],
    });
    expect(v.ok).toBe(false);
    expect(v.output).toMatch(/certificate revoked/);
    const o = await ocsp(leaf.certificate);
    expect(o).toMatch(/leaf\.pem: revoked/);
    expect(o).not.toMatch(/Reason:/); // absent in both: unspecified
  });
});
