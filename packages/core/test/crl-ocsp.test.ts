import { beforeAll, describe, expect, it } from 'vitest';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { AsnConvert } from '@peculiar/asn1-schema';
import { OCSPRequest } from '@peculiar/asn1-ocsp';
import { PkiError, REVOCATION_REASONS } from '@pkim/shared';
import {
  buildCrl,
  buildOcspResponse,
  BUILT_IN_PROFILES,
  issueCertificate,
  ocspErrorResponse,
  ocspIssuerHashes,
  OCSP_HASH_OIDS,
  parseCertificate,
  parseCrl,
  parseOcspRequest,
  planCertificate,
  toPem,
  verifyCrlSignature,
} from '../src/index';
import {
  certtoolCrlVerify,
  goCrlVerify,
  opensslCrlVerify,
  opensslCrlVerifyOnly,
  opensslOcspCheck,
  opensslRaw,
  opensslVerify,
  withTempDir,
} from '../../../tests/support/verifiers';
import { cachedKey, DAY, leafInput, makeIntermediate, makeRoot, makeTestKey, type IssuedCa } from './helpers';

const now = Date.now();
let root: IssuedCa;
let inter: IssuedCa;
const leaves: { der: Uint8Array; pem: string; serialHex: string }[] = [];

beforeAll(async () => {
  root = await makeRoot(cachedKey('rsa-2048'), now);
  inter = await makeIntermediate(root, cachedKey('ec-p256'), now);
  for (let i = 0; i < 3; i++) {
    const der = await issueCertificate(
      planCertificate(
        leafInput(inter, makeTestKey('ec-p256').publicKey, now, {
          sans: { dns: [`h${i}.example.com`] },
          subject: [{ type: 'CN', value: `h${i}.example.com` }],
        }),
      ),
      inter.key.sign,
      { now },
    );
    leaves.push({ der, pem: toPem(der, 'CERTIFICATE'), serialHex: parseCertificate(der).serialHex });
  }
}, 60_000);

