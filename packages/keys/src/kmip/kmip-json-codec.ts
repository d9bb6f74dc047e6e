/**
 * Cosmian KMS JSON TTLV codec (KMIP 2.1 over HTTP).
 *
 * Quirks handled (see packages/keys/src/kmip/README.md): a node without `type` is a Structure;
 * LongInteger is written as a `0x` + 16 uppercase hex digits string; ByteString is uppercase hex without
 * `0x`; Enumeration values are Cosmian variant names (or `0x0000000C` when unknown); DateTime is RFC 3339 UTC.
 */
import { PkiError } from '@pkim/shared';
import { enumName, enumNumber, type TtlvNode, type TtlvType } from './kmip-ttlv';

export interface JsonTtlv {
  tag: string;
  type?: string;
  value: unknown;
}

export interface JsonEncodeOptions {
  /** Write `"type":"Structure"` on structures (Cosmian requests do; its responses omit it). Default true. */
  structureType?: boolean;
}

const TYPES: ReadonlySet<string> = new Set([
  'Structure',
  'Integer',
  'LongInteger',
  'BigInteger',
  'Enumeration',
  'Boolean',
  'TextString',
  'ByteString',
  'DateTime',
  'Interval',
  'DateTimeExtended',
]);

function codecError(path: string, message: string): PkiError {
  return new PkiError('kms.operation_failed', `KMIP JSON TTLV: ${path}: ${message}`, {
    details: { reason: 'codec', path },
  });
}

export function hexToBytes(hex: string, path = 'value'): Uint8Array {
  if (hex.length % 2 !== 0 || !/^[0-9a-fA-F]*$/.test(hex)) throw codecError(path, 'invalid hex string');
  return new Uint8Array(Buffer.from(hex, 'hex'));
}

export function bytesToHex(bytes: Uint8Array): string {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('hex').toUpperCase();
}

function hexBig(s: string, path: string): bigint {
  if (!/^0x[0-9a-fA-F]+$/.test(s))
    throw codecError(path, `expected 0x-prefixed hex, got ${JSON.stringify(s).slice(0, 40)}`);
  return BigInt(s);
}

/** Formats a DateTime the way Cosmian does: RFC 3339 UTC with second precision. */
export function formatKmipDateTime(d: Date): string {
  return d.toISOString().replace(/\.\d{3}Z$/, 'Z');
}

