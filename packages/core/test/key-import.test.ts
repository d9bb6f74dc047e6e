// importSpki (key-inspector.ts) imports the canonical SubjectPublicKeyInfo encodings — P-256 with an uncompressed
// point, Ed25519, RSA with exponent 65537 — through their JWK (≈ 10–60 µs) instead of OpenSSL's DER decoder
// (≈ 100 µs): it runs for every CSR's proof of possession. splitSpki (key type, SKI) reads the same canonical P-256 and
// Ed25519 encodings by their fixed prefix instead of walking the DER: for valid and mutated keys it gives what the DER
// walk gives, or the same error. Differential, property-based (fast-check): for valid keys
// and for mutated ones (bit flips anywhere, random points, random moduli), importSpki accepts exactly what
// createPublicKey(DER) accepts, and then yields the same key (same SPKI re-export, same verification answers).
import { ECDH, createHash, createPublicKey, generateKeyPairSync, sign, verify, type KeyObject } from 'node:crypto';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { PkiError } from '@pkim/shared';
import { canonicalJwk, computeSki, importSpki, keyTypeFromSpki, splitSpki, splitSpkiDer } from '../src/key-inspector';

const RUNS = Number(process.env.PKIM_FUZZ_RUNS ?? 400);
const CONFIG = { numRuns: RUNS, seed: Number(process.env.PKIM_FUZZ_SEED ?? 20261203) } as const;

const DATA = Buffer.from('proof of possession');
type Kind = 'p256' | 'p384' | 'ed25519' | 'rsa' | 'rsa-e3';
const hashOf = (k: Kind): string | null => (k === 'ed25519' ? null : 'sha256');
function pair(kind: Kind) {
  const kp =
    kind === 'p256' || kind === 'p384'
      ? generateKeyPairSync('ec', { namedCurve: kind === 'p256' ? 'P-256' : 'P-384' })
      : kind === 'ed25519'
        ? generateKeyPairSync('ed25519')
        : generateKeyPairSync('rsa', { modulusLength: 2048, publicExponent: kind === 'rsa' ? 65537 : 3 });
  const spki = new Uint8Array(kp.publicKey.export({ type: 'spki', format: 'der' }));
  return { kind, spki, signature: sign(hashOf(kind), DATA, kp.privateKey) };
}
const KEYS = (['p256', 'p384', 'ed25519', 'rsa', 'rsa-e3'] as const).map(pair);
const byKind = (k: Kind) => KEYS.find((x) => x.kind === k)!;

function attempt(f: () => KeyObject): KeyObject | undefined {
  try {
    return f();
  } catch {
    return undefined;
  }
}
const viaDer = (spki: Uint8Array) =>
  attempt(() => createPublicKey({ key: Buffer.from(spki), format: 'der', type: 'spki' }));
const spkiOf = (k: KeyObject) => Buffer.from(k.export({ type: 'spki', format: 'der' })).toString('hex');
const verifies = (k: KeyObject, kind: Kind, sig: Uint8Array) => {
  try {
    return verify(hashOf(kind), DATA, k, sig);
  } catch {
    return 'threw';
  }
};

/** a copy of `spki` with one bit flipped, cut short, or one byte appended */
function mutated(spki: Uint8Array, at: number, bit: number, how: 'flip' | 'truncate' | 'append'): Uint8Array {
  const b = Buffer.from(spki);
  const out =
    how === 'flip'
      ? ((b[at % b.length]! ^= 1 << bit), b)
      : how === 'truncate'
        ? b.subarray(0, at % b.length)
        : Buffer.concat([b, Buffer.of(at & 0xff)]);
  return new Uint8Array(out);
}

/** importSpki and the DER decoder agree on `spki`: both refuse it, or both give the same key */
function expectSameAsDer(spki: Uint8Array, kind: Kind, signature: Uint8Array): void {
  const der = viaDer(spki);
  const fast = attempt(() => importSpki(spki));
  expect(fast === undefined, `accepted by one import only: ${Buffer.from(spki).toString('hex')}`).toBe(
    der === undefined,
  );
  if (!der || !fast) return;
  expect(spkiOf(fast)).toBe(spkiOf(der));
  expect(fast.asymmetricKeyType).toBe(der.asymmetricKeyType);
  expect(verifies(fast, kind, signature)).toBe(verifies(der, kind, signature));
}

