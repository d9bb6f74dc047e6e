/**
 * OpenSSH key revocation lists (PROTOCOL.krl, format version 1): encode, parse and check. `sshd`'s
 * `RevokedKeys` and `ssh-keygen -Q` read what `encodeKrl` writes. A KRL revokes certificates by serial
 * (lists and ranges) or key id under a CA key, and plain keys (or whole CA keys) explicitly.
 */
import { createHash } from 'node:crypto';
import { PkiError } from '@pkim/shared';
import {
  bytesEqual,
  compareBytes,
  concatBytes,
  createSshReader,
  sshByte,
  sshString,
  sshUint32,
  sshUint64,
} from './ssh-wire';
import type { ParsedSshCertificate } from './ssh-certificate';

const KRL_MAGIC = 0x5353484b524c0a00n; // "SSHKRL\n\0"
const KRL_FORMAT_VERSION = 1;
const SECTION_CERTIFICATES = 1;
const SECTION_EXPLICIT_KEY = 2;
const SECTION_FINGERPRINT_SHA1 = 3;
const SECTION_SIGNATURE = 4;
const SECTION_FINGERPRINT_SHA256 = 5;
const CERT_SERIAL_LIST = 0x20;
const CERT_SERIAL_RANGE = 0x21;
const CERT_SERIAL_BITMAP = 0x22;
const CERT_KEY_ID = 0x23;

export interface KrlCertificateSection {
  /** The CA key blob these revocations are scoped to (null: any CA). */
  caPublicKey: Uint8Array | null;
  serials?: readonly bigint[];
  /** Inclusive serial ranges. */
  serialRanges?: readonly { from: bigint; to: bigint }[];
  keyIds?: readonly string[];
}

export interface KrlInput {
  /** Monotonic KRL version (the `krl_version` field). */
  version: bigint;
  /** Milliseconds since the epoch. */
  generatedAt: number;
  comment?: string;
  certificates?: readonly KrlCertificateSection[];
  /** Plain public key blobs revoked outright (a CA key here revokes everything it signed). */
  keys?: readonly Uint8Array[];
}

export interface ParsedKrl {
  version: bigint;
  /** Seconds since the epoch. */
  generatedAt: bigint;
  comment: string;
  certificates: {
    caPublicKey: Uint8Array | null;
    serials: bigint[];
    serialRanges: { from: bigint; to: bigint }[];
    keyIds: string[];
  }[];
  keys: Uint8Array[];
  sha1: Uint8Array[];
  sha256: Uint8Array[];
}

/** Collapses sorted unique serials into runs; runs of 3+ become ranges. */
function compress(serials: readonly bigint[]): { list: bigint[]; ranges: { from: bigint; to: bigint }[] } {
  const sorted = [...new Set(serials)].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
  const list: bigint[] = [];
  const ranges: { from: bigint; to: bigint }[] = [];
  for (let i = 0; i < sorted.length;) {
    let j = i;
    // i <= j < sorted.length throughout: every index below is in range
    while (j + 1 < sorted.length && sorted[j + 1] === sorted[j]! + 1n) j++;
    if (j - i >= 2) ranges.push({ from: sorted[i]!, to: sorted[j]! });
    else list.push(...sorted.slice(i, j + 1));
    i = j + 1;
  }
  return { list, ranges };
}

/** Encodes a KRL. Serials must be non-zero; everything is written sorted so equal input gives equal bytes. */
export function encodeKrl(input: KrlInput): Uint8Array {
  const sections: Uint8Array[] = [];
  const enc = new TextEncoder();
  const certSections = [...(input.certificates ?? [])].sort((a, b) =>
    compareBytes(a.caPublicKey ?? new Uint8Array(0), b.caPublicKey ?? new Uint8Array(0)),
  );
  for (const cs of certSections) {
    const all = [...(cs.serials ?? [])];
    for (const s of all) if (s <= 0n) throw new PkiError('ssh.invalid_request', 'a KRL cannot revoke serial 0');
    const { list, ranges } = compress(all);
    const explicitRanges = [...(cs.serialRanges ?? [])];
    for (const r of explicitRanges) {
      if (r.from <= 0n || r.to < r.from) throw new PkiError('ssh.invalid_request', 'invalid KRL serial range');
    }
    const subs: Uint8Array[] = [];
    if (list.length) subs.push(sshByte(CERT_SERIAL_LIST), sshString(concatBytes(...list.map(sshUint64))));
    const allRanges = [...ranges, ...explicitRanges].sort((a, b) => (a.from < b.from ? -1 : a.from > b.from ? 1 : 0));
    for (const r of allRanges) {
      subs.push(sshByte(CERT_SERIAL_RANGE), sshString(concatBytes(sshUint64(r.from), sshUint64(r.to))));
    }
    const ids = [...new Set(cs.keyIds ?? [])].sort((a, b) => compareBytes(enc.encode(a), enc.encode(b)));
    if (ids.length) subs.push(sshByte(CERT_KEY_ID), sshString(concatBytes(...ids.map((id) => sshString(id)))));
    if (subs.length === 0) continue;
    const body = concatBytes(sshString(cs.caPublicKey ?? new Uint8Array(0)), sshString(new Uint8Array(0)), ...subs);
    sections.push(sshByte(SECTION_CERTIFICATES), sshString(body));
  }
  const keys = uniqueSorted(input.keys ?? []);
  if (keys.length) {
    sections.push(sshByte(SECTION_EXPLICIT_KEY), sshString(concatBytes(...keys.map((k) => sshString(k)))));
  }
  if (input.version < 0n) throw new PkiError('ssh.invalid_request', 'KRL version must be non-negative');
  return concatBytes(
    sshUint64(KRL_MAGIC),
    sshUint32(KRL_FORMAT_VERSION),
    sshUint64(input.version),
    sshUint64(BigInt(Math.floor(input.generatedAt / 1000))),
    sshUint64(0n),
    sshString(new Uint8Array(0)),
    sshString(input.comment ?? ''),
    ...sections,
  );
}

