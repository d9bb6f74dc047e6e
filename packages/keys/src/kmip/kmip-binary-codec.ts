/**
 * Binary TTLV codec (KMIP 1.x / 2.x wire format): 3-byte tag, 1-byte type, 4-byte big-endian length of
 * the unpadded value, value padded with zeros to a multiple of 8. Structures hold encoded children.
 */
import { PkiError } from '@pkim/shared';
import {
  TTLV_TYPE_BY_CODE,
  TTLV_TYPE_CODES,
  enumName,
  enumNumber,
  tagName,
  tagNumber,
  type TtlvNode,
} from './kmip-ttlv';

function codecError(message: string, details: Record<string, unknown> = {}): PkiError {
  return new PkiError('kms.operation_failed', `KMIP binary TTLV: ${message}`, {
    details: { reason: 'codec', ...details },
  });
}

const pad8 = (n: number): number => (n + 7) & ~7;

function header(tag: string, type: TtlvNode['type'], length: number): Buffer {
  const t = tagNumber(tag);
  if (t === undefined) throw codecError(`no binary tag number for ${tag}`, { tag });
  const h = Buffer.alloc(8);
  h.writeUIntBE(t, 0, 3);
  h.writeUInt8(TTLV_TYPE_CODES[type], 3);
  h.writeUInt32BE(length, 4);
  return h;
}

function padded(value: Buffer): Buffer {
  const out = Buffer.alloc(pad8(value.length));
  value.copy(out);
  return out;
}

export function encodeBinaryTtlv(node: TtlvNode): Buffer {
  switch (node.type) {
    case 'Structure': {
      const body = Buffer.concat(node.value.map(encodeBinaryTtlv));
      return Buffer.concat([header(node.tag, 'Structure', body.length), body]);
    }
    case 'Integer':
    case 'Interval': {
      const v = Buffer.alloc(8);
      if (node.type === 'Integer') v.writeInt32BE(node.value, 0);
      else v.writeUInt32BE(node.value, 0);
      return Buffer.concat([header(node.tag, node.type, 4), v]);
    }
    case 'Enumeration': {
      const n = enumNumber(node.tag, node.value);
      if (n === undefined)
        throw codecError(`unknown enumeration ${String(node.value)} for ${node.tag}`, { tag: node.tag });
      const v = Buffer.alloc(8);
      v.writeUInt32BE(n >>> 0, 0);
      return Buffer.concat([header(node.tag, 'Enumeration', 4), v]);
    }
    case 'LongInteger':
    case 'DateTimeExtended': {
      const v = Buffer.alloc(8);
      v.writeBigInt64BE(BigInt.asIntN(64, node.value), 0);
      return Buffer.concat([header(node.tag, node.type, 8), v]);
    }
    case 'DateTime': {
      const v = Buffer.alloc(8);
      v.writeBigInt64BE(BigInt(Math.floor(node.value.getTime() / 1000)), 0);
      return Buffer.concat([header(node.tag, 'DateTime', 8), v]);
    }
    case 'Boolean': {
      const v = Buffer.alloc(8);
      v.writeUInt8(node.value ? 1 : 0, 7);
      return Buffer.concat([header(node.tag, 'Boolean', 8), v]);
    }
    case 'TextString': {
      const v = Buffer.from(node.value, 'utf8');
      return Buffer.concat([header(node.tag, 'TextString', v.length), padded(v)]);
    }
    case 'ByteString': {
      const v = Buffer.from(node.value);
      return Buffer.concat([header(node.tag, 'ByteString', v.length), padded(v)]);
    }
    case 'BigInteger': {
      // length must be a multiple of 8: sign-extend on the left
      const raw = Buffer.from(node.value);
      const len = Math.max(8, pad8(raw.length));
      const fill = raw.length > 0 && (raw[0]! & 0x80) !== 0 ? 0xff : 0x00;
      const v = Buffer.alloc(len, fill);
      raw.copy(v, len - raw.length);
      return Buffer.concat([header(node.tag, 'BigInteger', len), v]);
    }
  }
}

/** Total size of the TTLV item starting at `buf[0]` (header + value incl. padding), or undefined if < 8 bytes. */
export function binaryTtlvItemLength(buf: Uint8Array): number | undefined {
  if (buf.length < 8) return undefined;
  const b = Buffer.from(buf.buffer, buf.byteOffset, buf.byteLength);
  const type = b.readUInt8(3);
  const len = b.readUInt32BE(4);
  return 8 + (type === TTLV_TYPE_CODES.Structure ? len : pad8(len));
}

export function decodeBinaryTtlv(input: Uint8Array): TtlvNode {
  const buf = Buffer.from(input.buffer, input.byteOffset, input.byteLength);
  const { node, next } = decodeAt(buf, 0, buf.length);
  if (next !== buf.length) throw codecError(`trailing ${buf.length - next} bytes after the top-level item`);
  return node;
}

function decodeAt(buf: Buffer, offset: number, end: number): { node: TtlvNode; next: number } {
  if (end - offset < 8) throw codecError(`truncated header at offset ${offset}`);
  const tag = tagName(buf.readUIntBE(offset, 3));
  const typeCode = buf.readUInt8(offset + 3);
  const type = TTLV_TYPE_BY_CODE.get(typeCode);
  if (!type) throw codecError(`unknown item type 0x${typeCode.toString(16)} for ${tag} at offset ${offset}`);
  const len = buf.readUInt32BE(offset + 4);
  const start = offset + 8;
  const size = type === 'Structure' ? len : pad8(len);
  if (start + size > end) throw codecError(`item ${tag} overruns its container (offset ${offset})`);
  const next = start + size;
  const fixed = (want: number): void => {
    if (len !== want) throw codecError(`${type} ${tag} has length ${len}, expected ${want}`);
  };
  switch (type) {
    case 'Structure': {
      const children: TtlvNode[] = [];
      let p = start;
      while (p < next) {
        const r = decodeAt(buf, p, next);
        children.push(r.node);
        p = r.next;
      }
      return { node: { tag, type, value: children }, next };
    }
    case 'Integer':
      fixed(4);
      return { node: { tag, type, value: buf.readInt32BE(start) }, next };
    case 'Interval':
      fixed(4);
      return { node: { tag, type, value: buf.readUInt32BE(start) }, next };
    case 'Enumeration':
      fixed(4);
      return { node: { tag, type, value: enumName(tag, buf.readUInt32BE(start)) }, next };
    case 'LongInteger':
    case 'DateTimeExtended':
      fixed(8);
      return { node: { tag, type, value: buf.readBigInt64BE(start) }, next };
    case 'DateTime':
      fixed(8);
      return { node: { tag, type, value: new Date(Number(buf.readBigInt64BE(start)) * 1000) }, next };
    case 'Boolean':
      fixed(8);
      return { node: { tag, type, value: buf.readBigUInt64BE(start) !== 0n }, next };
    case 'TextString':
      return { node: { tag, type, value: buf.toString('utf8', start, start + len) }, next };
    case 'ByteString':
    case 'BigInteger':
      return { node: { tag, type, value: new Uint8Array(buf.subarray(start, start + len)) }, next };
  }
}