describe('importSpki: JWK fast path for canonical keys, the DER decoder for the rest', () => {
  it('takes the JWK path exactly for P-256 (uncompressed), Ed25519 and RSA-65537, and yields the same key', () => {
    const fastKinds = KEYS.filter((k) => canonicalJwk(k.spki) !== undefined).map((k) => k.kind);
    expect(fastKinds).toEqual(['p256', 'ed25519', 'rsa']);
    for (const k of KEYS) {
      const key = importSpki(k.spki);
      expect(spkiOf(key)).toBe(Buffer.from(k.spki).toString('hex'));
      expect(verify(hashOf(k.kind), DATA, key, k.signature)).toBe(true);
    }
    // a compressed P-256 point is not canonical here: the DER decoder imports it
    const p256 = byKind('p256');
    const point = ECDH.convertKey(
      Buffer.from(p256.spki.subarray(26)),
      'prime256v1',
      undefined,
      undefined,
      'compressed',
    );
    const compressed = Buffer.concat([
      Buffer.from('3039301306072a8648ce3d020106082a8648ce3d030107032200', 'hex'),
      point as Buffer,
    ]);
    expect(canonicalJwk(compressed)).toBeUndefined();
    expect(verify('sha256', DATA, importSpki(compressed), p256.signature)).toBe(true);
  });

  it('agrees with the DER decoder on mutated keys (bit flips anywhere, truncation, a byte appended)', () => {
    const kinds = ['p256', 'ed25519', 'rsa'] as const;
    fc.assert(
      fc.property(
        fc.constantFrom(...kinds),
        fc.nat(),
        fc.integer({ min: 0, max: 7 }),
        fc.constantFrom('flip', 'truncate', 'append'),
        (kind, at, bit, how) => {
          const k = byKind(kind);
          expectSameAsDer(mutated(k.spki, at, bit, how), kind, k.signature);
        },
      ),
      CONFIG,
    );
  });

  it('agrees with the DER decoder on random P-256 points, Ed25519 keys and RSA moduli', () => {
    const p256 = byKind('p256');
    const ed = byKind('ed25519');
    const rsa = byKind('rsa');
    fc.assert(
      fc.property(
        fc.uint8Array({ minLength: 64, maxLength: 64 }),
        fc.uint8Array({ minLength: 32, maxLength: 32 }),
        fc.uint8Array({ minLength: 256, maxLength: 256 }),
        (xy, x, n) => {
          expectSameAsDer(Buffer.concat([p256.spki.subarray(0, 27), xy]), 'p256', p256.signature);
          expectSameAsDer(Buffer.concat([ed.spki.subarray(0, 12), x]), 'ed25519', ed.signature);
          const m = Buffer.from(rsa.spki);
          n[0]! |= 0x80; // a 2048-bit modulus (the layout stays canonical)
          m.set(n, m.length - 5 - 256);
          expectSameAsDer(new Uint8Array(m), 'rsa', rsa.signature);
        },
      ),
      { ...CONFIG, numRuns: Math.max(20, Math.floor(RUNS / 4)) },
    );
  });
});

/** what a split gives: its parts (key bits as hex) or its error */
function splitOutcome(split: (spki: Uint8Array) => unknown, spki: Uint8Array): unknown {
  try {
    const p = split(spki) as { algorithmOid: string; paramsOid?: string; keyBits: Uint8Array };
    return { algorithmOid: p.algorithmOid, paramsOid: p.paramsOid, keyBits: Buffer.from(p.keyBits).toString('hex') };
  } catch (e) {
    if (!(e instanceof PkiError)) throw e;
    return { code: e.code, message: e.message };
  }
}

describe('splitSpki: the canonical P-256 and Ed25519 keys by their prefix, the rest by the DER walk', () => {
  it('gives the parts of the DER walk for every kind of key, and the same key type and SKI', () => {
    for (const k of KEYS) {
      expect(splitOutcome(splitSpki, k.spki), k.kind).toEqual(splitOutcome(splitSpkiDer, k.spki));
      expect(keyTypeFromSpki(k.spki)).toBe(
        { p256: 'ec-p256', p384: 'ec-p384', ed25519: 'ed25519', rsa: 'rsa-2048', 'rsa-e3': 'rsa-2048' }[k.kind],
      );
    }
    // RFC 5280 §4.2.1.2 method 1 (SHA-1 of the key bits), as openssl computes it
    const p256 = byKind('p256');
    const sha1 = createHash('sha1').update(p256.spki.subarray(26)).digest('hex');
    expect(Buffer.from(computeSki(p256.spki)).toString('hex')).toBe(sha1);
  });

  it('agrees with the DER walk on mutated keys: bit flips anywhere, truncation, a byte appended (fast-check)', () => {
    fc.assert(
      fc.property(
        fc.constantFrom('p256', 'ed25519', 'p384', 'rsa'),
        fc.nat(),
        fc.integer({ min: 0, max: 7 }),
        fc.constantFrom('flip', 'truncate', 'append'),
        (kind, at, bit, how) => {
          const bytes = mutated(byKind(kind).spki, at, bit, how);
          expect(splitOutcome(splitSpki, bytes)).toEqual(splitOutcome(splitSpkiDer, bytes));
        },
      ),
      CONFIG,
    );
  });
});
