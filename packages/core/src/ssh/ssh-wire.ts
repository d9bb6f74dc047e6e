/**
 * The SSH wire encoding (RFC 4251 §5): uint32, uint64, string, mpint, plus a bounds-checked reader.
 * Used by the OpenSSH certificate (PROTOCOL.certkeys) and KRL (PROTOCOL.krl) codecs.
 */
import { PkiError } from '@pkim/shared';
import { concat } from '../der-writer';

const textEncoder = new TextEncoder();

export function sshUint32(n: number): Uint8Array {
  const b = new Uint8Array(4);
  new DataView(b.buffer).setUint32(0, n >>> 0);
  return b;
}

export function sshUint64(n: bigint): Uint8Array {
  if (n < 0n || n > 0xffff_ffff_ffff_ffffn) throw new RangeError('uint64 out of range');
  const b = new Uint8Array(8);
  new DataView(b.buffer).setBigUint64(0, n);
  return b;
}

export function sshByte(n: number): Uint8Array {
  return Uint8Array.of(n & 0xff);
}

/** A length-prefixed byte string; text is encoded as UTF-8. */
export function sshString(value: Uint8Array | string): Uint8Array {
  const bytes = typeof value === 'string' ? textEncoder.encode(value) : value;
  return concatBytes(sshUint32(bytes.length), bytes);
}

/**
 * A non-negative multiple-precision integer from unsigned big-endian bytes (leading zeros stripped, sign octet
 * added).
 */
export function sshMpint(unsigned: Uint8Array): Uint8Array {
  let i = 0;
  while (i < unsigned.length && unsigned[i] === 0) i++;
  const body = unsigned.subarray(i);
  if (body.length === 0) return sshUint32(0);
  return (body[0] ?? 0) & 0x80 ? sshString(concatBytes(Uint8Array.of(0), body)) : sshString(body);
}

/** The parts one after the other (der-writer's concat, with the parts as arguments). */
export function concatBytes(...parts: Uint8Array[]): Uint8Array {
  return concat(parts);
}

/** Lexicographic byte comparison (memcmp order, shorter first on a common prefix). */
export function compareBytes(a: Uint8Array, b: Uint8Array): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) if (a[i] !== b[i]) return a[i]! - b[i]!; // i < min(a.length, b.length)
  return a.length - b.length;
}

export function bytesEqual(a: Uint8Array, b: Uint8Array): boolean {
  return compareBytes(a, b) === 0;
}

export interface SshReader {
  readonly remaining: number;
  readonly offset: number;
  byte(): number;
  uint32(): number;
  uint64(): bigint;
  string(): Uint8Array;
  text(): string;
  /** An mpint as unsigned big-endian bytes (negative values are refused). */
  mpint(): Uint8Array;
  rest(): Uint8Array;
  /** Throws when bytes are left over. */
  end(): void;
}

/**
 * A reader over SSH wire data. Every read checks bounds and throws PkiError(`code`) with `what`
 * in the message, so a truncated or padded blob is a clear input error, never an exception from the runtime.
 */
export function createSshReader(data: Uint8Array, code = 'ssh.invalid_public_key', what = 'SSH data'): SshReader {
  let pos = 0;
  const view = new DataView(data.buffer, data.byteOffset, data.byteLength);
  const fail = (msg: string): never => {
    throw new PkiError(code, `${what}: ${msg}`);
  };
  const need = (n: number) => {
    if (pos + n > data.length) fail(`truncated at byte ${pos}`);
  };
  const utf8 = new TextDecoder('utf-8', { fatal: true });
  const reader: SshReader = {
    get remaining() {
      return data.length - pos;
    },
    get offset() {
      return pos;
    },
    byte() {
      need(1);
      return data[pos++]!; // need(1) checked the bounds
    },
    uint32() {
      need(4);
      const v = view.getUint32(pos);
      pos += 4;
      return v;
    },
    uint64() {
      need(8);
      const v = view.getBigUint64(pos);
      pos += 8;
      return v;
    },
    string() {
      const len = reader.uint32();
      need(len);
      const v = data.subarray(pos, pos + len);
      pos += len;
      return v;
    },
    text() {
      const raw = reader.string();
      try {
        return utf8.decode(raw);
      } catch {
        return fail('a text field is not valid UTF-8');
      }
    },
    mpint() {
      const raw = reader.string();
      if ((raw[0] ?? 0) & 0x80) fail('negative mpint');
      let i = 0;
      while (i < raw.length && raw[i] === 0) i++;
      return raw.subarray(i);
    },
    rest() {
      const v = data.subarray(pos);
      pos = data.length;
      return v;
    },
    end() {
      if (pos !== data.length) fail(`${data.length - pos} unexpected trailing bytes`);
    },
  };
  return reader;
}
