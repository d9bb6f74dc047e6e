// Property-based tests (fast-check) of every parser of untrusted input in core: the hand-written DER reader, CSR
// decoding, PEM, DN strings and DER Names, OCSP requests and certificates. Random inputs and MUTATED valid inputs
// (bit flips, truncation, length-field tampering, insertions, deletions) must never crash or hang: the DER reader
// throws only its typed `DerError`, every public parser only a `PkiError` (no TypeError/RangeError leaking). The run
// count is bounded (no timed assertion). Differential: every CSR `decodeCsr` accepts — generated ones, and mutated
// CertificationRequestInfos that were then validly signed — is also accepted by @peculiar/asn1-schema with the same
// subject, public key and requested SANs. Counterexamples found are kept below as regression cases.
import { createHash } from 'node:crypto';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { AsnConvert } from '@peculiar/asn1-schema';
import { CertificationRequest } from '@peculiar/asn1-csr';
import { CertID, OCSPRequest, Request, TBSRequest, id_pkix_ocsp_nonce } from '@peculiar/asn1-ocsp';
import {
  AlgorithmIdentifier,
  Extension,
  Extensions,
  GeneralName,
  SubjectAlternativeName,
  id_ce_subjectAltName,
} from '@peculiar/asn1-x509';
import { OctetString } from '@peculiar/asn1-schema';
import { PkiError, type KeyType } from '@pkim/shared';
import {
  buildCsr,
  decodeCsr,
  decodeNameDer,
  encodeDn,
  formatDn,
  fromPem,
  parseCertificate,
  parseDn,
  parseOcspRequest,
  splitPemBundle,
  toPem,
  type DistinguishedName,
  type SubjectAltNames,
} from '../src/index';
import {
  DerError,
  STRING_TAGS,
  assertWellFormed,
  at,
  children,
  decodeOid,
  decodeString,
  raw,
  readTlv,
  readWhole,
  type Tlv,
} from '../src/der-reader';
import { decodeName, dnAttributeOid } from '../src/dn-codec';
import { bitString, integer, octetString, oid, seq, set, tlv } from '../src/der-writer';
import { SIGNATURE_ALGORITHMS, keyTypeFromSpki, signatureAlgorithmDer } from '../src/key-inspector';
import { parseCsr, type ParsedCsr } from '../src/csr-codec';
import { decodeGeneralNames } from '../src/extensions/subject-alt-name';
import { encodeGeneralNames } from '../src/general-names';
import { cachedKey, makeRoot } from './helpers';

const RUNS = Number(process.env.PKIM_FUZZ_RUNS ?? 400);
const CONFIG = { numRuns: RUNS, seed: Number(process.env.PKIM_FUZZ_SEED ?? 20261202) } as const;

/** Runs `fn`; any thrown value that is not `allowed` fails the property with its class and message. */
function expectOnly(allowed: (e: unknown) => boolean, what: string, fn: () => unknown): unknown {
  try {
    return fn();
  } catch (e) {
    if (allowed(e)) return undefined;
    const name = (e as Error)?.constructor?.name ?? typeof e;
    throw new Error(`${what} leaked ${name}: ${(e as Error)?.message ?? String(e)}`);
  }
}
const isPki = (e: unknown) => e instanceof PkiError && !(e instanceof DerError);
const isDer = (e: unknown) => e instanceof DerError;

// ---- seeds: valid inputs of every parser -------------------------------------------------------------------------

const KEY_TYPES: KeyType[] = ['ec-p256', 'ec-p384', 'ed25519', 'rsa-2048'];

async function csrFor(keyType: KeyType, subject: DistinguishedName, sans: SubjectAltNames = {}): Promise<Uint8Array> {
  const k = cachedKey(keyType);
  return buildCsr({ subject, sans, publicKey: k.publicKey, keyType }, k.sign);
}

function ocspRequestDer(serial: Uint8Array, nonce = true): Uint8Array {
  const certId = new CertID({
    hashAlgorithm: new AlgorithmIdentifier({ algorithm: '1.3.14.3.2.26', parameters: null }),
    issuerNameHash: new OctetString(createHash('sha1').update('issuer name').digest()),
    issuerKeyHash: new OctetString(createHash('sha1').update('issuer key').digest()),
    serialNumber: serial.buffer.slice(serial.byteOffset, serial.byteOffset + serial.byteLength) as ArrayBuffer,
  });
  const tbs = new TBSRequest({ requestList: [new Request({ reqCert: certId })] });
  if (nonce) {
    tbs.requestExtensions = [
      new Extension({
        extnID: id_pkix_ocsp_nonce,
        critical: false,
        extnValue: new OctetString(AsnConvert.serialize(new OctetString(Buffer.alloc(16, 7)))),
      }),
    ];
  }
  return new Uint8Array(AsnConvert.serialize(new OCSPRequest({ tbsRequest: tbs })));
}

/** Offsets of every length octet of every TLV in a valid DER value (targets of length-field tampering). */
function lengthOffsets(der: Uint8Array): number[] {
  const out: number[] = [];
  const walk = (t: Tlv) => {
    out.push(t.start + 1);
    if (t.tag & 0x20) for (const c of children(der, t)) walk(c);
  };
  walk(readWhole(der));
  return out;
}

type Mutation =
  | { kind: 'flip'; at: number; bit: number }
  | { kind: 'truncate'; at: number }
  | { kind: 'length'; which: number; value: readonly number[] }
  | { kind: 'insert'; at: number; bytes: Uint8Array }
  | { kind: 'delete'; at: number; n: number };

