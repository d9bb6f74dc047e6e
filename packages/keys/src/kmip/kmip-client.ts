/**
 * KMIP client: one API over both transports, with per-attempt timeout, retries with exponential
 * backoff (network errors, timeouts and retryable server errors only; never a final OperationFailed),
 * and an event per attempt through KeyBackendEvents.onOperation (no key material, ever).
 */
import { PkiError, toPkiError, type KeyType } from '@pkim/shared';
import type { KeyBackendEvents } from '../key-backend';
import {
  buildActivate,
  buildCertify,
  buildCreateKeyPair,
  buildDestroy,
  buildGetCertificate,
  buildGetPublicKey,
  buildLocate,
  buildQuery,
  buildRegister,
  buildRevoke,
  buildSign,
  parseCreateKeyPair,
  parseGetCertificate,
  parseGetPublicKey,
  parseLocate,
  parseQuery,
  parseSign,
  parseUid,
  type CertifyInput,
  type CreateKeyPairInput,
  type KmipDialect,
  type KmipRequest,
  type KmipServerInfo,
  type LocateInput,
  type RegisterKeyInput,
  type RevokeInput,
} from './kmip-operations';
import { buildBareRequest, buildRequestMessage, unwrapResponse, type ProtocolVersion } from './kmip-message';
import type { KmipTransport } from './kmip-transport';
import type { TtlvNode } from './kmip-ttlv';

export interface KmipClientConfig {
  transport: KmipTransport;
  /** Default: `cosmian-2.1` for the HTTP transport, `kmip-1.4` for TLS. */
  dialect?: KmipDialect;
  /** `bare` operations (Cosmian `/kmip/2_1`) or full RequestMessage. Default: bare over HTTP, message over TLS. */
  envelope?: 'bare' | 'message';
  /** ProtocolVersion for RequestMessage. Default 2.1 (cosmian-2.1) or 1.4 (kmip-1.4). */
  protocolVersion?: ProtocolVersion;
  /** Deadline per attempt, default 30000 ms. */
  timeoutMs?: number;
  /** Total attempts including the first, default 3. */
  retries?: number;
  /** Backoff base: waits base, 2·base, 4·base … between attempts. Default 100 ms. */
  retryBaseMs?: number;
  events?: KeyBackendEvents;
  /** Clock for ActivationDate (tests). */
  clock?: () => Date;
}

export interface CallContext {
  /** Key URI or UID the call is about (reported in events). */
  uri?: string;
}

export interface KmipClient {
  readonly dialect: KmipDialect;
  readonly server: string;
  query(): Promise<KmipServerInfo>;
  /** Creates the pair; on standard KMIP servers also Activates both halves (they start PreActive). */
  createKeyPair(input: CreateKeyPairInput): Promise<{ privateKeyUid: string; publicKeyUid: string }>;
  activate(uid: string): Promise<void>;
  /** Registers one half of a key pair made elsewhere; on standard KMIP servers also Activates it. Returns its UID. */
  register(input: RegisterKeyInput): Promise<string>;
  /** SubjectPublicKeyInfo DER. */
  getPublicKey(uid: string): Promise<Uint8Array>;
  /** The KMS hashes `data` and signs; returns an X.509-ready signature (RSA PKCS#1 v1.5, ECDSA DER). */
  sign(uid: string, keyType: KeyType, data: Uint8Array): Promise<Uint8Array>;
  revoke(uid: string, input: RevokeInput): Promise<void>;
  destroy(uid: string): Promise<void>;
  locate(input: LocateInput): Promise<string[]>;
  /** Cosmian only: returns the UID of the new Certificate object. */
  certify(input: CertifyInput): Promise<string>;
  /** Certificate DER of a Certificate object. */
  getCertificate(uid: string): Promise<Uint8Array>;
  /** Low level: sends one request (with retries/events) and returns the response payload. */
  call(req: KmipRequest, ctx?: CallContext): Promise<TtlvNode>;
  close(): Promise<void>;
}

const snake = (op: string): string => op.replace(/([a-z0-9])([A-Z])/g, '$1_$2').toLowerCase();

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** Reasons a server gives when it cannot make this kind of key pair (PyKMIP: Invalid_Field for EC). */
const KEY_TYPE_REFUSED = new Set([
  'Invalid_Field',
  'Invalid_Attribute',
  'Invalid_Attribute_Value',
  'Unsupported_Attribute',
  'Bad_Cryptographic_Parameters',
  'Feature_Not_Supported',
  'Operation_Not_Supported',
  'Unsupported_Cryptographic_Parameters',
]);