function uniqueSorted(blobs: readonly Uint8Array[]): Uint8Array[] {
  const sorted = [...blobs].sort(compareBytes);
  return sorted.filter((b, i) => i === 0 || !bytesEqual(b, sorted[i - 1]!)); // i >= 1 here
}

/** Parses a KRL (the parts PKI Manager and `ssh-keygen -k` write). Throws `ssh.invalid_krl`. */
export function parseKrl(data: Uint8Array): ParsedKrl {
  const r = createSshReader(data, 'ssh.invalid_krl', 'KRL');
  if (r.uint64() !== KRL_MAGIC) throw new PkiError('ssh.invalid_krl', 'not an OpenSSH KRL (bad magic)');
  const format = r.uint32();
  if (format !== KRL_FORMAT_VERSION) throw new PkiError('ssh.invalid_krl', `unsupported KRL format ${format}`);
  const out: ParsedKrl = {
    version: r.uint64(),
    generatedAt: r.uint64(),
    comment: '',
    certificates: [],
    keys: [],
    sha1: [],
    sha256: [],
  };
  r.uint64(); // flags
  r.string(); // reserved
  out.comment = r.text();
  while (r.remaining > 0) {
    const type = r.byte();
    const body = r.string();
    const s = createSshReader(body, 'ssh.invalid_krl', `KRL section ${type}`);
    if (type === SECTION_CERTIFICATES) {
      const ca = s.string();
      s.string();
      const section = {
        caPublicKey: ca.length ? ca : null,
        serials: [] as bigint[],
        serialRanges: [] as { from: bigint; to: bigint }[],
        keyIds: [] as string[],
      };
      while (s.remaining > 0) {
        const sub = s.byte();
        const sr = createSshReader(s.string(), 'ssh.invalid_krl', `KRL certificate subsection ${sub}`);
        if (sub === CERT_SERIAL_LIST) while (sr.remaining > 0) section.serials.push(sr.uint64());
        else if (sub === CERT_SERIAL_RANGE) section.serialRanges.push({ from: sr.uint64(), to: sr.uint64() });
        else if (sub === CERT_SERIAL_BITMAP) {
          const offset = sr.uint64();
          const bitmap = sr.mpint();
          for (let i = 0; i < bitmap.length * 8; i++) {
            if (bitmap[bitmap.length - 1 - (i >> 3)]! & (1 << (i & 7))) section.serials.push(offset + BigInt(i));
          }
        } else if (sub === CERT_KEY_ID) while (sr.remaining > 0) section.keyIds.push(sr.text());
        else throw new PkiError('ssh.invalid_krl', `unknown KRL certificate subsection 0x${sub.toString(16)}`);
      }
      out.certificates.push(section);
    } else if (type === SECTION_EXPLICIT_KEY) while (s.remaining > 0) out.keys.push(s.string());
    else if (type === SECTION_FINGERPRINT_SHA1) while (s.remaining > 0) out.sha1.push(s.string());
    else if (type === SECTION_FINGERPRINT_SHA256) while (s.remaining > 0) out.sha256.push(s.string());
    else if (type === SECTION_SIGNATURE)
      break; // signatures come last and cover everything before them
    else throw new PkiError('ssh.invalid_krl', `unknown KRL section ${type}`);
  }
  return out;
}

function keyRevoked(krl: ParsedKrl, blob: Uint8Array): boolean {
  if (krl.keys.some((k) => bytesEqual(k, blob))) return true;
  const sha1 = createHash('sha1').update(blob).digest();
  const sha256 = createHash('sha256').update(blob).digest();
  return krl.sha1.some((h) => bytesEqual(h, sha1)) || krl.sha256.some((h) => bytesEqual(h, sha256));
}

/** Whether `sshd` would refuse this certificate (or plain key blob) under this KRL. */
export function isRevokedByKrl(krl: ParsedKrl, subject: ParsedSshCertificate | Uint8Array): boolean {
  if (subject instanceof Uint8Array) return keyRevoked(krl, subject);
  if (keyRevoked(krl, subject.publicKey) || keyRevoked(krl, subject.caPublicKey)) return true;
  for (const cs of krl.certificates) {
    if (cs.caPublicKey && !bytesEqual(cs.caPublicKey, subject.caPublicKey)) continue;
    if (cs.serials.includes(subject.serial)) return true;
    if (cs.serialRanges.some((r) => subject.serial >= r.from && subject.serial <= r.to)) return true;
    if (cs.keyIds.includes(subject.keyId)) return true;
  }
  return false;
}
