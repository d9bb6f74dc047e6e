/**
 * Serial numbers.
 *
 * CANONICAL FORM (used in the database, APIs, CRL/OCSP lookups and the UI): the DER INTEGER
 * content octets as lowercase hex, without separators and without a leading `00` sign octet
 * (unless the value is exactly zero). `serialToHex` always produces that form; `normalizeSerialHex`
 * converts what users type (`0A:1B…`, `0x…`, uppercase, leading zeros) into it.
 */
import { randomFillSync } from 'node:crypto';
import { PkiError } from '@pkim/shared';

/** bytes of the issuance time at the start of a serial (milliseconds since 1970, big-endian) */
const TIME_BYTES = 6;

/**
 * 20 bytes, positive and minimally encoded (RFC 5280 §4.1.2.2): the time in milliseconds in the first 6 bytes
 * (big-endian, first byte 0x01 from 2004 to 2039, then 0x02… — never 0, top bit clear until year 6429), then 14
 * random bytes (112 bits from the CSPRNG; CA/Browser Forum BR 7.1 asks at least 64, so a serial stays unpredictable).
 * The time first makes a new serial sort after the earlier ones: the unique (ca_id, serial_hex) index and the serial
 * search term are appended at their B-trees' right edge instead of dirtying a random page per certificate (issue #12,
 * docs/benchmarks-record.md "Session 17: SQLite commit"). Serials stay unique by their random part (same millisecond).
 */
const pool = new Uint8Array(20 * 256);
let poolPos = pool.length;
export function generateSerial(): Uint8Array {
  if (poolPos >= pool.length) {
    randomFillSync(pool);
    poolPos = 0;
  }
  const b = pool.slice(poolPos, poolPos + 20);
  poolPos += 20;
  let t = Date.now();
  for (let i = TIME_BYTES - 1; i >= 0; i--) {
    b[i] = t % 256;
    t = Math.floor(t / 256);
  }
  // b has 20 bytes (the pool length is a multiple of 20); a clock before 2004 would leave a leading 0
  b[0]! &= 0x7f;
  if (b[0] === 0) b[0] = 0x01;
  return b;
}

/** Canonical lowercase hex of a serial's INTEGER content octets (leading `00` pad octets stripped). */
export function serialToHex(bytes: Uint8Array): string {
  let i = 0;
  while (i < bytes.length - 1 && bytes[i] === 0) i++;
  return Buffer.from(bytes.subarray(i)).toString('hex');
}

/** Normalises user input (`0A:1B`, `0x0a1b`, `0A1B`) to the canonical form. Throws `input.invalid`. */
export function normalizeSerialHex(s: string): string {
  const clean = s
    .trim()
    .replace(/^0x/i, '')
    .replace(/[:\s-]/g, '')
    .toLowerCase();
  if (!/^[0-9a-f]+$/.test(clean)) throw new PkiError('input.invalid', `not a hex serial number: '${s}'`);
  const even = clean.length % 2 ? `0${clean}` : clean;
  return serialToHex(new Uint8Array(Buffer.from(even, 'hex')));
}

/**
 * INTEGER content octets for a canonical hex serial (adds a `00` octet when the top bit is set,
 * so the INTEGER stays positive).
 */
export function serialHexToBytes(hex: string): Uint8Array {
  const canonical = normalizeSerialHex(hex);
  const b = new Uint8Array(Buffer.from(canonical.length % 2 ? `0${canonical}` : canonical, 'hex'));
  if ((b[0] ?? 0) & 0x80) {
    const out = new Uint8Array(b.length + 1);
    out.set(b, 1);
    return out;
  }
  return b;
}

/** Why a serial's content octets are not a valid certificate serial, or null if valid. */
export function serialProblem(bytes: Uint8Array): string | null {
  if (!(bytes instanceof Uint8Array) || bytes.length === 0) return 'serial is empty';
  if (bytes.length > 20) return `serial is ${bytes.length} bytes (max 20)`;
  const [b0 = 0, b1] = bytes;
  if (b0 & 0x80) return 'serial is negative (top bit set)';
  if (b1 !== undefined && b0 === 0 && !(b1 & 0x80)) return 'serial is not minimally encoded (leading zero byte)';
  if (bytes.every((b) => b === 0)) return 'serial is zero';
  return null;
}