describe('CRL', () => {
  it.each([
    [
      'the RSA root',
      () => root,
      () => [
        {
          serialHex: parseCertificate(inter.der).serialHex,
          revokedAt: now - 1000,
          reason: REVOCATION_REASONS.cACompromise,
        },
      ],
    ],
    [
      'the EC intermediate',
      () => inter,
      () => [
        { serialHex: leaves[0]!.serialHex, revokedAt: now - 5000, reason: REVOCATION_REASONS.keyCompromise },
        { serialHex: leaves[1]!.serialHex, revokedAt: now - 4000 },
        { serialHex: '00ff01', revokedAt: now - 3000, reason: REVOCATION_REASONS.superseded },
      ],
    ],
  ] as const)('builds a v2 CRL for %s that openssl verifies, listing serials and reasons', async (_l, ca, entries) => {
    const issuer = ca();
    const crl = await buildCrl(
      {
        issuer: { certificateDer: issuer.der, keyType: issuer.key.keyType },
        thisUpdate: now,
        nextUpdate: now + 7 * DAY,
        crlNumber: 42n,
        entries: [...entries()],
      },
      issuer.key.sign,
    );
    const v = opensslCrlVerify(crl, issuer.pem);
    expect(v.ok, v.text).toBe(true);
    expect(v.text).toMatch(/Version 2/);
    expect(v.text).toMatch(/X509v3 CRL Number:\s+42/);
    expect(v.text).toMatch(/Authority Key Identifier:\s+(keyid:)?([0-9A-F]{2}:){19}[0-9A-F]{2}/);
    expect(v.text).toContain(
      parseCertificate(issuer.der).subjectKeyIdentifierHex!.toUpperCase().match(/../g)!.join(':'),
    );
    for (const e of entries()) {
      expect(v.text.toLowerCase()).toContain(`serial number: ${e.serialHex.replace(/^00/, '')}`);
    }
    const reasonTexts = {
      [REVOCATION_REASONS.keyCompromise]: 'Key Compromise',
      [REVOCATION_REASONS.cACompromise]: 'CA Compromise',
      [REVOCATION_REASONS.superseded]: 'Superseded',
    } as Record<number, string>;
    for (const e of entries() as { reason?: number }[]) if (e.reason) expect(v.text).toContain(reasonTexts[e.reason]);
    const parsed = parseCrl(crl);
    expect(parsed.crlNumber).toBe(42);
    expect(parsed.thisUpdate).toBe(Math.floor(now / 1000) * 1000);
    expect(parsed.nextUpdate).toBe(Math.floor((now + 7 * DAY) / 1000) * 1000);
    expect(parsed.entries).toEqual(
      entries().map((e) => ({
        serialHex: e.serialHex.replace(/^00/, ''),
        revokedAt: Math.floor(e.revokedAt / 1000) * 1000,
        ...((e as { reason?: number }).reason ? { reason: (e as { reason?: number }).reason } : {}),
      })),
    );
    expect(verifyCrlSignature(crl, issuer.key.publicKey)).toBe(true);
    expect(verifyCrlSignature(crl, root === issuer ? inter.key.publicKey : root.key.publicKey)).toBe(false);

    // GnuTLS certtool and Go crypto/x509 agree (opensslCrlVerify already required all three)
    const ct = certtoolCrlVerify(crl, issuer.pem);
    expect(ct.ok, ct.output).toBe(true);
    expect(ct.output).toMatch(/Version: 2/);
    const go = goCrlVerify(crl, issuer.pem);
    expect(go.ok, go.output).toBe(true);
    expect(go.output).toMatch(/CRL number 42,/);
    expect(new Map([...go.entries].map(([k, r]) => [k.replace(/^0+/, ''), r]))).toEqual(
      new Map(entries().map((e) => [e.serialHex.replace(/^0+/, ''), (e as { reason?: number }).reason ?? -1] as const)),
    );
    // positive controls: each verifier rejects the CRL under another issuer and when one byte is flipped
    const other = root === issuer ? inter : root;
    const tampered = new Uint8Array(crl);
    tampered[tampered.length - 5]! ^= 0x01;
    for (const [bytes, pem] of [
      [crl, other.pem],
      [tampered, issuer.pem],
    ] as const) {
      expect(opensslCrlVerifyOnly(bytes, pem).ok).toBe(false);
      expect(certtoolCrlVerify(bytes, pem).ok).toBe(false);
      expect(goCrlVerify(bytes, pem).ok).toBe(false);
      expect(opensslCrlVerify(bytes, pem).ok).toBe(false);
    }
  });

  it('makes openssl verify -crl_check reject the revoked leaf and accept a non-revoked one', async () => {
    const crl = await buildCrl(
      {
        issuer: { certificateDer: inter.der, keyType: 'ec-p256' },
        thisUpdate: now - 1000,
        nextUpdate: now + DAY,
        crlNumber: 1,
        entries: [{ serialHex: leaves[0]!.serialHex, revokedAt: now - 1000, reason: 1 }],
      },
      inter.key.sign,
    );
    const rootCrl = await buildCrl(
      {
        issuer: { certificateDer: root.der, keyType: 'rsa-2048' },
        thisUpdate: now - 1000,
        nextUpdate: now + DAY,
        crlNumber: 1,
        entries: [],
      },
      root.key.sign,
    );
    const crlPems = [toPem(crl, 'X509 CRL'), toPem(rootCrl, 'X509 CRL')];
    const revoked = opensslVerify({
      leafPem: leaves[0]!.pem,
      chainPems: [inter.pem],
      rootPem: root.pem,
      purpose: 'sslserver',
      crlPems,
    });
    expect(revoked.ok).toBe(false);
    expect(revoked.output).toMatch(/certificate revoked/);
    const good = opensslVerify({
      leafPem: leaves[2]!.pem,
      chainPems: [inter.pem],
      rootPem: root.pem,
      purpose: 'sslserver',
      crlPems,
    });
    expect(good.ok, good.output).toBe(true);
  });

  it('rejects an unknown reason code', async () => {
    await expect(
      buildCrl(
        {
          issuer: { certificateDer: inter.der, keyType: 'ec-p256' },
          thisUpdate: now,
          nextUpdate: now + DAY,
          crlNumber: 1,
          entries: [{ serialHex: '01', revokedAt: now, reason: 7 }],
        },
        inter.key.sign,
      ),
    ).rejects.toMatchObject({ code: 'revocation.invalid_reason' });
  });
});

