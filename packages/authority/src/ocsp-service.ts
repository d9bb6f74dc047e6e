import { REVOCATION_REASONS, publishedRevocationReason, type Clock, type RevocationReason } from '@pkim/shared';

/** the OCSP revocationReason: the same reason the CRL publishes (legacy reasons as unspecified) */
function ocspReason(stored: RevocationReason | null): number | undefined {
  return stored ? REVOCATION_REASONS[publishedRevocationReason(stored)] : undefined;
}
import type { KeyBackends } from '@pkim/keys';
import type { CaRow, Store } from '@pkim/store';
import type { Logger } from 'pino';
import type { OcspService } from './types';
import type { CaContextLoader } from './ca-context';
import type { ComputePool } from './compute/compute-pool';

export interface OcspServiceDeps {
  store: Store;
  keys: KeyBackends;
  clock: Clock;
  logger: Logger;
  contexts: CaContextLoader;
  /** worker threads: responses signed with software keys are signed there */
  compute?: ComputePool;
  /** nextUpdate - thisUpdate of responses; default 1 h */
  ocspValidityMs?: number;
  /** per-CA validity overrides (a Vault mount's config/crl `ocsp_expiry`) */
  timings?: { ocspValidityMs(caId: string): Promise<number | undefined> };
  /** how long a signed response without nonce may be reused while the status is unchanged; default 60 s */
  responseReuseMs?: number;
}

type Status = 'good' | 'revoked' | 'unknown';

interface Lookup {
  status: Status;
  revokedAt?: number;
  reason?: number;
}

/**
 * RFC 6960 responder. The certificate status is read from the database on every request (an
 * indexed lookup), so a revocation made through any path is reflected immediately; only the
 * signature over an unchanged status is reused for a short time when the request has no nonce.
 */