const mutationArb: fc.Arbitrary<Mutation> = fc.oneof(
  fc.record({ kind: fc.constant('flip' as const), at: fc.nat(), bit: fc.integer({ min: 0, max: 7 }) }),
  fc.record({ kind: fc.constant('truncate' as const), at: fc.nat() }),
  fc.record({
    kind: fc.constant('length' as const),
    which: fc.nat(),
    value: fc.oneof(
      fc.array(fc.integer({ min: 0, max: 255 }), { minLength: 1, maxLength: 1 }),
      fc.constant([0x80]), // indefinite (BER)
      fc.constant([0x84, 0xff, 0xff, 0xff, 0xff]), // 4 GiB
      fc.constant([0x85, 1, 0, 0, 0, 0]), // a length of 5 octets
      fc.array(fc.integer({ min: 0, max: 255 }), { minLength: 1, maxLength: 4 }).map((b) => [0x80 | b.length, ...b]),
    ),
  }),
  fc.record({
    kind: fc.constant('insert' as const),
    at: fc.nat(),
    bytes: fc.uint8Array({ minLength: 1, maxLength: 8 }),
  }),
  fc.record({ kind: fc.constant('delete' as const), at: fc.nat(), n: fc.integer({ min: 1, max: 8 }) }),
);

function mutate(seed: Uint8Array, offsets: number[], m: Mutation): Uint8Array {
  const b = Buffer.from(seed);
  const at = (n: number) => (b.length === 0 ? 0 : n % b.length);
  switch (m.kind) {
    case 'flip': {
      if (b.length) b[at(m.at)]! ^= 1 << m.bit;
      return new Uint8Array(b);
    }
    case 'truncate':
      return new Uint8Array(b.subarray(0, at(m.at)));
    case 'length': {
      const off = offsets.length ? offsets[m.which % offsets.length]! : 1;
      if (off >= b.length) return new Uint8Array(b);
      const first = b[off]!;
      const oldLen = first & 0x80 ? 1 + (first & 0x7f) : 1;
      return new Uint8Array(Buffer.concat([b.subarray(0, off), Buffer.from(m.value), b.subarray(off + oldLen)]));
    }
    case 'insert':
      return new Uint8Array(Buffer.concat([b.subarray(0, at(m.at)), m.bytes, b.subarray(at(m.at))]));
    case 'delete':
      return new Uint8Array(Buffer.concat([b.subarray(0, at(m.at)), b.subarray(at(m.at) + m.n)]));
  }
}

/** Random bytes, or a valid seed with 1–3 mutations. */
function inputsFrom(seeds: Uint8Array[]): fc.Arbitrary<Uint8Array> {
  const withOffsets = seeds.map((s) => ({ s, offsets: lengthOffsets(s) }));
  return fc.oneof(
    { weight: 1, arbitrary: fc.uint8Array({ maxLength: 512 }) },
    {
      weight: 4,
      arbitrary: fc
        .tuple(fc.constantFrom(...withOffsets), fc.array(mutationArb, { minLength: 1, maxLength: 3 }))
        .map(([{ s, offsets }, ms]) => ms.reduce((acc, m) => mutate(acc, offsets, m), s)),
    },
  );
}

/** Reads every TLV, OID and string of a DER value, checking the reader's bounds invariants. */
function walkDer(der: Uint8Array): void {
  const walk = (t: Tlv, limitStart: number, limitEnd: number, depth: number) => {
    if (t.start < limitStart || t.contentStart > t.end || t.end > limitEnd) {
      throw new Error(`TLV out of bounds: ${JSON.stringify(t)} within [${limitStart}, ${limitEnd})`);
    }
    if (depth > 64) return;
    if (t.tag === 0x06) decodeOid(der.subarray(t.contentStart, t.end));
    if ([0x0c, 0x13, 0x16, 0x12, 0x1a, 0x14, 0x1e, 0x1c].includes(t.tag)) decodeString(der, t);
    if (t.tag & 0x20) for (const c of children(der, t)) walk(c, t.contentStart, t.end, depth + 1);
  };
  const top = readTlv(der, 0);
  walk(top, 0, der.length, 0);
  readWhole(der);
}

/**
 * The well-formedness walk as it was before it walked in place (session 22): each TLV's children read into a list,
 * then each checked; primitives through views of their content, OIDs decoded. The reference of the in-place walk.
 */
function listWalkWellFormed(buf: Uint8Array, t: Tlv, depth = 0): void {
  if (depth > 32) throw new DerError('DER nested too deeply');
  if (!(t.tag & 0x20)) {
    const c = buf.subarray(t.contentStart, t.end);
    switch (t.tag) {
      case 0x01:
        if (c.length !== 1 || (c[0] !== 0 && c[0] !== 0xff)) throw new DerError('a DER BOOLEAN is one octet 00 or FF');
        return;
      case 0x02:
      case 0x0a:
        if (c.length === 0) throw new DerError('empty INTEGER');
        if (c.length > 1 && ((c[0] === 0 && !(c[1]! & 0x80)) || (c[0] === 0xff && c[1]! & 0x80)))
          throw new DerError('non-minimal INTEGER');
        return;
      case 0x03:
        if (c.length === 0 || c[0]! > 7 || (c.length === 1 && c[0] !== 0)) throw new DerError('malformed BIT STRING');
        return;
      case 0x05:
        if (c.length !== 0) throw new DerError('a NULL has no content');
        return;
      case 0x06:
      case 0x0d:
        if (c.length === 0) throw new DerError('empty OID');
        decodeOid(c);
        return;
      case 0x10:
      case 0x11:
        throw new DerError('primitive encoding of SEQUENCE/SET');
      default:
        return;
    }
  }
  if ((t.tag & 0xc0) === 0 && t.tag !== 0x30 && t.tag !== 0x31) {
    throw new DerError(`constructed encoding of a primitive type (tag 0x${t.tag.toString(16)})`);
  }
  for (const c of children(buf, t)) listWalkWellFormed(buf, c, depth + 1);
}

