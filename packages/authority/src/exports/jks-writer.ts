/**
 * A Java KeyStore (JKS) writer over the format of OpenJDK's `sun.security.provider.JavaKeyStore` (no maintained
 * npm package writes JKS; the readers there only read). Layout, all integers big-endian:
 *
 *   magic 0xFEEDFEED · version 2 · entry count
 *   entry: tag (1 = private key, 2 = trusted certificate) · alias (Java modified UTF-8) · date (ms, int64)
 *     key:     protected key (EncryptedPrivateKeyInfo, OID 1.3.6.1.4.1.42.2.17.1.1) · chain length · certificates
 *     trusted: one certificate
 *     certificate: type "X.509" (modified UTF-8) · length · DER
 *   SHA-1(password as UTF-16BE ‖ "Mighty Aphrodite" ‖ everything before) — the keystore's integrity check
 *
 * The key protector is Sun's (`sun.security.provider.KeyProtector`): salt ‖ (PKCS#8 XOR SHA-1 key stream of the
 * password and salt) ‖ SHA-1(password ‖ PKCS#8). JKS is weak by design (SHA-1 stream cipher): PKCS#12 is the
 * default keystore type since Java 9 and the better choice wherever the appliance accepts it.
 */
import { createHash, randomBytes } from 'node:crypto';
import * as asn1js from 'asn1js';

const MAGIC = 0xfeedfeed;
const VERSION = 2;
const KEY_PROTECTOR_OID = '1.3.6.1.4.1.42.2.17.1.1';

export interface JksEntry {
  alias: string;
  /** leaf first; a key entry's chain, or one trusted certificate */
  certificates: Uint8Array[];
  /** unencrypted PKCS#8 DER: a private-key entry */
  pkcs8Der?: Uint8Array;
}

const passwordBytes = (password: string): Buffer => {
  const out = Buffer.alloc(password.length * 2);
  for (let i = 0; i < password.length; i++) out.writeUInt16BE(password.charCodeAt(i), i * 2);
  return out;
};

class Writer {
  private readonly parts: Buffer[] = [];
  int(v: number): void {
    const b = Buffer.alloc(4);
    b.writeUInt32BE(v >>> 0);
    this.parts.push(b);
  }
  long(v: number): void {
    const b = Buffer.alloc(8);
    b.writeBigInt64BE(BigInt(v));
    this.parts.push(b);
  }
  /** DataOutputStream.writeUTF: 2-byte length + modified UTF-8 (NUL as 0xC0 0x80, no 4-byte sequences) */
  utf(s: string): void {
    const bytes: number[] = [];
    for (let i = 0; i < s.length; i++) {
      const c = s.charCodeAt(i);
      if (c >= 0x01 && c <= 0x7f) bytes.push(c);
      else if (c <= 0x7ff) bytes.push(0xc0 | (c >> 6), 0x80 | (c & 0x3f));
      else bytes.push(0xe0 | (c >> 12), 0x80 | ((c >> 6) & 0x3f), 0x80 | (c & 0x3f));
    }
    if (bytes.length > 0xffff) throw new Error('JKS string too long');
    const len = Buffer.alloc(2);
    len.writeUInt16BE(bytes.length);
    this.parts.push(len, Buffer.from(bytes));
  }
  bytes(b: Uint8Array): void {
    this.int(b.length);
    this.parts.push(Buffer.from(b));
  }
  done(): Buffer {
    return Buffer.concat(this.parts);
  }
}

/** Sun's JKS key protector (see the module comment). */
export function protectJksKey(pkcs8Der: Uint8Array, password: string): Uint8Array {
  const pw = passwordBytes(password);
  const salt = randomBytes(20);
  const rounds = Math.ceil(pkcs8Der.length / 20);
  const xorKey = Buffer.alloc(pkcs8Der.length);
  let digest: Buffer = salt;
  for (let i = 0; i < rounds; i++) {
    digest = createHash('sha1').update(pw).update(digest).digest();
    digest.copy(xorKey, i * 20, 0, Math.min(20, xorKey.length - i * 20));
  }
  const encrypted = Buffer.alloc(pkcs8Der.length);
  for (let i = 0; i < pkcs8Der.length; i++) encrypted[i] = pkcs8Der[i]! ^ xorKey[i]!;
  const check = createHash('sha1').update(pw).update(pkcs8Der).digest();
  const blob = Buffer.concat([salt, encrypted, check]);
  const info = new asn1js.Sequence({
    value: [
      new asn1js.Sequence({ value: [new asn1js.ObjectIdentifier({ value: KEY_PROTECTOR_OID }), new asn1js.Null()] }),
      new asn1js.OctetString({ valueHex: blob.buffer.slice(blob.byteOffset, blob.byteOffset + blob.byteLength) }),
    ],
  });
  return new Uint8Array(info.toBER());
}

/** A JKS keystore; aliases are lower-cased (as Java does) and must be unique. */
export function writeJks(entries: JksEntry[], password: string, now: number): Uint8Array {
  const w = new Writer();
  w.int(MAGIC);
  w.int(VERSION);
  w.int(entries.length);
  const seen = new Set<string>();
  for (const e of entries) {
    const alias = e.alias.toLowerCase();
    if (seen.has(alias)) throw new Error(`duplicate JKS alias '${alias}'`);
    seen.add(alias);
    if (e.pkcs8Der) {
      w.int(1);
      w.utf(alias);
      w.long(now);
      w.bytes(protectJksKey(e.pkcs8Der, password));
      w.int(e.certificates.length);
      for (const c of e.certificates) {
        w.utf('X.509');
        w.bytes(c);
      }
    } else {
      const cert = e.certificates[0];
      if (!cert) throw new Error(`JKS entry '${alias}' has no certificate`);
      w.int(2);
      w.utf(alias);
      w.long(now);
      w.utf('X.509');
      w.bytes(cert);
    }
  }
  const body = w.done();
  const digest = createHash('sha1')
    .update(passwordBytes(password))
    .update(Buffer.from('Mighty Aphrodite', 'utf8'))
    .update(body)
    .digest();
  return new Uint8Array(Buffer.concat([body, digest]));
}