export function createKmipClient(config: KmipClientConfig): KmipClient {
  const { transport } = config;
  const dialect: KmipDialect = config.dialect ?? (transport.kind === 'http-json' ? 'cosmian-2.1' : 'kmip-1.4');
  const envelope = config.envelope ?? (transport.kind === 'http-json' ? 'bare' : 'message');
  const version =
    config.protocolVersion ?? (dialect === 'cosmian-2.1' ? { major: 2, minor: 1 } : { major: 1, minor: 4 });
  const timeoutMs = config.timeoutMs ?? 30_000;
  const attempts = Math.max(1, config.retries ?? 3);
  const baseMs = config.retryBaseMs ?? 100;
  const clock = config.clock ?? (() => new Date());

  function emit(e: Parameters<NonNullable<KeyBackendEvents['onOperation']>>[0]): void {
    try {
      config.events?.onOperation?.(e);
    } catch {
      // an observer must never break a KMS call
    }
  }

  async function call(req: KmipRequest, ctx: CallContext = {}): Promise<TtlvNode> {
    const node = envelope === 'bare' ? buildBareRequest(req) : buildRequestMessage(version, req);
    const operation = snake(req.operation);
    for (let attempt = 1; ; attempt++) {
      const t0 = performance.now();
      try {
        const res = await transport.roundTrip(node, { operation: req.operation, timeoutMs });
        const payload = unwrapResponse(req.operation, res);
        emit({
          backend: 'kmip',
          operation,
          uri: ctx.uri,
          outcome: 'success',
          attempt,
          durationMs: Math.round(performance.now() - t0),
        });
        return payload;
      } catch (e) {
        const err = toPkiError(e);
        emit({
          backend: 'kmip',
          operation,
          uri: ctx.uri,
          outcome: 'failure',
          attempt,
          durationMs: Math.round(performance.now() - t0),
          error: { code: err.code, message: err.message },
        });
        if (!err.retryable || attempt >= attempts) {
          if (attempt > 1) err.details.attempts = attempt;
          throw err;
        }
        await sleep(baseMs * 2 ** (attempt - 1));
      }
    }
  }

  const client: KmipClient = {
    dialect,
    server: transport.server,
    async query() {
      return parseQuery(await call(buildQuery()));
    },
    async createKeyPair(input) {
      let pair: { privateKeyUid: string; publicKeyUid: string };
      try {
        const req = buildCreateKeyPair(dialect, { ...input, activationDate: input.activationDate ?? clock() });
        pair = parseCreateKeyPair(await call(req));
      } catch (e) {
        const err = toPkiError(e);
        const reason = err.details.resultReason;
        if (err.code === 'kms.operation_failed' && typeof reason === 'string' && KEY_TYPE_REFUSED.has(reason)) {
          throw new PkiError(
            'kms.unsupported',
            `the KMIP server cannot create ${input.keyType} key pairs (${err.message})`,
            {
              retryable: false,
              cause: err,
              details: { ...err.details, keyType: input.keyType },
            },
          );
        }
        throw err;
      }
      if (dialect === 'kmip-1.4') {
        await client.activate(pair.privateKeyUid);
        await client.activate(pair.publicKeyUid);
      }
      return pair;
    },
    async activate(uid) {
      await call(buildActivate(uid), { uri: uid });
    },
    async register(input) {
      const req = buildRegister(dialect, { ...input, activationDate: input.activationDate ?? clock() });
      const uid = parseUid('Register', await call(req));
      if (dialect === 'kmip-1.4') {
        try {
          await client.activate(uid);
        } catch (e) {
          await call(buildDestroy(uid), { uri: uid }).catch(() => undefined);
          throw e;
        }
      }
      return uid;
    },
    async getPublicKey(uid) {
      return parseGetPublicKey(await call(buildGetPublicKey(dialect, uid), { uri: uid }));
    },
    async sign(uid, keyType, data) {
      return parseSign(await call(buildSign(dialect, uid, keyType, data), { uri: uid }));
    },
    async revoke(uid, input) {
      await call(buildRevoke(uid, input), { uri: uid });
    },
    async destroy(uid) {
      parseUid('Destroy', await call(buildDestroy(uid), { uri: uid }));
    },
    async locate(input) {
      return parseLocate(await call(buildLocate(dialect, input)));
    },
    async certify(input) {
      if (dialect !== 'cosmian-2.1') {
        throw new PkiError('kms.unsupported', 'Certify is only available with Cosmian KMS (KMIP 2.1 JSON)');
      }
      return parseUid('Certify', await call(buildCertify(input), { uri: input.publicKeyUid }));
    },
    async getCertificate(uid) {
      return parseGetCertificate(await call(buildGetCertificate(uid), { uri: uid }));
    },
    call,
    close: () => transport.close(),
  };
  return client;
}