/** decodeName as it was before it walked in place (each level's children in a list), attribute types as OIDs */
function listDecodeName(buf: Uint8Array, name: Tlv): { type: string; value: string }[] {
  const out: { type: string; value: string }[] = [];
  if (name.tag !== 0x30) throw new DerError('a Name is a SEQUENCE');
  for (const rdn of children(buf, name)) {
    if (rdn.tag !== 0x31) throw new DerError('a RelativeDistinguishedName is a SET');
    for (const atv of children(buf, rdn)) {
      const parts = children(buf, atv);
      const t = at(parts, 0, 'attribute type');
      const v = at(parts, 1, 'attribute value');
      if (atv.tag !== 0x30 || t.tag !== 0x06 || parts.length !== 2)
        throw new DerError('malformed AttributeTypeAndValue');
      const o = decodeOid(buf.subarray(t.contentStart, t.end));
      let value: string;
      if (STRING_TAGS.has(v.tag)) value = decodeString(buf, v);
      else value = `#${Buffer.from(buf.subarray(v.start, v.end)).toString('hex')}`;
      out.push({ type: o, value });
    }
  }
  return out;
}

/** parseCsr as it was before it walked in place (session 23): each level's children read into a list, OIDs decoded */
function listParseCsr(input: Uint8Array): ParsedCsr {
  let der: Uint8Array;
  try {
    der = fromPem(input, 'CERTIFICATE REQUEST', { alone: true });
  } catch (e) {
    throw new PkiError('csr.invalid', `not a CSR: ${(e as Error).message}`);
  }
  let parts: {
    info: Uint8Array;
    subject: DistinguishedName;
    spki: Uint8Array;
    sans: SubjectAltNames;
    sigOid: string;
    signature: Uint8Array;
    basicConstraints: boolean;
  };
  try {
    const top = readWhole(der);
    assertWellFormed(der, top);
    const [infoT, algT, sigT] = children(der, top);
    if (top.tag !== 0x30 || infoT?.tag !== 0x30 || algT?.tag !== 0x30 || sigT?.tag !== 0x03)
      throw new Error('not a CertificationRequest');
    const [verT, subjT, spkiT, attrsT] = children(der, infoT);
    if (verT?.tag !== 0x02 || subjT?.tag !== 0x30 || spkiT?.tag !== 0x30)
      throw new Error('malformed CertificationRequestInfo');
    let sans: SubjectAltNames = {};
    let basicConstraints = false;
    if (attrsT?.tag === 0xa0) {
      for (const attr of children(der, attrsT)) {
        const attrParts = children(der, attr);
        const type = at(attrParts, 0, 'attribute type');
        const values = at(attrParts, 1, 'attribute values');
        if (attr.tag !== 0x30 || type.tag !== 0x06 || values.tag !== 0x31 || attrParts.length !== 2)
          throw new Error('malformed attribute');
        if (decodeOid(der.subarray(type.contentStart, type.end)) !== '1.2.840.113549.1.9.14') continue;
        for (const exts of children(der, values)) {
          if (exts.tag !== 0x30) throw new Error('malformed extensionRequest');
          for (const ext of children(der, exts)) {
            const ep = children(der, ext);
            const id = at(ep, 0, 'extnID');
            const value = at(ep, ep.length - 1, 'extnValue');
            const critical = ep.length === 3 ? ep[1] : undefined;
            if (ext.tag !== 0x30 || id.tag !== 0x06 || value.tag !== 0x04 || ep.length < 2 || ep.length > 3)
              throw new Error('malformed extension');
            if (critical && critical.tag !== 0x01) throw new Error('malformed extension (critical)');
            const extnId = decodeOid(der.subarray(id.contentStart, id.end));
            if (extnId === '2.5.29.19') basicConstraints = true;
            if (extnId !== '2.5.29.17') continue;
            const v = der.subarray(value.contentStart, value.end);
            sans = decodeGeneralNames(v, readWhole(v));
          }
        }
      }
    } else if (attrsT !== undefined) throw new Error('malformed attributes');
    const sig = der.subarray(sigT.contentStart, sigT.end);
    const oidOf = (t: Tlv) => decodeOid(der.subarray(t.contentStart, t.end));
    parts = {
      info: der.subarray(infoT.start, infoT.end),
      subject: decodeName(der, subjT),
      spki: new Uint8Array(der.subarray(spkiT.start, spkiT.end)),
      sans,
      sigOid: oidOf(at(children(der, algT), 0, 'signatureAlgorithm')),
      signature: sig.subarray(1),
      basicConstraints,
    };
  } catch (e) {
    throw new PkiError('csr.invalid', `malformed CSR: ${(e as Error).message}`);
  }
  const keyType = keyTypeFromSpki(parts.spki);
  const alg = SIGNATURE_ALGORITHMS[parts.sigOid];
  if (!alg)
    throw new PkiError('csr.invalid_signature', `unsupported CSR signature algorithm ${parts.sigOid}`, {
      details: { algorithm: parts.sigOid },
    });
  return {
    alg,
    spki: parts.spki,
    info: parts.info,
    signature: parts.signature,
    der,
    csr: { subject: parts.subject, publicKey: parts.spki, keyType, sans: parts.sans },
    basicConstraints: parts.basicConstraints,
  };
}

