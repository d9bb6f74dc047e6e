/**
 * A local stand-in for Cosmian KMS built from the published fixtures (test/fixtures/kmip/*.json).
 * It validates every request against a strict per-operation schema (tags, types, enumeration values,
 * required and single-valued children, value formats) and answers HTTP 422 with a KMIP-style text
 * body when the request is malformed, exactly like Cosmian does for bare operations. Valid requests
 * get the fixture response (UniqueIdentifier echoed). Keys follow a small lifecycle
 * (Active → Revoked → Destroyed). Faults can be queued (HTTP status, connection reset, hang).
 */
import { readFileSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { join } from 'node:path';

export const FIXTURE_DIR = join(import.meta.dirname, '..', 'fixtures', 'kmip');

export interface Json {
  tag: string;
  type?: string;
  value: unknown;
}

export function loadFixture(name: string): Record<string, unknown> & { request: Json; response: Json } {
  return JSON.parse(readFileSync(join(FIXTURE_DIR, name), 'utf8')) as never;
}

export const FIXTURE_TBS_HEX = readFileSync(join(FIXTURE_DIR, 'tbs-certificate.der.hex'), 'utf8').trim().toUpperCase();

// ------------------------------------------------------------------------------------------------
// strict schema

interface Field {
  type: 'Structure' | 'Integer' | 'LongInteger' | 'Enumeration' | 'Boolean' | 'TextString' | 'ByteString' | 'DateTime';
  enum?: readonly string[];
  required?: boolean;
  multiple?: boolean;
  children?: Schema;
}
type Schema = Record<string, Field>;

const ALGS = ['RSA', 'ECDSA', 'EC', 'ECDH', 'Ed25519'] as const;
const name: Field = {
  type: 'Structure',
  children: {
    NameValue: { type: 'TextString', required: true },
    NameType: { type: 'Enumeration', enum: ['UninterpretedTextString', 'URI'], required: true },
  },
};
const linkList: Field = {
  type: 'Structure',
  children: {
    Link: {
      type: 'Structure',
      multiple: true,
      children: {
        LinkType: { type: 'Enumeration', enum: ['CertificateLink', 'PublicKeyLink', 'PrivateKeyLink'], required: true },
        LinkedObjectIdentifier: { type: 'TextString', required: true },
      },
    },
  },
};
const vendorAttributes: Field = {
  type: 'Structure',
  children: {
    VendorAttributes: {
      type: 'Structure',
      multiple: true,
      children: {
        VendorIdentification: { type: 'TextString', required: true },
        AttributeName: { type: 'TextString', required: true },
        AttributeValue: { type: 'ByteString', required: true },
      },
    },
  },
};
const keyAttributes = (objectTypes: string[]): Field => ({
  type: 'Structure',
  children: {
    CryptographicAlgorithm: { type: 'Enumeration', enum: ALGS, required: true },
    CryptographicLength: { type: 'Integer' },
    CryptographicDomainParameters: {
      type: 'Structure',
      children: { RecommendedCurve: { type: 'Enumeration', enum: ['P256', 'P384', 'P521'], required: true } },
    },
    CryptographicUsageMask: { type: 'Integer' },
    ObjectType: { type: 'Enumeration', enum: objectTypes },
    Name: { ...name, multiple: true },
    ActivationDate: { type: 'DateTime' },
    KeyFormatType: {
      type: 'Enumeration',
      enum: ['TransparentRSAPrivateKey', 'TransparentECPrivateKey', 'PKCS8', 'PKCS1'],
    },
    Link: linkList,
    VendorAttributes: vendorAttributes,
  },
});

export const OPERATION_SCHEMAS: Record<string, Schema> = {
  Query: {
    QueryFunction: {
      type: 'Enumeration',
      enum: ['QueryOperations', 'QueryObjects', 'QueryServerInformation'],
      multiple: true,
      required: true,
    },
  },
  CreateKeyPair: {
    CommonAttributes: { ...keyAttributes(['PrivateKey']), required: true },
    PrivateKeyAttributes: keyAttributes(['PrivateKey']),
    PublicKeyAttributes: keyAttributes(['PublicKey']),
  },
  Get: {
    UniqueIdentifier: { type: 'TextString', required: true },
    KeyFormatType: {
      type: 'Enumeration',
      enum: ['Raw', 'PKCS1', 'PKCS8', 'X509', 'TransparentRSAPublicKey', 'TransparentECPublicKey'],
    },
  },
  Sign: {
    UniqueIdentifier: { type: 'TextString', required: true },
    CryptographicParameters: {
      type: 'Structure',
      children: {
        PaddingMethod: { type: 'Enumeration', enum: ['PKCS1v15', 'PSS'] },
        HashingAlgorithm: { type: 'Enumeration', enum: ['SHA256', 'SHA384', 'SHA512'] },
        DigitalSignatureAlgorithm: {
          type: 'Enumeration',
          enum: [
            'SHA256WithRSAEncryption',
            'SHA384WithRSAEncryption',
            'SHA512WithRSAEncryption',
            'RSASSAPSS',
            'ECDSAWithSHA256',
            'ECDSAWithSHA384',
            'ECDSAWithSHA512',
          ],
        },
        CryptographicAlgorithm: { type: 'Enumeration', enum: ALGS },
        SaltLength: { type: 'Integer' },
      },
    },
    Data: { type: 'ByteString' },
    DigestedData: { type: 'ByteString' },
    CorrelationValue: { type: 'ByteString' },
    InitIndicator: { type: 'Boolean' },
    FinalIndicator: { type: 'Boolean' },
  },
  Certify: {
    UniqueIdentifier: { type: 'TextString' },
    CertificateRequestType: { type: 'Enumeration', enum: ['PKCS10', 'PEM'] },
    CertificateRequestValue: { type: 'ByteString' },
    Attributes: {
      type: 'Structure',
      children: {
        CertificateAttributes: {
          type: 'Structure',
          children: Object.fromEntries(
            ['Cn', 'O', 'Ou', 'C', 'St', 'L', 'Email'].map((k) => [
              `CertificateSubject${k}`,
              { type: 'TextString' as const },
            ]),
          ),
        },
        Link: linkList,
        ObjectType: { type: 'Enumeration', enum: ['Certificate'] },
        VendorAttributes: vendorAttributes,
      },
    },
  },
  Activate: { UniqueIdentifier: { type: 'TextString', required: true } },
  Destroy: { UniqueIdentifier: { type: 'TextString', required: true }, Remove: { type: 'Boolean' } },
  Revoke: {
    UniqueIdentifier: { type: 'TextString', required: true },
    RevocationReason: {
      type: 'Structure',
      required: true,
      children: {
        RevocationReasonCode: {
          type: 'Enumeration',
          required: true,
          enum: [
            'Unspecified',
            'KeyCompromise',
            'CACompromise',
            'AffiliationChanged',
            'Superseded',
            'CessationOfOperation',
            'PrivilegeWithdrawn',
          ],
        },
        RevocationMessage: { type: 'TextString' },
      },
    },
    CompromiseOccurrenceDate: { type: 'DateTime' },
    Cascade: { type: 'Boolean' },
  },
  Locate: {
    MaximumItems: { type: 'Integer' },
    OffsetItems: { type: 'Integer' },
    Attributes: {
      type: 'Structure',
      required: true,
      children: {
        ObjectType: { type: 'Enumeration', enum: ['PrivateKey', 'PublicKey', 'Certificate'] },
        CryptographicAlgorithm: { type: 'Enumeration', enum: ALGS },
        Name: name,
        VendorAttributes: vendorAttributes,
      },
    },
  },
};

const MESSAGE_SCHEMA: Schema = {
  RequestHeader: {
    type: 'Structure',
    required: true,
    children: {
      ProtocolVersion: {
        type: 'Structure',
        required: true,
        children: {
          ProtocolVersionMajor: { type: 'Integer', required: true },
          ProtocolVersionMinor: { type: 'Integer', required: true },
        },
      },
      ClientCorrelationValue: { type: 'TextString' },
      BatchCount: { type: 'Integer', required: true },
    },
  },
  BatchItem: {
    type: 'Structure',
    required: true,
    multiple: true,
    children: {
      Operation: { type: 'Enumeration', required: true, enum: Object.keys(OPERATION_SCHEMAS) },
      UniqueBatchItemID: { type: 'ByteString' },
      RequestPayload: { type: 'Structure', required: true },
    },
  },
};

export class InvalidRequest extends Error {}

function checkValue(path: string, f: Field, v: unknown): void {
  const fail = (m: string): never => {
    throw new InvalidRequest(`${path}: ${m}`);
  };
  switch (f.type) {
    case 'Integer':
      if (
        !(typeof v === 'number' && Number.isInteger(v)) &&
        !(typeof v === 'string' && /^0x[0-9A-Fa-f]{8}([0-9A-Fa-f]{8})?$/.test(v))
      )
        fail('Integer must be a JSON number or 0x hex');
      return;
    case 'LongInteger':
      if (!(typeof v === 'string' && /^0x[0-9A-Fa-f]{16}$/.test(v)) && typeof v !== 'number')
        fail('LongInteger must be 0x + 16 hex digits');
      return;
    case 'Enumeration':
      if (typeof v !== 'string') fail('Enumeration must be a string');
      if (f.enum && !f.enum.includes(v as string))
        fail(`enumeration value ${JSON.stringify(v)} not in [${f.enum.join(', ')}]`);
      return;
    case 'Boolean':
      if (typeof v !== 'boolean') fail('Boolean must be true/false');
      return;
    case 'TextString':
      if (typeof v !== 'string') fail('TextString must be a string');
      return;
    case 'ByteString':
      if (typeof v !== 'string' || v.length % 2 !== 0 || !/^[0-9A-Fa-f]*$/.test(v)) fail('ByteString must be hex');
      return;
    case 'DateTime':
      if (typeof v !== 'string' || !/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?(Z|[+-]\d\d:\d\d)$/.test(v))
        fail('DateTime must be RFC 3339');
      return;
    case 'Structure':
      return;
  }
}

/** Validates the children of a structure node against `schema`; throws InvalidRequest with a path. */
export function validateStructure(node: unknown, schema: Schema | undefined, path: string): void {
  const n = node as Json;
  if (typeof n !== 'object' || n === null || typeof n.tag !== 'string')
    throw new InvalidRequest(`${path}: not a TTLV node`);
  if (n.type !== undefined && n.type !== 'Structure')
    throw new InvalidRequest(`${path}/${n.tag}: expected Structure, got ${n.type}`);
  if (!Array.isArray(n.value)) throw new InvalidRequest(`${path}/${n.tag}: Structure value must be an array`);
  if (!schema) return;
  const here = `${path}/${n.tag}`;
  const seen = new Map<string, number>();
  for (const c of n.value as Json[]) {
    if (typeof c !== 'object' || c === null || typeof c.tag !== 'string')
      throw new InvalidRequest(`${here}: child is not a TTLV node`);
    const f = schema[c.tag];
    if (!f) throw new InvalidRequest(`${here}: unexpected tag ${c.tag}`);
    seen.set(c.tag, (seen.get(c.tag) ?? 0) + 1);
    if (!f.multiple && seen.get(c.tag)! > 1) throw new InvalidRequest(`${here}: ${c.tag} must appear once`);
    const type = c.type ?? 'Structure';
    if (type !== f.type) throw new InvalidRequest(`${here}/${c.tag}: expected type ${f.type}, got ${type}`);
    if (f.type === 'Structure') validateStructure(c, f.children, here);
    else checkValue(`${here}/${c.tag}`, f, c.value);
  }
  for (const [tag, f] of Object.entries(schema)) {
    if (f.required && !seen.has(tag)) throw new InvalidRequest(`${here}: missing required ${tag}`);
  }
}

const kids = (n: Json): Json[] => (Array.isArray(n.value) ? (n.value as Json[]) : []);
const kid = (n: Json | undefined, tag: string): Json | undefined =>
  n ? kids(n).find((c) => c.tag === tag) : undefined;

/** Semantic rules Cosmian enforces beyond the structure. */
function checkSemantics(op: string, payload: Json): void {
  if (op === 'Sign') {
    const data = kid(payload, 'Data');
    const digested = kid(payload, 'DigestedData');
    if (!data === !digested) throw new InvalidRequest('Sign: exactly one of Data or DigestedData is required');
    if (kid(payload, 'InitIndicator')?.value === true && kid(payload, 'FinalIndicator')?.value === true) {
      throw new InvalidRequest('Sign: InitIndicator and FinalIndicator must not both be true');
    }
  }
  if (op === 'Certify') {
    const t = kid(payload, 'CertificateRequestType');
    const v = kid(payload, 'CertificateRequestValue');
    if (!t !== !v) throw new InvalidRequest('Certify: CertificateRequestType and CertificateRequestValue go together');
    if (!v && !kid(payload, 'UniqueIdentifier'))
      throw new InvalidRequest('Certify: a public key UniqueIdentifier or a CSR is required');
  }
  if (op === 'CreateKeyPair') {
    for (const part of ['CommonAttributes', 'PrivateKeyAttributes', 'PublicKeyAttributes']) {
      const a = kid(payload, part);
      if (!a) continue;
      const alg = kid(a, 'CryptographicAlgorithm')?.value;
      if (alg === 'RSA' && !kid(a, 'CryptographicLength'))
        throw new InvalidRequest(`CreateKeyPair/${part}: RSA needs CryptographicLength`);
      if (alg !== 'RSA' && !kid(a, 'CryptographicDomainParameters') && !kid(a, 'CryptographicLength')) {
        throw new InvalidRequest(`CreateKeyPair/${part}: EC needs CryptographicDomainParameters`);
      }
    }
  }
}

/** Validates a bare operation or a RequestMessage; returns the batch items as [operation, payload]. */
export function validateRequest(body: unknown): { op: string; payload: Json }[] {
  const n = body as Json;
  if (typeof n !== 'object' || n === null || typeof n.tag !== 'string')
    throw new InvalidRequest('$: body is not a TTLV node');
  if (n.tag === 'RequestMessage') {
    validateStructure(n, MESSAGE_SCHEMA, '$');
    const items = kids(n).filter((c) => c.tag === 'BatchItem');
    const count = kid(kid(n, 'RequestHeader'), 'BatchCount')?.value;
    if (count !== items.length)
      throw new InvalidRequest(`$/RequestMessage: BatchCount ${String(count)} != ${items.length} items`);
    return items.map((item, index) => {
      const op = kid(item, 'Operation')!.value as string;
      const payload = kid(item, 'RequestPayload')!;
      let schema = OPERATION_SCHEMAS[op]!;
      if (index > 0 && schema.UniqueIdentifier) {
        // KMIP ID placeholder: a later batch item may omit the UID and use the previous item's result
        schema = { ...schema, UniqueIdentifier: { ...schema.UniqueIdentifier, required: false } };
      }
      validateStructure(payload, schema, `$/BatchItem(${op})`);
      checkSemantics(op, payload);
      return { op, payload };
    });
  }
  const schema = OPERATION_SCHEMAS[n.tag];
  if (!schema) throw new InvalidRequest(`$: unknown operation ${n.tag}`);
  validateStructure(n, schema, '$');
  checkSemantics(n.tag, n);
  return [{ op: n.tag, payload: n }];
}

// ------------------------------------------------------------------------------------------------
// the responder

export type Fault = { kind: 'status'; status: number; body?: string } | { kind: 'reset' } | { kind: 'hang' };

export interface CosmianResponder {
  url: string;
  /** Every request received: parsed body and whether it passed validation. */
  requests: { body: unknown; valid: boolean; error?: string; authorization?: string }[];
  /** Faults applied to the next requests, in order. */
  faults: Fault[];
  close(): Promise<void>;
}

export interface CosmianResponderOptions {
  /** Require `Authorization: Bearer <apiKey>` (401 otherwise). */
  apiKey?: string;
  /** DER of the certificate returned by Get(X509) for the Certify fixture's certificate UID. */
  certificateDer?: Uint8Array;
}

class KmipFailure extends Error {
  constructor(
    readonly reason: string,
    message: string,
  ) {
    super(message);
  }
}

export async function startCosmianResponder(opts: CosmianResponderOptions = {}): Promise<CosmianResponder> {
  const fx = {
    query: loadFixture('query.json'),
    ckpRsa: loadFixture('create-key-pair-rsa.json'),
    ckpEc: loadFixture('create-key-pair-ec.json'),
    get: loadFixture('get-public-key-spki.json'),
    signRsa: loadFixture('sign-rsa.json'),
    signEc: loadFixture('sign-ecdsa.json'),
    certify: loadFixture('certify.json'),
    locate: loadFixture('locate.json'),
    error: loadFixture('error-response.json'),
  };
  const uidOf = (resp: Json, tag: string): string => kid(resp, tag)!.value as string;
  const rsa = {
    priv: uidOf(fx.ckpRsa.response, 'PrivateKeyUniqueIdentifier'),
    pub: uidOf(fx.ckpRsa.response, 'PublicKeyUniqueIdentifier'),
  };
  const ec = {
    priv: uidOf(fx.ckpEc.response, 'PrivateKeyUniqueIdentifier'),
    pub: uidOf(fx.ckpEc.response, 'PublicKeyUniqueIdentifier'),
  };
  const certUid = uidOf(fx.certify.response, 'UniqueIdentifier');
  type State = 'Active' | 'Revoked' | 'Destroyed';
  const state = new Map<string, State>();

  const clone = <T>(v: T): T => JSON.parse(JSON.stringify(v)) as T;
  const withUid = (resp: Json, uid: string): Json => {
    const r = clone(resp);
    for (const c of kids(r)) if (c.tag === 'UniqueIdentifier') c.value = uid;
    return r;
  };
  const activeKey = (uid: string): void => {
    const s = state.get(uid);
    if (s !== 'Active')
      throw new KmipFailure(
        'Item_Not_Found',
        `no available key found (must be an active key) for object identifier ${uid}`,
      );
  };
  const str = (n: Json | undefined): string | undefined => (typeof n?.value === 'string' ? n.value : undefined);

  function answer(op: string, p: Json): Json {
    switch (op) {
      case 'Query':
        return clone(fx.query.response);
      case 'CreateKeyPair': {
        const alg = kid(kid(p, 'CommonAttributes'), 'CryptographicAlgorithm')?.value;
        const pair = alg === 'RSA' ? rsa : ec;
        state.set(pair.priv, 'Active');
        state.set(pair.pub, 'Active');
        return clone((alg === 'RSA' ? fx.ckpRsa : fx.ckpEc).response);
      }
      case 'Get': {
        const uid = str(kid(p, 'UniqueIdentifier'))!;
        const fmt = str(kid(p, 'KeyFormatType'));
        if (uid === rsa.priv || uid === ec.priv)
          throw new KmipFailure('Permission_Denied', 'this responder never exports private keys');
        if (uid === certUid && state.get(certUid) === 'Active') {
          if (fmt !== 'X509' || !opts.certificateDer)
            throw new KmipFailure('Key_Format_Type_Not_Supported', 'certificates are served as X509');
          return {
            tag: 'GetResponse',
            value: [
              { tag: 'ObjectType', type: 'Enumeration', value: 'Certificate' },
              { tag: 'UniqueIdentifier', type: 'TextString', value: certUid },
              {
                tag: 'Object',
                value: [
                  { tag: 'CertificateType', type: 'Enumeration', value: 'X509' },
                  {
                    tag: 'CertificateValue',
                    type: 'ByteString',
                    value: Buffer.from(opts.certificateDer).toString('hex').toUpperCase(),
                  },
                ],
              },
            ],
          };
        }
        activeKey(uid);
        if (fmt !== 'PKCS8')
          throw new KmipFailure('Key_Format_Type_Not_Supported', 'responder only holds the PKCS8 (SPKI) form');
        if (uid === rsa.pub) return clone(fx.get.response);
        return clone((fx.get.variants as Record<string, Json>).ec_spki_response!);
      }
      case 'Sign': {
        const uid = str(kid(p, 'UniqueIdentifier'))!;
        activeKey(uid);
        const alg = str(kid(kid(p, 'CryptographicParameters'), 'DigitalSignatureAlgorithm'));
        const data = str(kid(p, 'Data'))?.toUpperCase();
        if (uid === rsa.priv && alg !== 'SHA256WithRSAEncryption')
          throw new KmipFailure(
            'Invalid_Field',
            `RSA signing here is SHA256WithRSAEncryption, got ${alg ?? '(default RSASSA-PSS)'}`,
          );
        if (uid === ec.priv && alg !== 'ECDSAWithSHA256')
          throw new KmipFailure('Invalid_Field', `P-256 signing is ECDSAWithSHA256, got ${alg ?? 'none'}`);
        if (data !== FIXTURE_TBS_HEX)
          throw new KmipFailure(
            'Cryptographic_Failure',
            'the responder only holds signatures over the fixture TBSCertificate',
          );
        return withUid((uid === rsa.priv ? fx.signRsa : fx.signEc).response, uid);
      }
      case 'Certify': {
        const issuer = kids(kid(kid(p, 'Attributes'), 'Link') ?? { tag: 'Link', value: [] }).map((l) =>
          str(kid(l, 'LinkedObjectIdentifier')),
        );
        for (const i of issuer) if (i) activeKey(i);
        const pub = str(kid(p, 'UniqueIdentifier'));
        if (pub) activeKey(pub);
        state.set(certUid, 'Active');
        return clone(fx.certify.response);
      }
      case 'Activate': {
        const uid = str(kid(p, 'UniqueIdentifier'))!;
        if (!state.has(uid) || state.get(uid) === 'Destroyed')
          throw new KmipFailure('Item_Not_Found', `no object ${uid}`);
        state.set(uid, 'Active');
        return withUid(loadFixture('activate.json').response, uid);
      }
      case 'Revoke': {
        const uid = str(kid(p, 'UniqueIdentifier'))!;
        activeKey(uid);
        state.set(uid, 'Revoked');
        return withUid(loadFixture('revoke.json').response, uid);
      }
      case 'Destroy': {
        const uid = str(kid(p, 'UniqueIdentifier'))!;
        const s = state.get(uid);
        if (!s || s === 'Destroyed') throw new KmipFailure('Item_Not_Found', `no object ${uid}`);
        if (s === 'Active')
          throw new KmipFailure('Permission_Denied', `object ${uid} is Active: revoke it before destroying it`);
        state.set(uid, 'Destroyed');
        return withUid(loadFixture('destroy.json').response, uid);
      }
      case 'Locate':
        return clone(fx.locate.response);
    }
    throw new KmipFailure('Operation_Not_Supported', op);
  }

  function responseMessage(items: Json[]): Json {
    const header = clone(kid(fx.signRsa.response_message as Json, 'ResponseHeader')!);
    for (const c of kids(header)) if (c.tag === 'BatchCount') c.value = items.length;
    return { tag: 'ResponseMessage', value: [header, ...items] };
  }

  const requests: CosmianResponder['requests'] = [];
  const faults: Fault[] = [];
  const sockets = new Set<Socket>();

  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const text = Buffer.concat(chunks).toString('utf8');
      let body: unknown;
      try {
        body = JSON.parse(text);
      } catch {
        body = text;
      }
      const entry: CosmianResponder['requests'][number] = {
        body,
        valid: false,
        authorization: req.headers.authorization,
      };
      requests.push(entry);
      const fault = faults.shift();
      if (fault?.kind === 'hang') return; // accept and never answer
      if (fault?.kind === 'reset') {
        req.socket.destroy();
        return;
      }
      if (fault?.kind === 'status') {
        res
          .writeHead(fault.status, { 'content-type': 'text/html; charset=utf-8' })
          .end(fault.body ?? 'Service Unavailable');
        return;
      }
      if (req.method !== 'POST' || req.url !== '/kmip/2_1') {
        res.writeHead(404).end('Not Found');
        return;
      }
      if (opts.apiKey && req.headers.authorization !== `Bearer ${opts.apiKey}`) {
        res.writeHead(401, { 'content-type': 'text/html; charset=utf-8' }).end('Unauthorized');
        return;
      }
      let items: { op: string; payload: Json }[];
      try {
        items = validateRequest(body);
        entry.valid = true;
      } catch (e) {
        entry.error = (e as Error).message;
        res
          .writeHead(422, { 'content-type': 'text/html; charset=utf-8' })
          .end(`Invalid_Message: ${(e as Error).message}`);
        return;
      }
      const isMessage = (body as Json).tag === 'RequestMessage';
      if (!isMessage) {
        try {
          const out = answer(items[0]!.op, items[0]!.payload);
          res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(out));
        } catch (e) {
          if (!(e instanceof KmipFailure)) throw e;
          res.writeHead(422, { 'content-type': 'text/html; charset=utf-8' }).end(`${e.reason}: ${e.message}`);
        }
        return;
      }
      const outItems = items.map(({ op, payload }): Json => {
        try {
          const out = answer(op, payload);
          return {
            tag: 'BatchItem',
            value: [
              { tag: 'Operation', type: 'Enumeration', value: op },
              { tag: 'ResultStatus', type: 'Enumeration', value: 'Success' },
              { tag: 'ResponsePayload', value: kids(out) },
            ],
          };
        } catch (e) {
          if (!(e instanceof KmipFailure)) throw e;
          if (op === 'Sign' && e.reason === 'Item_Not_Found') {
            // the published failure shape, verbatim
            return kid(fx.error.response_message_failure as Json, 'BatchItem')!;
          }
          return {
            tag: 'BatchItem',
            value: [
              { tag: 'Operation', type: 'Enumeration', value: op },
              { tag: 'ResultStatus', type: 'Enumeration', value: 'OperationFailed' },
              { tag: 'ResultReason', type: 'Enumeration', value: e.reason },
              { tag: 'ResultMessage', type: 'TextString', value: e.message },
            ],
          };
        }
      });
      res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(responseMessage(outItems)));
    });
  });
  server.on('connection', (s) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    requests,
    faults,
    close: () =>
      new Promise<void>((r) => {
        for (const s of sockets) s.destroy();
        server.close(() => r());
      }),
  };
}