export function createOcspService(deps: OcspServiceDeps): OcspService {
  const { store, keys, clock, logger, contexts } = deps;
  const validity = deps.ocspValidityMs ?? 3_600_000;
  const reuseMs = deps.responseReuseMs ?? 60_000;
  const hashIndex = new Map<string, string>(); // `${alg}:${nameHash}:${keyHash}` → caId
  const indexedFingerprints = new Map<string, string>(); // caId → fingerprint indexed
  const responses = new Map<string, { der: Uint8Array; producedAt: number }>();

  async function indexCa(ca: CaRow): Promise<void> {
    if (!ca.certificatePem || indexedFingerprints.get(ca.id) === ca.fingerprintSha256) return;
    const { ocspIssuerHashes } = await import('./asn1-codecs');
    const ctx = contexts.fromRow(ca);
    for (const alg of ['1.3.14.3.2.26', '2.16.840.1.101.3.4.2.1']) {
      const { nameHash, keyHash } = ocspIssuerHashes(ctx.certificateDer, alg);
      hashIndex.set(`${alg}:${Buffer.from(nameHash).toString('hex')}:${Buffer.from(keyHash).toString('hex')}`, ca.id);
    }
    indexedFingerprints.set(ca.id, ca.fingerprintSha256 ?? '');
  }

  async function findCaId(alg: string, nameHash: Uint8Array, keyHash: Uint8Array): Promise<string | undefined> {
    const key = `${alg}:${Buffer.from(nameHash).toString('hex')}:${Buffer.from(keyHash).toString('hex')}`;
    let id = hashIndex.get(key);
    if (!id) {
      // a CA created since (possibly by another process): refresh the index
      for (const ca of await store.cas.list()) await indexCa(ca);
      id = hashIndex.get(key);
    }
    return id;
  }

  async function lookup(caId: string, serialHex: string): Promise<Lookup> {
    const cert = await store.certificates.findBySerial(caId, serialHex);
    if (cert) {
      if (cert.status === 'revoked') {
        return {
          status: 'revoked',
          revokedAt: cert.revokedAt ?? 0,
          reason: ocspReason(cert.revocationReason),
        };
      }
      return { status: 'good' };
    }
    // a subordinate CA certificate issued by this CA
    const child = (await store.cas.list()).find((c) => c.parentId === caId && c.serialHex === serialHex);
    if (child) {
      if (child.status === 'revoked') {
        return {
          status: 'revoked',
          revokedAt: child.revokedAt ?? 0,
          reason: ocspReason(child.revocationReason),
        };
      }
      return { status: 'good' };
    }
    return { status: 'unknown' };
  }

  return {
    async respond(requestDer, options) {
      const { buildOcspResponse, ocspErrorResponse, parseOcspRequest } = await import('./asn1-codecs');
      let parsed: ReturnType<typeof parseOcspRequest>;
      try {
        parsed = parseOcspRequest(requestDer);
      } catch {
        return { der: ocspErrorResponse('malformedRequest'), statuses: [], errorStatus: 'malformedRequest' };
      }
      try {
        if (parsed.requests.length === 0)
          return { der: ocspErrorResponse('malformedRequest'), statuses: [], errorStatus: 'malformedRequest' };
        const resolved = await Promise.all(
          parsed.requests.map(async (r) => ({
            r,
            caId: await findCaId(r.hashAlgorithmOid, r.issuerNameHash, r.issuerKeyHash),
          })),
        );
        const fixed = options?.responderCaId;
        if (fixed) {
          const own = await store.cas.findById(fixed);
          if (!own?.certificatePem) {
            return { der: ocspErrorResponse('unauthorized'), statuses: [], errorStatus: 'unauthorized' };
          }
        }
        const responderCaId = fixed ?? resolved.find((x) => x.caId)?.caId;
        if (!responderCaId)
          return { der: ocspErrorResponse('unauthorized'), statuses: [], errorStatus: 'unauthorized' };
        const ctx = await contexts.load(responderCaId);
        const now = clock.now();
        const validFor = (await deps.timings?.ocspValidityMs(responderCaId)) ?? validity;
        const items = await Promise.all(
          resolved.map(async ({ r, caId }) => {
            const l: Lookup = caId === responderCaId ? await lookup(caId, r.serialHex) : { status: 'unknown' };
            return { r, l };
          }),
        );
        const statuses = items.map((i) => i.l.status);
        const only = items.length === 1 ? items[0] : undefined;
        const cacheKey =
          !parsed.nonce && only
            ? `${responderCaId}:${only.r.serialHex}:${Buffer.from(only.r.certIdDer).toString('hex')}:` +
              `${only.l.status}:${only.l.revokedAt ?? ''}`
            : undefined;
        if (cacheKey) {
          const hit = responses.get(cacheKey);
          if (hit && now - hit.producedAt < reuseMs) return { der: hit.der, statuses };
        }
        const input = {
          responderCertDer: ctx.certificateDer,
          responderKeyType: ctx.ca.keyType,
          responses: items.map(({ r, l }) => ({
            certIdDer: r.certIdDer,
            status: l.status,
            revokedAt: l.revokedAt,
            reason: l.reason,
            thisUpdate: now,
            nextUpdate: now + validFor,
          })),
          nonce: parsed.nonce,
          producedAt: now,
        };
        const key = { uri: ctx.ca.keyUri, keyType: ctx.ca.keyType, publicKey: ctx.info.publicKey };
        const der = deps.compute?.signsWith(key.uri)
          ? await deps.compute.signOcsp(input, key)
          : await buildOcspResponse(input, (data) => keys.signer(key).sign(data));
        if (cacheKey) {
          if (responses.size > 10_000) responses.clear();
          responses.set(cacheKey, { der, producedAt: now });
        }
        return { der, statuses };
      } catch (e) {
        logger.error({ err: (e as Error).message }, 'OCSP responder failed');
        return { der: ocspErrorResponse('internalError'), statuses: [], errorStatus: 'internalError' };
      }
    },
  };
}