/** Decodes one JSON TTLV node (already parsed from JSON) into the message model. */
export function decodeJsonTtlv(input: unknown, path = '$'): TtlvNode {
  if (typeof input !== 'object' || input === null || Array.isArray(input))
    throw codecError(path, 'node must be an object');
  const o = input as Record<string, unknown>;
  const tag = o.tag;
  if (typeof tag !== 'string' || tag === '') throw codecError(path, 'missing tag');
  const here = `${path}/${tag}`;
  const type = o.type === undefined ? 'Structure' : o.type;
  if (typeof type !== 'string' || !TYPES.has(type)) throw codecError(here, `unknown type ${JSON.stringify(type)}`);
  const v = o.value;
  switch (type as TtlvType) {
    case 'Structure': {
      if (!Array.isArray(v)) throw codecError(here, 'Structure value must be an array');
      return { tag, type: 'Structure', value: v.map((c, i) => decodeJsonTtlv(c, `${here}[${i}]`)) };
    }
    case 'Integer':
    case 'Interval': {
      let n: number;
      if (typeof v === 'number' && Number.isInteger(v)) n = v;
      else if (typeof v === 'string') n = Number(BigInt.asIntN(32, hexBig(v, here)));
      else throw codecError(here, `${type} must be an integer or 0x hex`);
      return { tag, type: type as 'Integer', value: n };
    }
    case 'LongInteger':
    case 'DateTimeExtended': {
      let n: bigint;
      if (typeof v === 'number' && Number.isInteger(v)) n = BigInt(v);
      else if (typeof v === 'string') n = BigInt.asIntN(64, hexBig(v, here));
      else throw codecError(here, `${type} must be 0x hex or an integer`);
      return { tag, type: type as 'LongInteger', value: n };
    }
    case 'BigInteger': {
      if (typeof v !== 'string' || !/^0x([0-9a-fA-F]{2})*$/.test(v))
        throw codecError(here, 'BigInteger must be 0x + hex bytes');
      return { tag, type: 'BigInteger', value: hexToBytes(v.slice(2), here) };
    }
    case 'Enumeration': {
      if (typeof v === 'number' && Number.isInteger(v)) return { tag, type: 'Enumeration', value: enumName(tag, v) };
      if (typeof v !== 'string' || v === '') throw codecError(here, 'Enumeration must be a name or 0x hex');
      if (/^0x/i.test(v)) {
        const n = enumNumber(tag, v);
        if (n === undefined) throw codecError(here, 'bad enumeration hex');
        return { tag, type: 'Enumeration', value: enumName(tag, n) };
      }
      return { tag, type: 'Enumeration', value: v };
    }
    case 'Boolean': {
      if (typeof v !== 'boolean') throw codecError(here, 'Boolean must be true/false');
      return { tag, type: 'Boolean', value: v };
    }
    case 'TextString': {
      if (typeof v !== 'string') throw codecError(here, 'TextString must be a string');
      return { tag, type: 'TextString', value: v };
    }
    case 'ByteString': {
      if (typeof v !== 'string') throw codecError(here, 'ByteString must be a hex string');
      return { tag, type: 'ByteString', value: hexToBytes(v, here) };
    }
    case 'DateTime': {
      let d: Date;
      if (typeof v === 'string' && /^0x/i.test(v)) d = new Date(Number(hexBig(v, here)) * 1000);
      else if (typeof v === 'number') d = new Date(v * 1000);
      else if (typeof v === 'string') d = new Date(v);
      else throw codecError(here, 'DateTime must be an RFC 3339 string');
      if (Number.isNaN(d.getTime())) throw codecError(here, 'invalid DateTime');
      return { tag, type: 'DateTime', value: d };
    }
  }
}

/** Encodes a model node as Cosmian JSON TTLV (a plain object ready for JSON.stringify). */
export function encodeJsonTtlv(node: TtlvNode, opts: JsonEncodeOptions = {}): JsonTtlv {
  const withType = opts.structureType ?? true;
  switch (node.type) {
    case 'Structure': {
      const value = node.value.map((c) => encodeJsonTtlv(c, opts));
      return withType ? { tag: node.tag, type: 'Structure', value } : { tag: node.tag, value };
    }
    case 'Integer':
    case 'Interval':
    case 'Boolean':
    case 'TextString':
      return { tag: node.tag, type: node.type, value: node.value };
    case 'LongInteger':
    case 'DateTimeExtended':
      return {
        tag: node.tag,
        type: node.type,
        value: `0x${BigInt.asUintN(64, node.value).toString(16).toUpperCase().padStart(16, '0')}`,
      };
    case 'BigInteger':
      return { tag: node.tag, type: 'BigInteger', value: `0x${bytesToHex(node.value)}` };
    case 'ByteString':
      return { tag: node.tag, type: 'ByteString', value: bytesToHex(node.value) };
    case 'Enumeration': {
      const value =
        typeof node.value === 'number' ? `0x${node.value.toString(16).toUpperCase().padStart(8, '0')}` : node.value;
      return { tag: node.tag, type: 'Enumeration', value };
    }
    case 'DateTime':
      return { tag: node.tag, type: 'DateTime', value: formatKmipDateTime(node.value) };
  }
}

export function parseJsonTtlv(text: string): TtlvNode {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    throw codecError('$', 'body is not JSON');
  }
  return decodeJsonTtlv(parsed);
}

export function stringifyJsonTtlv(node: TtlvNode, opts?: JsonEncodeOptions): string {
  return JSON.stringify(encodeJsonTtlv(node, opts));
}
