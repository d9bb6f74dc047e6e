/**
 * KeyBackend over KMIP. Key URIs:
 *
 *   kmip:<privateKeyUid>@<host:port>?pub=<publicKeyUid>
 *
 * UIDs are percent-encoded. `<host:port>` records where the key was created (informational: calls go to the
 * configured server, so keys survive a KMS address change). The `pub` parameter names the public half of the
 * pair, so getPublicKey never needs the private key object (which never leaves the KMS) and destroy can remove
 * both halves.
 * `http(s)://…` URLs select Cosmian JSON TTLV over HTTP; `kmip://host[:5696]` selects binary TTLV over TLS.
 */
import { createPublicKey } from 'node:crypto';
import { PkiError, toPkiError, type KeyType } from '@pkim/shared';
import {
  signerOf,
  type BackendHealth,
  type KeyBackend,
  type KeyBackendEvents,
  type KeyDestroyer,
  type KeyImporter,
  type KeyImportSpec,
  type KeySpec,
  type Signer,
} from '../key-backend';
import { privateKeyToImport } from '../private-key-pem';
import { createKmipClient, type KmipClient } from './kmip-client';
import { createKmipHttpTransport } from './kmip-http-transport';
import { createKmipTlsTransport } from './kmip-tls-transport';
import { kmipKeyType, type CertifyInput, type CertifySubject } from './kmip-operations';
import { createKmipRootCertifier } from './kmip-root-certifier';
import type { KmipTransport } from './kmip-transport';

export interface KmipBackendOptions {
  /** `http(s)://host:port` (Cosmian KMS, JSON TTLV) or `kmip://host:port` (binary TTLV over TLS). */
  url: string;
  /** Cosmian API key / JWT, sent as `Authorization: Bearer`. */
  apiKey?: string;
  /** PEM trust anchor for the server certificate. */
  caPem?: string;
  /** PEM client certificate and key (required for kmip://). */
  clientCertPem?: string;
  clientKeyPem?: string;
  /** Per-attempt deadline, default 30000 ms. */
  timeoutMs?: number;
  /** Total attempts including the first, default 3. */
  retries?: number;
  /** Backoff base in ms, default 100. */
  retryBaseMs?: number;
  events?: KeyBackendEvents;
}

export interface KmipKeyUri {
  privateKeyUid: string;
  publicKeyUid?: string;
  server: string;
}

export interface KmipCertifyRequest {
  /** Key pair (created by this backend) to certify; with no issuer the certificate is self-signed (root). */
  keyUri?: string;
  /** Or a PKCS#10 CSR (DER) to certify with the issuer key. */
  csrDer?: Uint8Array;
  /** Issuer key pair URI (for a CSR, or to have another CA key sign the key pair's certificate). */
  issuerKeyUri?: string;
  subject?: CertifySubject;
  validityDays?: number;
  x509ExtensionsIni?: string;
}

/**
 * The KMIP backend. Besides the KeyBackend interface it has the `destroy` capability and, on a Cosmian
 * KMS (http(s):// URL) only, the `certifyRoot` capability (see kmip-root-certifier.ts). Callers discover
 * both with `hasCapability`; `client` and `certify` are the low-level KMIP operations for tools and tests.
 */
export interface KmipBackend extends KeyBackend {
  readonly name: 'kmip';
  destroy: KeyDestroyer['destroy'];
  importKey: KeyImporter['importKey'];
  readonly client: KmipClient;
  /** Cosmian only: the KMS mints the certificate. Returns the Certificate object UID and its DER. */
  certify(req: KmipCertifyRequest): Promise<{ certificateUid: string; certificateDer: Uint8Array }>;
}

export function formatKmipKeyUri(k: KmipKeyUri): string {
  const pub = k.publicKeyUid ? `?pub=${encodeURIComponent(k.publicKeyUid)}` : '';
  return `kmip:${encodeURIComponent(k.privateKeyUid)}@${k.server}${pub}`;
}

