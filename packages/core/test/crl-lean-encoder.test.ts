// The CRL is encoded by a lean DER writer (CrlEntryWriter: no object per entry, so 1,000,000 entries fit in about
// 45 MB). Here every byte of its TBSCertList is compared with the same CRL built from the @peculiar/asn1-x509 classes,
// over fixed edge cases and random entries (fast-check), and a large CRL is read back by openssl.
import { beforeAll, describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { AsnConvert, OctetString } from '@peculiar/asn1-schema';
import {
  AlgorithmIdentifier,
  AuthorityKeyIdentifier,
  CRLReason,
  Extension,
  KeyIdentifier,
  Name,
  RevokedCertificate,
  TBSCertList,
  Time,
  Version,
  id_ce_authorityKeyIdentifier,
  id_ce_cRLNumber,
  id_ce_cRLReasons,
} from '@peculiar/asn1-x509';
import { buildCrl, CrlEntryWriter, type CrlEntryInput } from '../src/index';
import { issuerFactsOf } from '../src/certificate-parser';
import { signatureAlgorithmDer } from '../src/key-inspector';
import { serialHexToBytes } from '../src/serial-number';
import { opensslCrlVerify } from '../../../tests/support/verifiers';
import { cachedKey, DAY, makeIntermediate, makeRoot, type IssuedCa } from './helpers';

const ab = (u: Uint8Array): ArrayBuffer => u.buffer.slice(u.byteOffset, u.byteOffset + u.byteLength) as ArrayBuffer;
const sec = (ms: number): Date => new Date(Math.floor(ms / 1000) * 1000);

/** the TBSCertList as the library encodes it (what buildCrl produced before the lean writer) */
function referenceTbs(issuer: IssuedCa, thisUpdate: number, nextUpdate: number, n: bigint, entries: CrlEntryInput[]) {
  const facts = issuerFactsOf(issuer.der);
  const entriesAsn = entries.map(
    (e) =>
      new RevokedCertificate({
        userCertificate: ab(serialHexToBytes(e.serialHex)),
        revocationDate: new Time(sec(e.revokedAt)),
        crlEntryExtensions: e.reason
          ? [
              new Extension({
                extnID: id_ce_cRLReasons,
                critical: false,
                // eslint-disable-next-line @typescript-eslint/no-unsafe-enum-assignment -- RFC 5280 reason codes
                extnValue: new OctetString(AsnConvert.serialize(new CRLReason(e.reason))),
              }),
            ]
          : undefined,
      }),
  );
  const tbs = new TBSCertList({
    version: Version.v2,
    signature: AsnConvert.parse(signatureAlgorithmDer(issuer.key.keyType), AlgorithmIdentifier),
    issuer: AsnConvert.parse(facts.subjectDer, Name),
    thisUpdate: new Time(sec(thisUpdate)),
    nextUpdate: new Time(sec(nextUpdate)),
    revokedCertificates: entriesAsn.length ? entriesAsn : undefined,
    crlExtensions: [
      new Extension({
        extnID: id_ce_authorityKeyIdentifier,
        critical: false,
        extnValue: new OctetString(
          AsnConvert.serialize(
            new AuthorityKeyIdentifier({
              keyIdentifier: new KeyIdentifier(ab(facts.subjectKeyIdentifier)),
            }),
          ),
        ),
      }),
      new Extension({ extnID: id_ce_cRLNumber, critical: false, extnValue: new OctetString(integerContent(n)) }),
    ],
  });
  return new Uint8Array(AsnConvert.serialize(tbs));
}

/** INTEGER TLV of a non-negative bigint, written out independently of der-writer */
function integerContent(n: bigint): ArrayBuffer {
  let hex = n.toString(16);
  if (hex.length % 2) hex = `0${hex}`;
  if (parseInt(hex.slice(0, 2), 16) & 0x80) hex = `00${hex}`;
  const body = Buffer.from(hex, 'hex');
  return ab(Buffer.concat([Buffer.of(0x02, body.length), body]));
}

let root: IssuedCa;
let inter: IssuedCa;
const now = Date.now() - 60_000;

beforeAll(async () => {
  root = await makeRoot(cachedKey('rsa-2048'), now);
  inter = await makeIntermediate(root, cachedKey('ec-p256'), now);
}, 60_000);

/** builds with the lean writer and returns the TBS it signed */
async function leanTbs(issuer: IssuedCa, thisUpdate: number, nextUpdate: number, n: bigint, e: CrlEntryInput[]) {
  let signed: Uint8Array | undefined;
  const crl = await buildCrl(
    {
      issuer: { certificateDer: issuer.der, keyType: issuer.key.keyType },
      thisUpdate,
      nextUpdate,
      crlNumber: n,
      entries: e,
    },
    (data) => {
      signed = data;
      return issuer.key.sign(data);
    },
  );
  return { tbs: signed!, crl };
}

const serialArb = fc.uint8Array({ minLength: 1, maxLength: 20 }).map(
  (b) =>
    Buffer.from(b)
      .toString('hex')
      .replace(/^(00)+/, '') || '01',
);
const entryArb: fc.Arbitrary<CrlEntryInput> = fc.record(
  {
    serialHex: serialArb,
    // 1970 … 2200: UTCTime until 2049, GeneralizedTime from 2050
    revokedAt: fc.integer({ min: 0, max: 7_258_118_400_000 }),
    reason: fc.constantFrom(0, 1, 2, 3, 4, 5, 6, 8, 9, 10),
  },
  { requiredKeys: ['serialHex', 'revokedAt'] },
);

describe('CRL lean encoder', () => {
  it('writes the same TBSCertList bytes as the @peculiar/asn1-x509 classes (edge cases)', async () => {
    const entries: CrlEntryInput[] = [
      { serialHex: '01', revokedAt: now },
      { serialHex: '7f', revokedAt: now - 1, reason: 1 },
      { serialHex: '80', revokedAt: Date.UTC(2049, 11, 31, 23, 59, 59), reason: 10 },
      { serialHex: 'ff'.repeat(20), revokedAt: Date.UTC(2050, 0, 1), reason: 6 },
      { serialHex: '00ab', revokedAt: Date.UTC(1950, 0, 1), reason: 0 },
      { serialHex: '1234567890abcdef', revokedAt: now, reason: 9 },
    ];
    for (const [issuer, n] of [
      [root, 1n],
      [inter, 0x80n],
      [inter, 2n ** 70n],
    ] as const) {
      const { tbs } = await leanTbs(issuer, now, now + 7 * DAY, n, entries);
      expect(Buffer.from(tbs).toString('hex')).toBe(
        Buffer.from(referenceTbs(issuer, now, now + 7 * DAY, n, entries)).toString('hex'),
      );
    }
    // no entries: revokedCertificates is absent, not an empty SEQUENCE
    const { tbs } = await leanTbs(inter, now, now + DAY, 3n, []);
    expect(Buffer.from(tbs).equals(Buffer.from(referenceTbs(inter, now, now + DAY, 3n, [])))).toBe(true);
  });

  it('writes the same bytes as the library for random entries (fast-check)', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(entryArb, { maxLength: 40 }), fc.bigInt({ min: 0n, max: 2n ** 159n }), async (e, n) => {
        const { tbs } = await leanTbs(inter, now, now + DAY, n, e);
        expect(Buffer.from(tbs).equals(Buffer.from(referenceTbs(inter, now, now + DAY, n, e)))).toBe(true);
      }),
      { numRuns: 150 },
    );
  });

  it('refuses reason code 7 and codes outside 0-10 in the writer', () => {
    const w = new CrlEntryWriter();
    for (const reason of [7, 11, -1, 1.5]) {
      expect(() => w.add({ serialHex: '01', revokedAt: now, reason })).toThrow(/invalid CRL reason code/);
    }
    expect(w.count).toBe(0);
  });

  it('a CRL of 5,000 entries filled through the writer is read back by openssl (and certtool, Go)', async () => {
    const w = new CrlEntryWriter();
    for (let i = 1; i <= 5_000; i++) {
      w.add({ serialHex: (0x10_0000 + i).toString(16), revokedAt: now - i * 1000, reason: i % 3 === 0 ? 4 : 0 });
    }
    const crl = await buildCrl(
      {
        issuer: { certificateDer: inter.der, keyType: inter.key.keyType },
        thisUpdate: now,
        nextUpdate: now + DAY,
        crlNumber: 9,
        entries: w,
      },
      inter.key.sign,
    );
    const v = opensslCrlVerify(crl, inter.pem);
    expect(v.ok, v.text.slice(0, 500)).toBe(true);
    expect(v.text.match(/Serial Number:/g)).toHaveLength(5_000);
    expect(v.text.match(/Superseded/g)).toHaveLength(1666);
    // openssl prints entries in order: the third one
    expect(v.text).toMatch(
      /Serial Number: 100003\s+Revocation Date: [^\n]+\s+CRL entry extensions:\s+X509v3 CRL Reason Code:\s+Superseded/,
    );
  });
});
