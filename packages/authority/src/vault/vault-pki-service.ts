import { createPrivateKey, createPublicKey, X509Certificate, type KeyObject } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { PkiError, toPkiError, type Clock } from '@pkim/shared';
import { fromPem, parseCertificate, splitPemBundle, toPem } from '@pkim/core';
import type { CaRow, CertificateRow, Store } from '@pkim/store';
import type { Logger } from 'pino';
import { authorize } from '../permissions';
import type { Actor, CaService, CertificateService, CrlService, OcspService } from '../types';
import type { CaContextLoader } from '../ca-context';
import { auditEvent } from '../audit-service';
import { EXPIRED_WITHIN_MS } from '../certificate-service';
import { issuersOfMount, type VaultMount } from './vault-mount-service';
import { ALL_TIDY_TARGETS, checkFixedTidyField, fixedTidyValues } from './vault-auto-tidy';
import {
  coerceVaultField,
  formatGoDuration,
  fromVaultSerial,
  parseVaultDuration,
  parseVaultInt,
  parseVaultString,
  toVaultSerial,
} from './vault-params';

/** A JSON answer of the Vault API: `data` (null for none) and optional warnings. */
export interface VaultResult {
  data: Record<string, unknown> | null;
  warnings?: string[];
  /** role `generate_lease`: a lease id and its seconds until NotAfter */
  lease?: { id: string; duration: number };
}

export interface TidyStatus {
  state: 'Inactive' | 'Running' | 'Finished' | 'Error' | 'Cancelling' | 'Cancelled';
  error: string | null;
  time_started: string | null;
  time_finished: string | null;
  message: string;
  safety_buffer: number;
  /** Go duration string, as OpenBao reports it */
  pause_duration: string;
  tidy_cert_store: boolean;
  tidy_revoked_certs: boolean;
  tidy_revoked_cert_issuer_associations: boolean;
  cert_store_deleted_count: number;
  revoked_cert_deleted_count: number;
  missing_issuer_cert_count: number;
  current_cert_store_count: number;
  current_revoked_cert_count: number;
}

/** Vault trims every PEM it emits. */
export const trimPem = (pem: string) => pem.trim();

/** the same certificate (its DER), however each PEM is wrapped */
function sameCertificate(aPem: string, bPem: string): boolean {
  try {
    return Buffer.from(fromPem(aPem, 'CERTIFICATE')).equals(Buffer.from(fromPem(bPem, 'CERTIFICATE')));
  } catch {
    return false;
  }
}

export interface VaultPkiServiceDeps {
  store: Store;
  clock: Clock;
  logger: Logger;
  contexts: CaContextLoader;
  cas: CaService;
  certificates: CertificateService;
  crl: CrlService;
  ocsp: OcspService;
}

/** revoke-with-key's first check, as OpenBao's (before the certificate is looked up): a key shorter than any PEM */
function checkKeyPemLength(privateKeyPem: string): void {
  if (privateKeyPem.length < 64) {
    throw new PkiError(
      'vault.invalid_parameter',
      'Provided data for private_key was too short; perhaps a path was passed to the API rather than the contents ' +
        'of a PEM file?',
    );
  }
}

/**
 * revoke-with-key's proof of possession: the private key (PEM: PKCS#1, SEC1 or PKCS#8) must belong to the certificate.
 * OpenBao's messages; the key is only parsed to derive its public key, never kept or logged.
 */
export function checkKeyMatchesCertificate(privateKeyPem: string, certificatePem: string): void {
  checkKeyPemLength(privateKeyPem);
  let key: KeyObject;
  try {
    key = createPrivateKey(privateKeyPem);
  } catch {
    throw new PkiError('vault.invalid_parameter', 'provided key PEM block contained no data or failed to parse');
  }
  const certKey = new X509Certificate(certificatePem).publicKey;
  if (key.asymmetricKeyType !== certKey.asymmetricKeyType) {
    throw new PkiError(
      'vault.invalid_parameter',
      "provided private key type does not match certificate's public key type",
    );
  }
  const spki = (k: KeyObject) => k.export({ type: 'spki', format: 'der' });
  if (!spki(createPublicKey(key)).equals(spki(certKey))) {
    throw new PkiError('vault.invalid_parameter', "provided private key does not match certificate's public key");
  }
}