/** what a CSR parse gives — its parts, or the PkiError's code, message and details — as one comparable string */
function csrVerdict(parse: (der: Uint8Array) => ParsedCsr, der: Uint8Array): string {
  const h = (b: Uint8Array) => Buffer.from(b).toString('hex');
  try {
    const p = parse(der);
    const alg = Object.keys(SIGNATURE_ALGORITHMS).find((k) => SIGNATURE_ALGORITHMS[k] === p.alg);
    const { subject, keyType, sans, publicKey } = p.csr;
    const fields = [alg, h(p.spki), h(p.info), h(p.signature), h(p.der), h(publicKey), keyType, subject, sans];
    return JSON.stringify([...fields, p.basicConstraints]);
  } catch (e) {
    if (!(e instanceof PkiError) || e instanceof DerError) throw e;
    return `${e.code}: ${e.message} ${JSON.stringify(e.details ?? {})}`;
  }
}

/**
 * Random DER trees: primitives of the types the well-formedness walk checks (and others) with contents drawn to hit
 * its rules (leading 00/FF, 0x80 arcs, unfinished arcs), constructed SEQUENCE/SET/context/constructed-string nodes;
 * encoded, then mutated 0–2 times (a later sibling's length broken after an earlier child's content, …).
 */
const offsetsOrNone = (der: Uint8Array): number[] => {
  try {
    return lengthOffsets(der);
  } catch {
    return [];
  }
};
const derTreeArb: fc.Arbitrary<Uint8Array> = (() => {
  const contentArb = fc.oneof(
    fc.uint8Array({ maxLength: 6 }),
    fc
      .array(fc.constantFrom(0x00, 0x01, 0x07, 0x08, 0x7f, 0x80, 0x81, 0xff), { maxLength: 6 })
      .map((a) => Uint8Array.from(a)),
  );
  const primitiveTag = fc.oneof(
    fc.constantFrom(0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x0a, 0x0c, 0x0d, 0x10, 0x11, 0x80),
  );
  const { tree } = fc.letrec<{ tree: Uint8Array }>((tie) => ({
    tree: fc.oneof(
      { depthSize: 'small', withCrossShrink: true },
      fc.tuple(primitiveTag, contentArb).map(([tag, c]) => tlv(tag, c)),
      fc
        .tuple(fc.constantFrom(0x30, 0x31, 0xa0, 0xa3, 0x24, 0x2c, 0x61), fc.array(tie('tree'), { maxLength: 4 }))
        .map(([tag, kids]) => tlv(tag, ...kids)),
    ),
  }));
  return fc
    .tuple(tree, fc.array(mutationArb, { maxLength: 2 }))
    .map(([der, ms]) => ms.reduce((acc, m) => mutate(acc, offsetsOrNone(acc), m), der));
})();

/** hand-made cases of each rule (an OID's later arc with a leading 0x80, a bad child before a truncated sibling…) */
const wellFormedCases = [
  '0603018001',
  '0603010180',
  '06028001',
  '06028101',
  '0600',
  '3007060301800102',
  '300806030180010201',
  '30060201000201ff',
  '3006020100020200',
  '3005020200010500',
  '3004010100',
  '30030101ff',
  '30050301080500',
  '2403040100',
  '3004300201',
  '3006300306014f02',
  '0d0180',
  '0d020101',
  '100100',
].map((h) => Uint8Array.from(Buffer.from(h, 'hex')));

// ---- the properties ---------------------------------------------------------------------------------------------