/** `openssl ocsp -reqout` for a leaf (with a nonce). */
function opensslOcspRequest(leafPem: string, issuerPem: string, extra: string[] = []): Uint8Array {
  return withTempDir((dir) => {
    writeFileSync(join(dir, 'leaf.pem'), leafPem);
    writeFileSync(join(dir, 'issuer.pem'), issuerPem);
    const r = opensslRaw([
      'ocsp',
      ...extra,
      '-issuer',
      join(dir, 'issuer.pem'),
      '-cert',
      join(dir, 'leaf.pem'),
      '-reqout',
      join(dir, 'req.der'),
    ]);
    if (r.status !== 0) throw new Error(r.output);
    return new Uint8Array(readFileSync(join(dir, 'req.der')));
  });
}

describe('OCSP', () => {
  it.each([
    ['SHA-1', [], OCSP_HASH_OIDS.sha1],
    ['SHA-256', ['-sha256'], OCSP_HASH_OIDS.sha256],
  ] as const)('parses an openssl %s request and matches the issuer hashes', (_l, extra, oid) => {
    const req = parseOcspRequest(opensslOcspRequest(leaves[0]!.pem, inter.pem, [...extra]));
    expect(req.requests).toHaveLength(1);
    const r = req.requests[0]!;
    expect(r.hashAlgorithmOid).toBe(oid);
    expect(r.serialHex).toBe(leaves[0]!.serialHex);
    const h = ocspIssuerHashes(inter.der, oid);
    expect(r.issuerNameHash).toEqual(h.nameHash);
    expect(r.issuerKeyHash).toEqual(h.keyHash);
    expect(req.nonce?.length).toBeGreaterThan(8);
  });

  it.each([
    ['good', 'good', undefined, /Cert Status: good/],
    [
      'revoked with reason',
      'revoked',
      REVOCATION_REASONS.keyCompromise,
      /Cert Status: revoked\s+Revocation Time: [^\n]+\s+Revocation Reason: keyCompromise/,
    ],
    ['unknown', 'unknown', undefined, /Cert Status: unknown/],
  ] as const)(
    'builds a %s response that openssl ocsp verifies, echoing the nonce',
    async (_l, status, reason, expected) => {
      const reqDer = opensslOcspRequest(leaves[1]!.pem, inter.pem);
      const req = parseOcspRequest(reqDer);
      const resp = await buildOcspResponse(
        {
          responderCertDer: inter.der,
          responderKeyType: 'ec-p256',
          producedAt: now,
          nonce: req.nonce,
          responses: req.requests.map((r) => ({
            certIdDer: r.certIdDer,
            status,
            thisUpdate: now - 60_000,
            nextUpdate: now + DAY,
            ...(status === 'revoked' ? { revokedAt: now - 3_600_000, reason } : {}),
          })),
        },
        inter.key.sign,
      );
      const v = opensslOcspCheck({
        responseDer: resp,
        issuerPem: inter.pem,
        caFilePem: root.pem,
        leafPem: leaves[1]!.pem,
        requestDer: reqDer,
      });
      expect(v.ok, v.output).toBe(true);
      expect(v.output).toMatch(expected);
      expect(v.output).not.toMatch(/WARNING: no nonce|nonce verify error/i);
      expect(v.output).toMatch(/Responder Id: [0-9A-F]{40}/);
      expect(v.output).toContain(`OCSP Nonce: \n            ${Buffer.from(req.nonce!).toString('hex').toUpperCase()}`);
    },
  );

  it('answers a request without nonce; openssl prints the revoked status for the leaf', async () => {
    const req = parseOcspRequest(opensslOcspRequest(leaves[0]!.pem, inter.pem, ['-no_nonce']));
    expect(req.nonce).toBeUndefined();
    const resp = await buildOcspResponse(
      {
        responderCertDer: inter.der,
        responderKeyType: 'ec-p256',
        producedAt: now,
        responses: [
          {
            certIdDer: req.requests[0]!.certIdDer,
            status: 'revoked',
            revokedAt: now - 1000,
            reason: REVOCATION_REASONS.superseded,
            thisUpdate: now - 1000,
            nextUpdate: now + DAY,
          },
        ],
      },
      inter.key.sign,
    );
    const v = opensslOcspCheck({
      responseDer: resp,
      issuerPem: inter.pem,
      caFilePem: root.pem,
      leafPem: leaves[0]!.pem,
    });
    expect(v.ok, v.output).toBe(true);
    expect(v.output).toMatch(/leaf\.pem: revoked\s+This Update: [^\n]+\s+Next Update: [^\n]+\s+Reason: superseded/);
  });

  it('detects a response whose nonce differs from the request (openssl reports a nonce error)', async () => {
    const reqDer = opensslOcspRequest(leaves[1]!.pem, inter.pem);
    const req = parseOcspRequest(reqDer);
    const wrong = new Uint8Array(req.nonce!);
    wrong[wrong.length - 1]! ^= 0xff;
    const resp = await buildOcspResponse(
      {
        responderCertDer: inter.der,
        responderKeyType: 'ec-p256',
        producedAt: now,
        nonce: wrong,
        responses: [{ certIdDer: req.requests[0]!.certIdDer, status: 'good', thisUpdate: now }],
      },
      inter.key.sign,
    );
    const v = opensslOcspCheck({
      responseDer: resp,
      issuerPem: inter.pem,
      caFilePem: root.pem,
      leafPem: leaves[1]!.pem,
      requestDer: reqDer,
    });
    expect(v.output).toMatch(/nonce verify error/i);
  });

  it('signs with a delegated ocsp-signing responder certificate included in the response', async () => {
    const responderKey = makeTestKey('ed25519');
    const responderDer = await issueCertificate(
      planCertificate({
        ...leafInput(inter, responderKey.publicKey, now),
        profile: BUILT_IN_PROFILES['ocsp-signing'],
        subject: [{ type: 'CN', value: 'OCSP Responder' }],
        sans: {},
        notAfter: now + 30 * DAY,
      }),
      inter.key.sign,
      { now },
    );
    const reqDer = opensslOcspRequest(leaves[2]!.pem, inter.pem);
    const req = parseOcspRequest(reqDer);
    const resp = await buildOcspResponse(
      {
        responderCertDer: responderDer,
        responderKeyType: 'ed25519',
        producedAt: now,
        nonce: req.nonce,
        certs: [responderDer],
        responses: [{ certIdDer: req.requests[0]!.certIdDer, status: 'good', thisUpdate: now }],
      },
      responderKey.sign,
    );
    const v = opensslOcspCheck({
      responseDer: resp,
      issuerPem: inter.pem,
      caFilePem: root.pem,
      leafPem: leaves[2]!.pem,
      requestDer: reqDer,
    });
    expect(v.ok, v.output).toBe(true);
    expect(v.output).toMatch(/Cert Status: good/);
  });

  it('reads requests as the schema parser does: several certificates, nonce or none, SHA-1 or SHA-256', () => {
    const two = withTempDir((dir) => {
      writeFileSync(join(dir, 'a.pem'), leaves[0]!.pem);
      writeFileSync(join(dir, 'b.pem'), leaves[1]!.pem);
      writeFileSync(join(dir, 'issuer.pem'), inter.pem);
      const args = ['ocsp', '-issuer', join(dir, 'issuer.pem'), '-cert', join(dir, 'a.pem')];
      const r = opensslRaw([...args, '-cert', join(dir, 'b.pem'), '-reqout', join(dir, 'req.der')]);
      if (r.status !== 0) throw new Error(r.output);
      return new Uint8Array(readFileSync(join(dir, 'req.der')));
    });
    const requests = [
      two,
      opensslOcspRequest(leaves[0]!.pem, inter.pem, ['-no_nonce']),
      opensslOcspRequest(leaves[2]!.pem, inter.pem, ['-sha256']),
    ];
    for (const der of requests) {
      const ours = parseOcspRequest(der);
      const theirs = AsnConvert.parse(der, OCSPRequest);
      expect(ours.requests.map((r) => r.serialHex)).toEqual(
        theirs.tbsRequest.requestList.map((r) =>
          Buffer.from(r.reqCert.serialNumber).toString('hex').replace(/^00/, ''),
        ),
      );
      expect(ours.requests.map((r) => Buffer.from(r.certIdDer).toString('hex'))).toEqual(
        theirs.tbsRequest.requestList.map((r) => Buffer.from(AsnConvert.serialize(r.reqCert)).toString('hex')),
      );
      const nonce = theirs.tbsRequest.requestExtensions?.find((e) => e.extnID === '1.3.6.1.5.5.7.48.1.2');
      expect(ours.nonce && Buffer.from(ours.nonce).toString('hex')).toEqual(
        nonce && Buffer.from(nonce.extnValue.buffer).toString('hex'),
      );
    }
    expect(parseOcspRequest(two).requests.map((r) => r.serialHex)).toEqual([
      leaves[0]!.serialHex,
      leaves[1]!.serialHex,
    ]);
  });

  it('refuses requests that are not exactly one well-formed OCSPRequest', () => {
    const good = opensslOcspRequest(leaves[0]!.pem, inter.pem, ['-no_nonce']);
    const bad = [
      Buffer.concat([good, Buffer.from([0x05, 0x00])]), // trailing bytes
      Buffer.from(good).fill(0x31, 0, 1), // a SET, not a SEQUENCE
      good.subarray(0, good.length - 1), // truncated
      Buffer.from('3000', 'hex'), // no tbsRequest
      Buffer.from('30043002' + '3000', 'hex'), // an empty request list
    ];
    for (const der of bad) {
      let code: string | undefined;
      try {
        parseOcspRequest(der);
      } catch (e) {
        code = (e as PkiError).code;
      }
      expect(code, Buffer.from(der).toString('hex')).toBe('ocsp.malformed_request');
    }
  });

  it('rejects garbage as ocsp.malformed_request and encodes error responses', () => {
    expect(() => parseOcspRequest(new Uint8Array([1, 2, 3, 4]))).toThrow(PkiError);
    try {
      parseOcspRequest(new Uint8Array(Buffer.from('garbage request')));
    } catch (e) {
      expect((e as PkiError).code).toBe('ocsp.malformed_request');
    }
    expect(Buffer.from(ocspErrorResponse('malformedRequest')).toString('hex')).toBe('30030a0101');
    expect(Buffer.from(ocspErrorResponse('tryLater')).toString('hex')).toBe('30030a0103');
    const text = withTempDir((dir) => {
      writeFileSync(join(dir, 'r.der'), ocspErrorResponse('unauthorized'));
      return opensslRaw(['ocsp', '-respin', join(dir, 'r.der'), '-resp_text', '-noverify']).output;
    });
    expect(text).toMatch(/unauthorized \(6\)/);
  });
});