/** OpenBao's warning for a certificate that expired (or ends within 2 s) without allow_expired_cert_revocation */
function expiredWarning(serialHex: string): string {
  return (
    `certificate with serial ${toVaultSerial(serialHex)} already expired; refusing to add to CRL. ` +
    "Enable 'AllowExpiredCertRevocation' to allow revoking expired certificates."
  );
}

const LIST_CAP = 100_000;

/** A running tidy of one mount: its pause between certificates and the switch `tidy-cancel` pulls. */
interface TidyRun {
  pauseMs: number;
  abort: AbortController;
}

class TidyCancelled extends Error {}

/** what a tidy removes and how: the `tidy` request's fields, or a mount's `config/auto-tidy` (seconds) */
export interface TidyTargets {
  tidy_cert_store: boolean;
  tidy_revoked_certs: boolean;
  /** kept and shown: every revoked certificate here names its CA, there is nothing to re-associate */
  tidy_revoked_cert_issuer_associations?: boolean;
  safety_buffer: number;
  pause_duration: number;
}

/** settings key of the epoch ms a mount's last tidy ended (manual or automatic) */
export const TIDY_LAST_KEY = 'vault.tidy_last.';

const idleTidy = (): TidyStatus => ({
  state: 'Inactive',
  error: null,
  time_started: null,
  time_finished: null,
  message: '',
  safety_buffer: 0,
  pause_duration: '0s',
  tidy_cert_store: false,
  tidy_revoked_certs: false,
  tidy_revoked_cert_issuer_associations: false,
  cert_store_deleted_count: 0,
  revoked_cert_deleted_count: 0,
  missing_issuer_cert_count: 0,
  current_cert_store_count: 0,
  current_revoked_cert_count: 0,
});

/**
 * The mount's CA row, its certificate and its chain up to the root (issuing CA first, then its parents or the outside
 * issuer chain: CaContextLoader.chainPem through CaService.get), PEMs trimmed; undefined while the CA has no
 * certificate (pending) or is gone. The one read behind `ca`/`ca_chain` and the issuer paths.
 */
export async function mountCaChain(
  cas: CaService,
  mount: VaultMount,
): Promise<{ ca: CaRow; caPem: string; chain: string[] } | undefined> {
  let view;
  try {
    view = await cas.get(mount.caId);
  } catch {
    return undefined;
  }
  if (!view.certificatePem) return undefined;
  const chain = splitPemBundle(view.chainPem).map((der) => trimPem(toPem(der, 'CERTIFICATE')));
  return { ca: view.ca, caPem: trimPem(view.certificatePem), chain };
}

/**
 * tidy-status (and tidy-cancel) as OpenBao's `pathTidyStatusRead` answers it: every one of its keys; while no tidy ran
 * in this process all null but `state` (`Inactive`) and `internal_backend_uuid` (the mount's uuid). OpenBao's targets
 * this server does not tidy are their defaults (`false`, the buffers and page size `config/auto-tidy` reads); the
 * ACME counts 0; `message` null once Finished (kept after an Error, as OpenBao's hint)
 */
export function tidyStatusResponse(
  mount: Pick<VaultMount, 'uuid'>,
  s: TidyStatus | undefined,
): Record<string, unknown> {
  // prettier-ignore
  const keys = [
    'safety_buffer', 'revoked_safety_buffer', 'issuer_safety_buffer', 'tidy_cert_store', 'tidy_revoked_certs',
    'tidy_invalid_certs', 'tidy_revoked_cert_issuer_associations', 'tidy_expired_issuers',
    'tidy_move_legacy_ca_bundle', 'tidy_acme', 'pause_duration', 'page_size', 'state', 'error', 'time_started',
    'time_finished', 'message', 'cert_store_deleted_count', 'revoked_cert_deleted_count', 'missing_issuer_cert_count',
    'current_cert_store_count', 'current_revoked_cert_count', 'internal_backend_uuid', 'total_acme_account_count',
    'acme_account_deleted_count', 'acme_account_revoked_count', 'acme_orders_deleted_count',
    'acme_account_safety_buffer',
  ];
  const inactive: Record<string, unknown> = Object.fromEntries(keys.map((k) => [k, null]));
  inactive.state = 'Inactive';
  inactive.internal_backend_uuid = mount.uuid;
  if (!s || s.state === 'Inactive') return inactive;
  return {
    ...inactive,
    ...s,
    revoked_safety_buffer: s.safety_buffer,
    // OpenBao's targets and buffers PKI Manager does not honour: their only values (config/auto-tidy's FIXED)
    ...fixedTidyValues(keys),
    message: s.state === 'Finished' ? null : s.message,
    total_acme_account_count: 0,
    acme_account_deleted_count: 0,
    acme_account_revoked_count: 0,
    acme_orders_deleted_count: 0,
  };
}