export function parseKmipKeyUri(uri: string): KmipKeyUri | undefined {
  const m = /^kmip:([^@?#]+)@([^?#/]+)(?:\?([^#]*))?$/.exec(uri);
  if (!m) return undefined;
  try {
    const params = new URLSearchParams(m[3] ?? '');
    const pub = params.get('pub');
    return { privateKeyUid: decodeURIComponent(m[1]!), server: m[2]!, ...(pub ? { publicKeyUid: pub } : {}) };
  } catch {
    return undefined;
  }
}

/** Builds the transport an URL asks for (exported for tools and tests). */
export function createKmipTransport(opts: KmipBackendOptions): KmipTransport {
  let u: URL;
  try {
    u = new URL(opts.url);
  } catch {
    throw new PkiError('kms.config_invalid', `KMIP URL is not a URL: ${opts.url}`);
  }
  if (u.protocol === 'http:' || u.protocol === 'https:') {
    return createKmipHttpTransport({
      url: opts.url,
      apiKey: opts.apiKey,
      caPem: opts.caPem,
      clientCertPem: opts.clientCertPem,
      clientKeyPem: opts.clientKeyPem,
    });
  }
  if (u.protocol === 'kmip:') {
    if (!opts.caPem || !opts.clientCertPem || !opts.clientKeyPem) {
      throw new PkiError(
        'kms.config_invalid',
        'kmip:// needs a CA certificate, a client certificate and a client key (PKIM_KMIP_CA, PKIM_KMIP_CLIENT_CERT, PKIM_KMIP_CLIENT_KEY)',
      );
    }
    const host = u.hostname.replace(/^\[|\]$/g, '');
    return createKmipTlsTransport({
      host,
      port: u.port ? Number(u.port) : 5696,
      caPem: opts.caPem,
      clientCertPem: opts.clientCertPem,
      clientKeyPem: opts.clientKeyPem,
    });
  }
  throw new PkiError('kms.config_invalid', `KMIP URL scheme must be http, https or kmip, got ${u.protocol}`);
}

export function createKmipBackend(opts: KmipBackendOptions): KmipBackend {
  const transport = createKmipTransport(opts);
  const client = createKmipClient({
    transport,
    timeoutMs: opts.timeoutMs,
    retries: opts.retries,
    retryBaseMs: opts.retryBaseMs,
    events: opts.events,
  });
  const server = transport.server;

  function keyOf(uri: string): KmipKeyUri {
    const k = parseKmipKeyUri(uri);
    if (!k) throw new PkiError('input.invalid', `not a KMIP key URI: ${uri}`);
    // The host:port in the URI records where the key was created; operations always go to the configured
    // server, so a KMS that moves (new DNS name, port, proxy) keeps its keys usable after PKIM_KMIP_URL changes.
    return k;
  }

  function publicUid(k: KmipKeyUri, uri: string): string {
    if (!k.publicKeyUid) throw new PkiError('kms.config_invalid', `KMIP key URI has no ?pub=<public key uid>: ${uri}`);
    return k.publicKeyUid;
  }

  async function destroyPair(uri: string): Promise<void> {
    const k = keyOf(uri);
    // Servers refuse to destroy an Active key: revoke first. An unknown key surfaces as kms.key_not_found here.
    await revokeTolerant(k.privateKeyUid);
    await client.destroy(k.privateKeyUid);
    if (k.publicKeyUid) {
      // The public half may already be gone (Cosmian revokes/destroys linked objects); that is fine.
      await revokeTolerant(k.publicKeyUid).catch(() => undefined);
      await client.destroy(k.publicKeyUid).catch((e: unknown) => {
        if (toPkiError(e).code !== 'kms.key_not_found') throw e;
      });
    }
  }

  async function revokeTolerant(uid: string): Promise<void> {
    try {
      await client.revoke(uid, { reason: 'CessationOfOperation', message: 'destroyed by PKI Manager' });
    } catch (e) {
      const err = toPkiError(e);
      // already revoked / never activated: Destroy decides; unknown key / auth / network: stop here
      if (err.code !== 'kms.operation_failed') throw err;
    }
  }

  const backend: KmipBackend = {
    name: 'kmip',
    client,
    handles(uri) {
      return parseKmipKeyUri(uri) !== undefined;
    },
    async generateKey(spec: KeySpec): Promise<Signer> {
      if (!kmipKeyType(spec.keyType)) {
        throw new PkiError('kms.unsupported', `the KMIP backend does not create ${spec.keyType} keys`, {
          details: { keyType: spec.keyType },
        });
      }
      const pair = await client.createKeyPair({ keyType: spec.keyType, name: spec.label ?? `pkim ${spec.keyType}` });
      const uri = formatKmipKeyUri({ ...pair, server });
      try {
        const publicKey = await client.getPublicKey(pair.publicKeyUid);
        return signerOf(backend, { uri, keyType: spec.keyType, publicKey });
      } catch (e) {
        await destroyPair(uri).catch(() => undefined);
        throw e;
      }
    },
    /**
     * Register of the private key (PKCS#8) and of its public key (SPKI), both Activated on standard servers; the public
     * key the server then answers must be the one given. What was registered before a failure is destroyed again.
     */
    async importKey(spec: KeyImportSpec): Promise<Signer> {
      if (!kmipKeyType(spec.keyType)) {
        throw new PkiError('kms.unsupported', `the KMIP backend does not take ${spec.keyType} keys`, {
          details: { keyType: spec.keyType },
        });
      }
      const key = privateKeyToImport(spec.pkcs8, spec.keyType);
      const spki = new Uint8Array(createPublicKey(key).export({ type: 'spki', format: 'der' }));
      const name = spec.label ?? `pkim ${spec.keyType}`;
      const privateKeyUid = await client.register({
        objectType: 'PrivateKey',
        keyType: spec.keyType,
        der: spec.pkcs8,
        name,
      });
      let uri = formatKmipKeyUri({ privateKeyUid, server });
      try {
        const publicKeyUid = await client.register({
          objectType: 'PublicKey',
          keyType: spec.keyType,
          der: spki,
          name: `${name}.pub`,
        });
        uri = formatKmipKeyUri({ privateKeyUid, publicKeyUid, server });
        const publicKey = await client.getPublicKey(publicKeyUid);
        if (!Buffer.from(publicKey).equals(Buffer.from(spki)))
          throw new PkiError(
            'kms.operation_failed',
            'the KMIP server answers another public key than the one imported',
          );
        return signerOf(backend, { uri, keyType: spec.keyType, publicKey });
      } catch (e) {
        await destroyPair(uri).catch(() => undefined);
        throw e;
      }
    },
    async getPublicKey(uri) {
      const k = keyOf(uri);
      return client.getPublicKey(publicUid(k, uri));
    },
    async sign(uri, keyType: KeyType, data) {
      const k = keyOf(uri);
      return client.sign(k.privateKeyUid, keyType, data);
    },
    destroy: destroyPair,
    async health(): Promise<BackendHealth> {
      try {
        const info = await client.query();
        const who = [info.serverName ?? info.vendor, info.serverVersion].filter(Boolean).join(' ');
        return { ok: true, backend: 'kmip', detail: `${who || 'KMIP server'} at ${server}` };
      } catch (e) {
        const err = toPkiError(e);
        return { ok: false, backend: 'kmip', detail: `${err.code}: ${err.message}` };
      }
    },
    close: () => client.close(),
    async certify(req) {
      const input: CertifyInput = {
        subject: req.subject,
        validityDays: req.validityDays,
        x509ExtensionsIni: req.x509ExtensionsIni,
      };
      if (req.keyUri) {
        const k = keyOf(req.keyUri);
        input.publicKeyUid = publicUid(k, req.keyUri);
        input.issuerPrivateKeyUid = k.privateKeyUid;
      }
      if (req.csrDer) input.csr = { der: req.csrDer, type: 'PKCS10' };
      if (req.issuerKeyUri) input.issuerPrivateKeyUid = keyOf(req.issuerKeyUri).privateKeyUid;
      if (req.csrDer && !req.issuerKeyUri)
        throw new PkiError('input.invalid', 'certifying a CSR needs an issuer key (a CSR cannot be self-signed)');
      const certificateUid = await client.certify(input);
      const certificateDer = await client.getCertificate(certificateUid);
      return { certificateUid, certificateDer };
    },
  };
  if (client.dialect === 'cosmian-2.1') {
    backend.certifyRoot = createKmipRootCertifier({
      generateKey: (spec) => backend.generateKey(spec),
      destroyPair,
      certifySelf: (keyUri, subject, validityDays, x509ExtensionsIni) =>
        backend.certify({ keyUri, subject, validityDays, x509ExtensionsIni }),
      async removeCertificate(uid) {
        await client
          .revoke(uid, { reason: 'CessationOfOperation', message: 'CA creation failed' })
          .catch(() => undefined);
        await client.destroy(uid);
      },
    });
  }
  return backend;
}