describe('fuzzing the parsers of untrusted input (fast-check, bounded runs)', async () => {
  const root = await makeRoot(cachedKey('ec-p256'), Date.UTC(2026, 0, 1));
  const csrSeeds = await Promise.all([
    csrFor('ec-p256', [{ type: 'CN', value: 'fuzz.example.com' }], { dns: ['fuzz.example.com'], ip: ['10.0.0.1'] }),
    csrFor('rsa-2048', [
      { type: 'C', value: 'DE' },
      { type: 'O', value: 'Fuzz GmbH' },
      { type: 'CN', value: 'rsa.example' },
    ]),
    csrFor('ed25519', [{ type: 'CN', value: 'ünïcødé' }], { email: ['a@example.com'], uri: ['spiffe://x/y'] }),
  ]);
  const ocspSeeds = [
    ocspRequestDer(Uint8Array.of(0x01, 0x02, 0x03)),
    ocspRequestDer(new Uint8Array(20).fill(0x7f), false),
  ];
  const certSeed = root.der;
  const nameSeed = encodeDn([
    { type: 'C', value: 'US' },
    { type: 'O', value: 'Example' },
    { type: 'CN', value: 'name.example' },
  ]);
  const allSeeds = [...csrSeeds, ...ocspSeeds, certSeed, nameSeed];

  it('DER reader: random and mutated DER yields values or a DerError, within bounds', () => {
    fc.assert(
      fc.property(inputsFrom(allSeeds), (der) => {
        expectOnly(isDer, 'DER reader', () => walkDer(der));
      }),
      CONFIG,
    );
  });

  it('assertWellFormed walks in place with the verdict and first error of the list walk it replaced', () => {
    let refused = 0;
    fc.assert(
      fc.property(fc.oneof(inputsFrom(allSeeds), derTreeArb, fc.constantFrom(...wellFormedCases)), (der) => {
        if (der.length < 2) return;
        const verdict = (check: (buf: Uint8Array, t: Tlv) => void): string => {
          try {
            check(der, readTlv(der, 0));
            return 'ok';
          } catch (e) {
            if (!(e instanceof DerError)) throw e;
            return e.message;
          }
        };
        const expected = verdict(listWalkWellFormed);
        if (expected !== 'ok') refused++;
        expect(verdict(assertWellFormed)).toBe(expected);
      }),
      CONFIG,
    );
    // the inputs reach the checks: many are refused
    expect(refused).toBeGreaterThan(RUNS / 4);
  });

  it('CSR decoding: random and mutated CSRs (DER and PEM) yield a result or a PkiError', () => {
    fc.assert(
      fc.property(inputsFrom(csrSeeds), fc.boolean(), (der, asPem) => {
        expectOnly(isPki, 'decodeCsr', () => decodeCsr(asPem ? toPem(der, 'CERTIFICATE REQUEST') : der));
      }),
      CONFIG,
    );
  });

  it('OCSP request parsing: random and mutated requests yield a result or a PkiError', () => {
    fc.assert(
      fc.property(inputsFrom(ocspSeeds), (der) => {
        expectOnly(isPki, 'parseOcspRequest', () => parseOcspRequest(der));
      }),
      CONFIG,
    );
  });

  it('certificate parsing: random and mutated certificates yield a result or a PkiError', () => {
    fc.assert(
      fc.property(inputsFrom([certSeed]), (der) => {
        expectOnly(isPki, 'parseCertificate', () => parseCertificate(der));
      }),
      CONFIG,
    );
  });

  it('DER Names: random and mutated Names yield a DN or a PkiError', () => {
    fc.assert(
      fc.property(inputsFrom([nameSeed, certSeed]), (der) => {
        expectOnly(isPki, 'decodeNameDer', () => decodeNameDer(der));
      }),
      CONFIG,
    );
  });

  it('decodeName walks in place with the attributes and first error of the list walk it replaced', () => {
    // Names of every shape: unknown OIDs, values that are no strings, multi-valued RDNs, then mutated
    const nameSeeds = [
      nameSeed,
      seq(
        tlv(0x31, seq(tlv(0x06, Uint8Array.of(0x2a, 0x03)), tlv(0x04, Uint8Array.of(1, 2)))),
        tlv(0x31, seq(tlv(0x06, Uint8Array.of(0x55, 0x04, 0x03)), tlv(0x1e, Uint8Array.of(0, 0x41, 0, 0x42)))),
        tlv(
          0x31,
          seq(tlv(0x06, Uint8Array.of(0x55, 0x04, 0x0a)), tlv(0x0c, Uint8Array.of(0x4f))),
          seq(tlv(0x06, Uint8Array.of(0x55, 0x04, 0x0b)), tlv(0x13, Uint8Array.of(0x55))),
        ),
      ),
    ];
    // a bad first child before a truncated sibling, at each level (the sibling's header is the first error)
    const nameCases = fc.constantFrom(
      ...['3006300031050000', '300a3108300306012a300506', '300e310c300a06035504030c01410c05'].map((h) =>
        Uint8Array.from(Buffer.from(h, 'hex')),
      ),
    );
    let refused = 0;
    fc.assert(
      fc.property(fc.oneof(inputsFrom(nameSeeds), inputsFrom([certSeed]), derTreeArb, nameCases), (der) => {
        if (der.length < 2) return;
        const verdict = (decode: (buf: Uint8Array, t: Tlv) => { type: string; value: string }[]): string => {
          try {
            const top = readTlv(der, 0);
            return JSON.stringify(decode(der, top).map((a) => [dnAttributeOid(a.type) ?? a.type, a.value]));
          } catch (e) {
            if (!(e instanceof DerError)) throw e;
            return `DerError: ${e.message}`;
          }
        };
        const expected = verdict(listDecodeName);
        if (expected.startsWith('DerError')) refused++;
        expect(verdict(decodeName)).toBe(expected);
      }),
      CONFIG,
    );
    expect(refused).toBeGreaterThan(RUNS / 4);
  });

  const pemText = fc.oneof(
    fc.string({ maxLength: 400 }),
    fc
      .tuple(
        fc.constantFrom('CERTIFICATE', 'CERTIFICATE REQUEST', 'NEW CERTIFICATE REQUEST', 'X', ''),
        fc.constantFrom('CERTIFICATE', 'CERTIFICATE REQUEST', 'Y'),
        fc.oneof(fc.base64String({ maxLength: 200 }), fc.string({ maxLength: 200 })),
        fc.string({ maxLength: 20 }),
      )
      .map(([a, b, body, junk]) => `${junk}-----BEGIN ${a}-----\n${body}\n-----END ${b}-----${junk}`),
  );

  it('PEM: random and PEM-shaped text yields DER or a PkiError', () => {
    fc.assert(
      fc.property(pemText, fc.option(fc.constantFrom('CERTIFICATE', 'CERTIFICATE REQUEST')), (text, label) => {
        expectOnly(isPki, 'fromPem', () => fromPem(text, label ?? undefined));
        expectOnly(isPki, 'fromPem(bytes)', () => fromPem(Buffer.from(text), label ?? undefined));
        expectOnly(isPki, 'splitPemBundle', () => splitPemBundle(text));
      }),
      CONFIG,
    );
  });

  const dnText = fc.oneof(
    fc.string({ maxLength: 120 }),
    fc
      .array(
        fc.tuple(
          fc.constantFrom('CN', 'O', 'OU', 'C', 'L', 'ST', 'cn', '2.5.4.3', 'emailAddress', 'DC', 'X', '', ' CN '),
          fc.string({
            unit: fc.constantFrom('a', 'é', ' ', ',', ';', '/', '=', '+', '\\', '#', '"', '0', 'f', '\u0000'),
          }),
        ),
        { maxLength: 5 },
      )
      .chain((parts) =>
        fc
          .boolean()
          .map((slash) =>
            slash ? parts.map(([t, v]) => `/${t}=${v}`).join('') : parts.map(([t, v]) => `${t}=${v}`).join(','),
          ),
      ),
  );

  it('DN strings: any text yields a DN or a PkiError, and a parsed DN survives format → parse', () => {
    fc.assert(
      fc.property(dnText, (text) => {
        const dn = expectOnly(isPki, 'parseDn', () => parseDn(text)) as DistinguishedName | undefined;
        if (dn) expect(parseDn(formatDn(dn))).toEqual(dn);
      }),
      CONFIG,
    );
  });

  // ---- differential: what decodeCsr accepts, @peculiar/asn1-schema accepts with the same fields -------------------

  function sameAsPeculiar(der: Uint8Array): void {
    let ours;
    try {
      ours = decodeCsr(der);
    } catch (e) {
      if (isPki(e)) return;
      throw e;
    }
    const theirs = AsnConvert.parse(der, CertificationRequest);
    const info = theirs.certificationRequestInfo;
    expect(Buffer.from(ours.publicKey).toString('hex')).toBe(
      Buffer.from(AsnConvert.serialize(info.subjectPKInfo)).toString('hex'),
    );
    // string values compare as text; other values as the hex of their TLV (ours: `#<hex>`, theirs: anyValue)
    const theirSubject = info.subject.flatMap((rdn) =>
      rdn.map((atv) => ({ oid: atv.type, value: atv.value.anyValue ? undefined : atv.value.toString(), atv })),
    );
    expect(ours.subject.length).toBe(theirSubject.length);
    ours.subject.forEach((a, i) => {
      const t = theirSubject[i]!;
      expect(dnAttributeOid(a.type) ?? a.type).toBe(t.oid);
      if (t.value !== undefined) expect(a.value).toBe(t.value);
      else if (a.value.startsWith('#')) expect(a.value.slice(1)).toBe(t.atv.value.toString());
    });
    const sans: Required<SubjectAltNames> = { dns: [], ip: [], email: [], uri: [] };
    for (const attr of info.attributes) {
      if (attr.type !== '1.2.840.113549.1.9.14') continue;
      for (const v of attr.values) {
        for (const ext of AsnConvert.parse(v, Extensions)) {
          if (ext.extnID !== id_ce_subjectAltName) continue;
          for (const g of AsnConvert.parse(ext.extnValue, SubjectAlternativeName) as GeneralName[]) {
            if (g.dNSName !== undefined) sans.dns.push(g.dNSName);
            if (g.rfc822Name !== undefined) sans.email.push(g.rfc822Name);
            if (g.uniformResourceIdentifier !== undefined) sans.uri.push(g.uniformResourceIdentifier);
            if (g.iPAddress !== undefined) sans.ip.push(g.iPAddress);
          }
        }
      }
    }
    const norm = (s: SubjectAltNames) =>
      Object.fromEntries(Object.entries(s).filter(([, v]) => (v as string[]).length > 0));
    expect(norm(ours.sans)).toEqual(norm(sans));
  }

  const subjectArb: fc.Arbitrary<DistinguishedName> = fc
    .tuple(
      fc
        .string({ minLength: 1, maxLength: 64 })
        .filter(
          (s) =>
            s.trim() !== '' &&
            !Array.from({ length: s.length }, (_, i) => s.charCodeAt(i)).some((c) => c < 0x20 || c === 0x7f),
        ),
      fc.option(fc.constantFrom('US', 'DE', 'FR')),
      fc.option(fc.stringMatching(/^[A-Za-z0-9 .-]{1,40}$/).filter((s) => s.trim() !== '')),
    )
    .map(([cn, c, o]) => [
      ...(c ? [{ type: 'C', value: c }] : []),
      ...(o ? [{ type: 'O', value: o }] : []),
      { type: 'CN', value: cn },
    ]);
  const sansArb: fc.Arbitrary<SubjectAltNames> = fc.record(
    {
      dns: fc.array(fc.domain(), { maxLength: 3 }),
      ip: fc.array(fc.ipV4(), { maxLength: 2 }),
      email: fc.array(fc.constantFrom('a@example.com', 'ops@x.example.org'), { maxLength: 2 }),
    },
    { requiredKeys: [] },
  );

  it('differential: generated CSRs are accepted by both with the same subject, key and SANs', async () => {
    await fc.assert(
      fc.asyncProperty(fc.constantFrom(...KEY_TYPES), subjectArb, sansArb, async (keyType, subject, sans) => {
        const der = await csrFor(keyType, subject, sans);
        expect(() => decodeCsr(der)).not.toThrow();
        sameAsPeculiar(der);
      }),
      { ...CONFIG, numRuns: 150 },
    );
  });

  it('differential: mutated CertificationRequestInfos, validly signed, are accepted by both or refused by us', () => {
    const parts = csrSeeds.map((csr, i) => {
      const info = children(csr, readWhole(csr))[0]!;
      return { info: csr.subarray(info.start, info.end), keyType: (['ec-p256', 'rsa-2048', 'ed25519'] as const)[i]! };
    });
    const infos = parts.map((p) => p.info);
    fc.assert(
      fc.property(fc.nat({ max: parts.length - 1 }), inputsFrom(infos), (i, mutatedInfo) => {
        const { keyType } = parts[i]!;
        const k = cachedKey(keyType);
        const sig = k.sign(mutatedInfo) as Uint8Array;
        const der = seq(mutatedInfo, signatureAlgorithmDer(keyType), bitString(sig));
        sameAsPeculiar(der);
      }),
      CONFIG,
    );
  });

  // ---- parseCsr in place: the list walk it replaced, and @peculiar/asn1-csr ----------------------------------------

  /** a CSR of `info` (the signature is not checked by parseCsr: a fixed one unless `signed`) */
  const csrOf = (info: Uint8Array, signed = false, alg = signatureAlgorithmDer('ec-p256')) =>
    seq(info, alg, bitString(signed ? (cachedKey('ec-p256').sign(info) as Uint8Array) : Uint8Array.of(1, 2, 3)));
  const infoOf = (...attrs: Uint8Array[]) =>
    seq(
      integer(0),
      encodeDn([
        { type: 'C', value: 'DE' },
        { type: 'CN', value: 'rich.example' },
      ]),
      cachedKey('ec-p256').publicKey,
      ...(attrs.length ? [tlv(0xa0, ...attrs)] : []),
    );
  const extReq = (...extensionSets: Uint8Array[]) => seq(oid('1.2.840.113549.1.9.14'), set(...extensionSets));
  const sanExt = seq(oid('2.5.29.17'), octetString(encodeGeneralNames({ dns: ['rich.example'], ip: ['10.1.2.3'] })));
  const kuExt = seq(oid('2.5.29.15'), tlv(0x01, Uint8Array.of(0xff)), octetString(Uint8Array.of(3, 2, 7, 0x80)));
  /** a challengePassword before the extensionRequest, a critical keyUsage before the SAN, a second Extensions */
  const richCsr = csrOf(
    infoOf(
      seq(oid('1.2.840.113549.1.9.7'), set(tlv(0x0c, Buffer.from('secret')))),
      extReq(seq(kuExt, sanExt), seq(seq(oid('2.5.29.19'), octetString(seq())))),
    ),
    true,
  );
  const badHeader = Uint8Array.of(0x30, 0x05); // a child whose content runs past its parent
  /** each check of the walk, and two failing at once (the first one found is the error) */
  const csrCases = [
    tlv(0x04, badHeader), // a primitive top whose content does not parse
    tlv(0x04, seq()),
    seq(seq(), seq()),
    seq(infoOf(), seq(), bitString(Uint8Array.of(1))), // no signatureAlgorithm
    seq(infoOf(), seq(integer(5)), bitString(Uint8Array.of(1))), // an INTEGER as the algorithm's OID
    seq(seq(integer(0), seq(tlv(0x30)), cachedKey('ec-p256').publicKey), seq(), bitString(Uint8Array.of(1))),
    csrOf(infoOf(tlv(0x04, badHeader))), // a primitive attribute whose content does not parse
    csrOf(infoOf(seq())), // an attribute without a type
    csrOf(infoOf(seq(oid('1.2.840.113549.1.9.14')))), // without values
    csrOf(infoOf(seq(oid('1.2.840.113549.1.9.14'), set(), integer(1)))),
    csrOf(infoOf(extReq(integer(1)))),
    csrOf(infoOf(extReq(seq(seq())))), // an extension without an extnID
    csrOf(infoOf(extReq(seq(seq(oid('2.5.29.17')))))), // without a value
    csrOf(infoOf(extReq(seq(tlv(0x04, badHeader))))), // a primitive extension whose content does not parse
    csrOf(infoOf(extReq(seq(seq(oid('2.5.29.17'), integer(1), octetString(seq())))))), // critical not a BOOLEAN
    csrOf(infoOf(extReq(seq(seq(oid('2.5.29.17'), tlv(0x01, Uint8Array.of(0)), seq(), octetString(seq())))))),
    csrOf(infoOf(extReq(seq(seq(oid('2.5.29.17'), octetString(Uint8Array.of(0x30))))))), // a SAN that does not parse
    csrOf(infoOf(extReq(seq(sanExt), seq(seq(oid('2.5.29.17'), octetString(seq())))))), // a second SAN: the last wins
    csrOf(infoOf(), false, seq(oid('1.2.3.4'))), // an algorithm we do not verify
    csrOf(seq(integer(0), seq(), seq())), // an SPKI that is no key
    csrOf(infoOf(integer(0))), // attributes without their [0]
  ];

  it('parseCsr walks in place with the parts and first error of the list walk it replaced', () => {
    const seeds = [...csrSeeds, richCsr];
    const signedInfos = inputsFrom([...csrSeeds.map((c) => raw(c, children(c, readWhole(c))[0]!)), infoOf()]).map(
      (info) => csrOf(info, true),
    );
    const verdicts = new Set<string>();
    let refused = 0;
    fc.assert(
      fc.property(
        fc.oneof(inputsFrom(seeds), signedInfos, derTreeArb, fc.constantFrom(...csrCases)),
        fc.boolean(),
        (der, asPem) => {
          const input = asPem ? Buffer.from(toPem(der, 'CERTIFICATE REQUEST')) : der;
          const expected = csrVerdict(listParseCsr, input);
          if (!expected.startsWith('[')) refused++;
          verdicts.add(expected.startsWith('[') ? 'accepted' : expected.slice(0, 40));
          expect(csrVerdict(parseCsr, input)).toBe(expected);
        },
      ),
      CONFIG,
    );
    // the inputs reach the checks: many are refused, for many reasons, and some accepted
    expect(refused).toBeGreaterThan(RUNS / 4);
    expect(refused).toBeLessThan(RUNS);
    expect(verdicts.size).toBeGreaterThan(10);
    // every hand case gives the list walk's verdict (each is one of its checks)
    for (const c of [...csrCases, richCsr]) expect(csrVerdict(parseCsr, c)).toBe(csrVerdict(listParseCsr, c));
    expect(JSON.parse(csrVerdict(parseCsr, richCsr))[8]).toEqual({ dns: ['rich.example'], ip: ['10.1.2.3'] });
  });

  it('differential: what parseCsr accepts, @peculiar/asn1-csr parses to the same request, key and signature', () => {
    let accepted = 0;
    fc.assert(
      fc.property(fc.oneof(inputsFrom([...csrSeeds, richCsr]), fc.constantFrom(...csrCases, richCsr)), (der) => {
        let ours: ParsedCsr;
        try {
          ours = parseCsr(der);
        } catch (e) {
          if (isPki(e)) return;
          throw e;
        }
        accepted++;
        const theirs = AsnConvert.parse(der, CertificationRequest);
        const h = (b: ArrayBuffer | Uint8Array) => Buffer.from(b as Uint8Array).toString('hex');
        expect(h(ours.info)).toBe(h(AsnConvert.serialize(theirs.certificationRequestInfo)));
        expect(h(ours.spki)).toBe(h(AsnConvert.serialize(theirs.certificationRequestInfo.subjectPKInfo)));
        expect(h(ours.signature)).toBe(h(theirs.signature));
        expect(SIGNATURE_ALGORITHMS[theirs.signatureAlgorithm.algorithm]).toBe(ours.alg);
        expect(ours.csr.subject.length).toBe(theirs.certificationRequestInfo.subject.flat().length);
      }),
      CONFIG,
    );
    expect(accepted).toBeGreaterThan(0);
  });

  // ---- counterexamples fast-check found (each was a bug, fixed; kept as regression cases) -------------------------

  const hex = (h: string) => Uint8Array.from(Buffer.from(h.replace(/\s+/g, ''), 'hex'));
  const signedCsr = (keyType: KeyType, info: Uint8Array) =>
    seq(info, signatureAlgorithmDer(keyType), bitString(cachedKey(keyType).sign(info) as Uint8Array));
  const csrCode = (der: Uint8Array) => {
    try {
      decodeCsr(der);
      return 'accepted';
    } catch (e) {
      return (e as PkiError).code;
    }
  };
  /** the seed CSR's CertificationRequestInfo with `from` replaced by `to` (hex) */
  const tampered = (i: number, from: string, to: string) => {
    const csr = csrSeeds[i]!;
    const info = Buffer.from(
      csr.subarray(children(csr, readWhole(csr))[0]!.start, children(csr, readWhole(csr))[0]!.end),
    );
    const h = info.toString('hex');
    expect(h).toContain(from);
    return hex(h.replace(from, to));
  };

  it.each([
    ['a UniversalString beyond U+10FFFF (RangeError)', '1c 04 00 11 00 00'],
    ['a UTF8String that is not UTF-8 (TypeError)', '0c 02 c3 28'],
  ])('DER reader: %s is a DerError', (_what, h) => {
    const der = hex(h);
    expect(() => decodeString(der, readTlv(der, 0))).toThrow(DerError);
  });

  it('DER reader: a non-minimal length and an unfinished OID arc are DerErrors', () => {
    expect(() => readTlv(hex('04 81 05 0102030405'), 0)).toThrow(/non-minimal DER length/);
    expect(() => decodeOid(hex('55 04 83'))).toThrow(/truncated OID/);
  });

  it('decodeNameDer: empty input is a PkiError (dn.invalid), not a DerError', () => {
    expect(() => decodeNameDer(new Uint8Array())).toThrow(PkiError);
    expect(codeOfDn(() => decodeNameDer(new Uint8Array()))).toBe('dn.invalid');
  });

  it('parseDn: a trailing escaped space survives format → parse (was: dangling escape)', () => {
    const dn = parseDn('/CN=\\ /CN=x');
    expect(parseDn(formatDn(dn))).toEqual(dn);
  });

  it.each([
    ['extensionRequest values as a SEQUENCE instead of a SET', 2, '2a864886f70d01090e312a', '2a864886f70d01090e302a'],
    ['a primitive [0] GeneralName (otherName must be constructed)', 2, '810d61', '800d61'],
    ['an RDN as a SEQUENCE instead of a SET', 2, '31143012', '30143012'],
    ['an attribute type OID with an unfinished arc', 0, '0603550403', '0603550483'],
    [
      'a constructed primitive type inside an unknown attribute',
      2,
      '2a864886f70d01090e312a30',
      '2b864886f70d01090e312a38',
    ],
    ['a BIT STRING with 11 unused bits as a name value', 1, '06035504030c0b', '06025504030c0b'],
    ['a UTF8String value that is not UTF-8', 1, '0c0946757a7a', '0c09c6757a7a'],
    ['a UniversalString value whose length is not a multiple of 4', 2, '0c0bc3bc', '1c0bc3bc'],
    ['a primitive SET as a name value', 1, '130244', '110244'],
  ])('decodeCsr refuses %s (asn1-schema does too): csr.invalid', (_what, i, from, to) => {
    const keyType = (['ec-p256', 'rsa-2048', 'ed25519'] as const)[i]!;
    expect(csrCode(signedCsr(keyType, tampered(i, from, to)))).toBe('csr.invalid');
  });
});

function codeOfDn(fn: () => unknown): string | undefined {
  try {
    fn();
  } catch (e) {
    return (e as PkiError).code;
  }
  return undefined;
}