/** Reads, revocation, CRL and tidy of a PKI mount, on top of the authority's certificate/CRL services. */
export function createVaultPkiService(deps: VaultPkiServiceDeps) {
  const { store, clock, logger } = deps;
  const tidies = new Map<string, TidyStatus>();
  const runs = new Map<string, TidyRun>();

  /** the epoch ms the mount's last tidy ended, as recorded in the database */
  async function lastTidyAt(mountPath: string): Promise<number | undefined> {
    const raw = await store.settings.get(TIDY_LAST_KEY + mountPath);
    return raw === undefined ? undefined : Number(raw);
  }

  /** the mount's CA certificate and its chain up to the root (issuing CA first), PEMs trimmed */
  async function chainOf(mount: VaultMount): Promise<{ caPem: string; chain: string[] } | undefined> {
    const found = await mountCaChain(deps.cas, mount);
    return found && { caPem: found.caPem, chain: found.chain };
  }

  /** a certificate an issuer of the mount issued (the default's first), by its serial */
  async function findIssued(mount: VaultMount, serial: string): Promise<CertificateRow | undefined> {
    const hex = fromVaultSerial(serial);
    if (!hex) return undefined;
    for (const caId of issuersOfMount(mount)) {
      const row = await store.certificates.findBySerial(caId, hex);
      if (row) return row;
    }
    return undefined;
  }

  /**
   * revoke's `certificate` without a row here (a `no_store` role's), as OpenBao's pathRevokeWriteHandleCertificate:
   * revoked (and stored) when it verifies under an issuer of the mount — the authority's revokePresented does it all
   */
  async function revokePresented(mount: VaultMount, pem: string, keyPem: string, actor: Actor): Promise<VaultResult> {
    try {
      const r = await deps.certificates.revokePresented(
        {
          caIds: issuersOfMount(mount),
          certificatePem: pem,
          reason: 'unspecified',
          allowExpired: mount.crl.allow_expired_cert_revocation,
          // revoke-with-key: the key proven after the signature, before anything is written (as OpenBao)
          verifyHolder: keyPem ? () => checkKeyMatchesCertificate(keyPem, pem) : undefined,
        },
        actor,
      );
      if ('expired' in r) return { data: null, warnings: [expiredWarning(r.serialHex)] };
      return { data: revocationData(r.certificate) };
    } catch (e) {
      if (e instanceof PkiError && e.code === 'certificate.issuer_unverified') {
        throw new PkiError(
          'vault.invalid_parameter',
          'unable to verify signature on presented cert from any present issuer in this mount; certificates from ' +
            'previous CAs will need to have their issuing CA and key re-imported if revocation is necessary',
        );
      }
      throw e;
    }
  }

  function revocationData(row: Pick<CertificateRow, 'revokedAt'>): Record<string, unknown> {
    return {
      revocation_time: row.revokedAt ? Math.floor(row.revokedAt / 1000) : 0,
      revocation_time_rfc3339: row.revokedAt ? new Date(row.revokedAt).toISOString() : '',
      state: 'revoked',
    };
  }

  async function listSerials(mount: VaultMount, revoked: boolean, params: Record<string, unknown>): Promise<string[]> {
    const serials: string[] = [];
    // every issuer's certificates (OpenBao's `certs` lists the mount's, whichever issuer signed them)
    for (const caId of issuersOfMount(mount)) {
      let cursor: string | null = null;
      do {
        const page = await store.certificates.list({
          caId,
          status: revoked ? 'revoked' : undefined,
          limit: 1000,
          cursor,
        });
        for (const c of page.items) serials.push(toVaultSerial(c.serialHex));
        cursor = page.nextCursor;
      } while (cursor && serials.length < LIST_CAP);
    }
    serials.sort();
    const after = params.after !== undefined ? parseVaultString('after', params.after) : '';
    const limit = params.limit !== undefined ? parseVaultInt('limit', params.limit) : 0;
    const from = after ? serials.filter((s) => s > after) : serials;
    return limit > 0 ? from.slice(0, limit) : from;
  }

  async function runTidy(mount: VaultMount, status: TidyStatus, run: TidyRun, actor: Actor): Promise<void> {
    const cutoff = clock.now() - status.safety_buffer * 1000;
    const candidates: CertificateRow[] = [];
    const collect = async (q: { status?: 'expired' | 'revoked'; expiringBefore?: number }) => {
      for (const caId of issuersOfMount(mount)) {
        let cursor: string | null = null;
        do {
          const page = await store.certificates.list({ caId, limit: 1000, cursor, ...q });
          candidates.push(...page.items.filter((c) => c.notAfter < cutoff));
          cursor = page.nextCursor;
        } while (cursor);
      }
    };
    if (status.tidy_cert_store) {
      await collect({ status: 'expired' });
      await collect({ expiringBefore: cutoff });
    }
    if (status.tidy_revoked_certs) await collect({ status: 'revoked' });
    for (const c of candidates) {
      // OpenBao: a cancel is honoured before each certificate, then the pause (to spread the load) is taken
      if (run.abort.signal.aborted) throw new TidyCancelled();
      if (run.pauseMs > 0) {
        await sleep(run.pauseMs, undefined, { signal: run.abort.signal, ref: false }).catch(() => {
          throw new TidyCancelled();
        });
      }
      await deps.certificates.delete(c.id, actor);
      if (c.status === 'revoked') status.revoked_cert_deleted_count++;
      else status.cert_store_deleted_count++;
    }
    status.current_cert_store_count = 0;
    status.current_revoked_cert_count = 0;
    for (const caId of issuersOfMount(mount)) {
      const counts = await store.certificates.countByStatus(caId);
      status.current_cert_store_count += counts.active + counts.expired + counts.revoked;
      status.current_revoked_cert_count += counts.revoked;
    }
  }

  /**
   * Starts a tidy of the mount (the one behind `tidy` and `config/auto-tidy`'s runs); undefined when one is already
   * running on this mount in this process. `done` settles when it has finished, been cancelled or failed; the last
   * commit (audit event with its counts) records the tidy's end time as the mount's last tidy
   * (`last_auto_tidy_finished`, from which the next automatic run counts its interval).
   */
  function startTidy(
    mount: VaultMount,
    config: TidyTargets,
    actor: Actor,
    opts: { automatic?: boolean; beforeRun?: () => Promise<unknown> } = {},
  ): { status: TidyStatus; done: Promise<TidyStatus> } | undefined {
    if (runs.has(mount.path)) return undefined;
    const run: TidyRun = { pauseMs: config.pause_duration * 1000, abort: new AbortController() };
    runs.set(mount.path, run);
    const status: TidyStatus = {
      ...idleTidy(),
      state: 'Running',
      time_started: new Date(clock.now()).toISOString(),
      message: 'Tidying certificate store',
      safety_buffer: config.safety_buffer,
      pause_duration: formatGoDuration(config.pause_duration),
      tidy_cert_store: config.tidy_cert_store,
      tidy_revoked_certs: config.tidy_revoked_certs,
      tidy_revoked_cert_issuer_associations: config.tidy_revoked_cert_issuer_associations ?? false,
    };
    tidies.set(mount.path, status);
    const auditTidy = (action: 'vault.tidy_finished' | 'vault.tidy_cancelled') =>
      store.commit({
        setSettings: { [TIDY_LAST_KEY + mount.path]: String(clock.now()) },
        audit: [
          auditEvent(clock, actor, action, mount.path, {
            ...(opts.automatic ? { automatic: true } : {}),
            certificatesDeleted: status.cert_store_deleted_count,
            revokedDeleted: status.revoked_cert_deleted_count,
          }),
        ],
      });
    const done = new Promise<void>((resolve) => setImmediate(resolve))
      .then(() => opts.beforeRun?.())
      .then(() => runTidy(mount, status, run, actor))
      .then(async () => {
        status.state = 'Finished';
        status.message = 'Tidy operation successfully completed';
        await auditTidy('vault.tidy_finished');
      })
      .catch(async (e: unknown) => {
        if (e instanceof TidyCancelled) {
          status.state = 'Cancelled';
          status.message = 'Tidy operation cancelled';
          await auditTidy('vault.tidy_cancelled');
          return;
        }
        status.state = 'Error';
        status.error = e instanceof Error ? e.message : String(e);
        logger.warn({ mount: mount.path, err: status.error }, 'vault tidy failed');
      })
      .catch((e: unknown) => logger.warn({ mount: mount.path, err: (e as Error).message }, 'vault tidy audit failed'))
      .then(() => {
        status.time_finished = new Date(clock.now()).toISOString();
        runs.delete(mount.path);
        return status;
      });
    return { status, done };
  }

  return {
    chainOf,

    /** cert/:serial — unauthenticated, like Vault; the mount's own CA certificate is served too */
    async readCert(mount: VaultMount, serial: string): Promise<Record<string, unknown> | undefined> {
      const row = await findIssued(mount, serial);
      if (row) {
        return {
          certificate: trimPem(row.certificatePem),
          revocation_time: row.revokedAt ? Math.floor(row.revokedAt / 1000) : 0,
          revocation_time_rfc3339: row.revokedAt ? new Date(row.revokedAt).toISOString() : '',
          issuer_id: row.caId,
        };
      }
      const hex = fromVaultSerial(serial);
      for (const caId of hex ? issuersOfMount(mount) : []) {
        const ca = await store.cas.findById(caId);
        if (ca?.certificatePem && ca.serialHex === hex) {
          return {
            certificate: trimPem(ca.certificatePem),
            revocation_time: 0,
            revocation_time_rfc3339: '',
            issuer_id: ca.id,
          };
        }
      }
      return undefined;
    },

    async listCerts(mount: VaultMount, revoked: boolean, params: Record<string, unknown>, actor: Actor) {
      authorize(actor, 'certificate:read');
      return listSerials(mount, revoked, params);
    },

    /**
     * revoke by serial_number or certificate (PEM); idempotent; expired → no data + warning. `withKey`
     * (revoke-with-key): `private_key` must match the certificate's public key, checked before anything changes.
     */
    async revoke(
      mount: VaultMount,
      params: Record<string, unknown>,
      actor: Actor,
      options: { withKey?: boolean } = {},
    ): Promise<VaultResult> {
      authorize(actor, 'certificate:revoke');
      const serialIn = parseVaultString('serial_number', params.serial_number);
      const pemIn = parseVaultString('certificate', params.certificate);
      if (!serialIn && !pemIn) {
        throw new PkiError('vault.invalid_parameter', 'The serial number or certificate to revoke must be provided.');
      }
      if (serialIn && pemIn) {
        throw new PkiError(
          'vault.invalid_parameter',
          'Must provide either the certificate or the serial to revoke; not both.',
        );
      }
      const keyPem = options.withKey ? parseVaultString('private_key', params.private_key) : '';
      if (options.withKey && !keyPem) {
        throw new PkiError('vault.invalid_parameter', 'Must have private key to revoke via the /revoke-with-key path.');
      }
      if (options.withKey) checkKeyPemLength(keyPem);
      let serial = serialIn;
      if (pemIn) {
        // OpenBao's checks and messages (pathRevokeWriteHandleCertificate)
        if (pemIn.length < 75)
          throw new PkiError(
            'vault.invalid_parameter',
            'provided certificate data was too short; perhaps a path was passed to the API rather than the contents ' +
              'of a PEM file',
          );
        if (!/-----BEGIN [A-Z0-9 ]+-----/.test(pemIn))
          throw new PkiError('vault.invalid_parameter', 'certificate contains no PEM data');
        let info;
        try {
          info = parseCertificate(fromPem(pemIn, 'CERTIFICATE'));
        } catch (e) {
          throw new PkiError('vault.invalid_parameter', `certificate could not be parsed: ${toPkiError(e).message}`);
        }
        serial = info.serialHex;
      }
      const hex = fromVaultSerial(serial);
      for (const caId of hex ? issuersOfMount(mount) : []) {
        const ca = await store.cas.findById(caId);
        if (ca && ca.serialHex === hex) {
          // as OpenBao: revoke-with-key proves the key first (an issuer's certificate with a wrong key: the mismatch)
          if (options.withKey && ca.certificatePem) checkKeyMatchesCertificate(keyPem, ca.certificatePem);
          throw new PkiError('vault.revoke_issuer', `adding issuer (id: ${ca.id}) to its own CRL is not allowed`);
        }
      }
      const row = await findIssued(mount, serial);
      if (!row && pemIn) return revokePresented(mount, pemIn, keyPem, actor);
      if (!row) throw new PkiError('vault.cert_not_found', `certificate with serial ${serial} not found.`);
      if (pemIn && !sameCertificate(row.certificatePem, pemIn)) {
        // OpenBao answers this with a 500; a 400 here (the request's certificate is not the one stored)
        throw new PkiError(
          'vault.invalid_parameter',
          "certificate with same serial but unequal value already present in this cluster's storage; refusing to " +
            'revoke',
        );
      }
      if (options.withKey) checkKeyMatchesCertificate(keyPem, row.certificatePem);
      if (row.status === 'revoked') return { data: revocationData(row) };
      // as OpenBao: ending within 2 s counts as expired, unless config/crl allow_expired_cert_revocation
      if (row.notAfter < clock.now() + EXPIRED_WITHIN_MS && !mount.crl.allow_expired_cert_revocation) {
        return { data: null, warnings: [expiredWarning(row.serialHex)] };
      }
      try {
        const revoked = await deps.certificates.revoke(row.id, 'unspecified', actor);
        return { data: revocationData(revoked) };
      } catch (e) {
        // a concurrent revocation won: answer with its time, like Vault's idempotent revoke
        const again = await store.certificates.findById(row.id);
        if (again?.status === 'revoked') return { data: revocationData(again) };
        throw e;
      }
    },

    /**
     * `<mount>/ocsp`: RFC 6960 answered by the issuer of the mount the request names (its certificate's issuer), else
     * by the default issuer (a foreign issuer's certificate: `unknown`). HTTP status as OpenBao: malformed 400,
     * unauthorized 401, internal error 500, else 200.
     */
    async ocsp(mount: VaultMount, requestDer: Uint8Array): Promise<{ status: number; der: Uint8Array }> {
      const r = await deps.ocsp.respond(requestDer, { responderCaId: mount.caId, mountCaIds: issuersOfMount(mount) });
      const status =
        r.errorStatus === 'malformedRequest' ? 400 : r.errorStatus === 'unauthorized' ? 401 : r.errorStatus ? 500 : 200;
      return { status, der: r.der };
    },

    async crlDer(mount: VaultMount): Promise<Uint8Array | undefined> {
      const ca = await store.cas.findById(mount.caId);
      if (!ca?.certificatePem) return undefined;
      return (await deps.crl.current(mount.caId)).der;
    },

    /**
     * `crl/rotate`: as OpenBao's, the CRL of every issuer of the mount is built again (each CA signs its own); a
     * mount without an issuer answers as before (the default's refusal)
     */
    async rotateCrl(mount: VaultMount, actor: Actor): Promise<VaultResult> {
      authorize(actor, 'ca:write');
      const ids: string[] = [];
      for (const caId of issuersOfMount(mount)) {
        const ca = await store.cas.findById(caId);
        if (ca?.certificatePem) ids.push(caId);
      }
      for (const caId of ids.length ? ids : [mount.caId]) await deps.crl.generate(caId, actor);
      return { data: { success: true } };
    },

    /**
     * the delta CRL of a mount's default issuer (`crl/delta`) or of one issuer (`issuer/:ref/crl/delta`: `mount.caId`
     * that issuer's CA) while `config/crl` `enable_delta` is on (CrlService.currentDelta: a delta of its complete CRL);
     * off — or an issuer without a certificate — none, and the paths answer as OpenBao's with delta CRLs off: raw
     * forms 204, JSON `{"crl": ""}`
     */
    async deltaCrlDer(mount: VaultMount): Promise<Uint8Array | undefined> {
      if (!mount.crl.enable_delta) return undefined;
      const ca = await store.cas.findById(mount.caId);
      if (!ca?.certificatePem) return undefined;
      return (await deps.crl.currentDelta(mount.caId))?.der;
    },

    /**
     * `crl/rotate-delta`: with delta CRLs on, each issuer's delta CRL made current (a revocation since the last one
     * re-signs it; as OpenBao's, `{success: true}`); off: OpenBao's no-op answer and warning
     */
    async rotateDeltaCrl(mount: VaultMount, actor: Actor): Promise<VaultResult> {
      authorize(actor, 'ca:write');
      if (!mount.crl.enable_delta)
        return {
          data: { success: true },
          warnings: ['requested rebuild of delta CRL when delta CRL is not enabled; this is a no-op'],
        };
      for (const caId of issuersOfMount(mount)) {
        const ca = await store.cas.findById(caId);
        if (ca?.certificatePem) await deps.crl.currentDelta(caId);
      }
      return { data: { success: true } };
    },

    /** starts a tidy in the background; 'running' when one is already in progress on this mount */
    async tidy(
      mount: VaultMount,
      params: Record<string, unknown>,
      actor: Actor,
    ): Promise<{ started: boolean; warnings: string[] }> {
      authorize(actor, 'ca:write');
      const flag = (f: string) =>
        params[f] === undefined ? false : (coerceVaultField('bool', f, params[f]) as boolean);
      const safety =
        params.safety_buffer === undefined ? 72 * 3600 : parseVaultDuration('safety_buffer', params.safety_buffer);
      if (safety < 1) throw new PkiError('vault.invalid_parameter', 'safety_buffer must be greater than zero');
      if (typeof params.pause_duration === 'string' && params.pause_duration.trim().startsWith('-')) {
        throw new PkiError('vault.invalid_parameter', 'received invalid, negative pause_duration');
      }
      const pause = parseVaultDuration('pause_duration', params.pause_duration);
      // OpenBao's other targets and buffers: their defaults change nothing, another value is refused (not ignored)
      for (const [field, raw] of Object.entries(params)) if (raw !== undefined) checkFixedTidyField(field, raw, 'tidy');
      if (
        params.revoked_safety_buffer !== undefined &&
        parseVaultDuration('revoked_safety_buffer', params.revoked_safety_buffer) !== safety
      ) {
        throw new PkiError(
          'vault.invalid_parameter',
          'revoked_safety_buffer apart from safety_buffer is not supported here: give it equal or leave it out',
        );
      }
      const targets = {
        tidy_cert_store: flag('tidy_cert_store'),
        // `tidy_revocation_list`: Vault's older name, which OpenBao still takes
        tidy_revoked_certs: flag('tidy_revoked_certs') || flag('tidy_revocation_list'),
        // every revoked certificate here names its CA: nothing to re-associate, but a target as OpenBao counts them
        tidy_revoked_cert_issuer_associations: flag('tidy_revoked_cert_issuer_associations'),
      };
      const run = startTidy(mount, { ...targets, safety_buffer: safety, pause_duration: pause }, actor);
      // one tidy per mount and process at a time (OpenBao: per mount and node); a second call only warns
      if (!run) return { started: false, warnings: ['Tidy operation already in progress.'] };
      if (!Object.values(targets).some(Boolean)) {
        // OpenBao's answer: 202, the (empty) tidy started, this warning alone
        return {
          started: true,
          warnings: [
            'Manual tidy requested but no tidy operations were set. Enable at least one tidy operation to be run ' +
              `(${ALL_TIDY_TARGETS}).`,
          ],
        };
      }
      return {
        started: true,
        warnings: [
          'Tidy operation successfully started. Any information from the operation will be printed to the server ' +
            'logs.',
        ],
      };
    },

    startTidy,
    lastTidyAt,

    /**
     * tidy-status: this process's last or running tidy of the mount (manual or automatic), and
     * `last_auto_tidy_finished` from the database (the end of the mount's last tidy on any instance, before a restart
     * too)
     */
    async tidyStatus(mount: VaultMount, actor: Actor): Promise<Record<string, unknown>> {
      authorize(actor, 'ca:read');
      const last = await lastTidyAt(mount.path);
      return {
        ...tidyStatusResponse(mount, tidies.get(mount.path)),
        last_auto_tidy_finished: last === undefined ? null : new Date(last).toISOString(),
      };
    },

    /** tidy-cancel: the running tidy stops before its next certificate (a pause is cut short) */
    async tidyCancel(
      mount: VaultMount,
      actor: Actor,
    ): Promise<{ status: Record<string, unknown> | null; warnings?: string[] }> {
      authorize(actor, 'ca:write');
      const run = runs.get(mount.path);
      const status = tidies.get(mount.path);
      if (!run || !status) {
        return { status: null, warnings: ['Tidy operation cannot be cancelled as none is currently running.'] };
      }
      if (status.state === 'Running') status.state = 'Cancelling';
      run.abort.abort();
      return { status: tidyStatusResponse(mount, status) };
    },
  };
}

export type VaultPkiService = ReturnType<typeof createVaultPkiService>;
