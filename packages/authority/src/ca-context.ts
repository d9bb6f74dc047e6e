import type { ComputePool } from './compute/compute-pool';
import type { KeySealer } from './exports/key-sealer';
import { FAILURE_LOG_MESSAGE, PkiError, toPkiError, type Clock } from '@pkim/shared';
import {
  fromPem,
  parseCertificate,
  type CertificateInfo,
  type IssuerInfo,
  type NameConstraints,
  type Profile,
} from '@pkim/core';
import type { CaRow, Store } from '@pkim/store';
import type { Logger } from 'pino';
import type { KeyBackends } from '@pkim/keys';
import type { Actor } from './types';
import { hasPermission } from './permissions';
import { visibleCaIds } from './signing/provisioner-policy';
import { auditEvent } from './audit-service';
import { createOtherCommitsSeen, type OtherCommitsSeen } from './other-commits-seen';
import type { ProfileView } from './profile-service';

/** A CA row plus its parsed certificate, cached by certificate fingerprint (parsing is not free). */
export interface CaContext {
  ca: CaRow;
  certificateDer: Uint8Array;
  info: CertificateInfo;
  issuer: IssuerInfo;
}

export interface CaContextLoader {
  /**
   * loads a CA that may sign now: exists, active, has a certificate, within validity. When the store refuses at
   * commit a certificate whose CA is no longer active (Store.checksIssuingCaAtCommit), an active row read less than
   * ACTIVE_CA_ROW_MS ago, and before the store last changed a CA row itself (Store.caRowWrites) or another connection
   * committed (Store.otherCommits), is used again (`fresh`: read it now); else it is read every time. `actor`: the
   * request's, whose token check may have read Store.otherCommits already (other-commits-seen.ts: not read again).
   */
  loadActive(caId: string, now: number, fresh?: boolean, actor?: Actor): Promise<CaContext>;
  /** loads any CA with a certificate (for CRL/OCSP/export) */
  load(caId: string): Promise<CaContext>;
  fromRow(ca: CaRow): CaContext;
  /**
   * PEM chain from this CA up to its root (this CA first), cached per CA certificate; when the top CA here was signed
   * by an outside CA, the outside issuer chain given at its import follows it
   */
  chainPem(ca: CaRow): Promise<string>;
  /** name constraints of the CAs above this one (parent, grandparent, …) and this CA's policy-only ones */
  ancestorNameConstraints(ca: CaRow): Promise<NameConstraints[]>;
}

/**
 * how long an active CA row read for issuance is used again when the commit checks the CA (a CA disabled, revoked or
 * deleted by another process is refused by the commit at once; its other changes made by another process — URLs,
 * policy — reach new requests at once on SQLite (PRAGMA data_version moves Store.otherCommits) and on PostgreSQL once
 * the change's NOTIFY arrived (docs/architecture.md); this process's own changes at once, Store.caRowWrites)
 */
export const ACTIVE_CA_ROW_MS = 1000;

/** how long a CA's chain (its ancestors' rows) is used again before it is read again: another process's renewal */
export const PATH_RECHECK_MS = 60_000;

export function createCaContextLoader(
  store: Store,
  seen: OtherCommitsSeen = createOtherCommitsSeen(store),
): CaContextLoader {
  const activeRows = new Map<string, { ca: CaRow; at: number; writes: number | undefined }>();
  const parsed = new Map<string, { fingerprint: string; certificateDer: Uint8Array; info: CertificateInfo }>();

  function fromRow(ca: CaRow): CaContext {
    if (!ca.certificatePem) {
      throw new PkiError(
        'ca.not_active',
        `CA ${ca.id} has no certificate yet (status ${ca.status}): import the signed certificate first`,
      );
    }
    let entry = parsed.get(ca.id);
    if (entry?.fingerprint !== ca.fingerprintSha256) {
      const certificateDer = fromPem(ca.certificatePem, 'CERTIFICATE');
      const info = parseCertificate(certificateDer);
      entry = { fingerprint: ca.fingerprintSha256 ?? info.fingerprintSha256, certificateDer, info };
      parsed.set(ca.id, entry);
    }
    return {
      ca,
      certificateDer: entry.certificateDer,
      info: entry.info,
      issuer: { certificateDer: entry.certificateDer, keyType: ca.keyType },
    };
  }

  async function load(caId: string): Promise<CaContext> {
    return fromRow(await findCaByRef(store, caId));
  }

  /**
   * the CA and its ancestors, cached per CA certificate and this process's CA row writes (Store.caRowWrites): an
   * ancestor's certificate renewed here (`pkim ca renew`) changes the chain of every CA below it; renewed by another
   * process, the chain read again at most PATH_RECHECK_MS later
   */
  const paths = new Map<
    string,
    { fingerprint: string | null; writes: number | undefined; at: number; path: CaRow[]; pem: string }
  >();
  async function pathOf(ca: CaRow): Promise<{ path: CaRow[]; pem: string }> {
    const hit = paths.get(ca.id);
    const writes = store.caRowWrites;
    const at = performance.now();
    if (hit?.fingerprint === ca.fingerprintSha256 && hit.writes === writes && at - hit.at < PATH_RECHECK_MS) return hit;
    const path: CaRow[] = [];
    const seen = new Set<string>();
    let cur: CaRow | undefined = ca;
    while (cur && !seen.has(cur.id)) {
      seen.add(cur.id);
      path.push(cur);
      cur = cur.parentId ? await store.cas.findById(cur.parentId) : undefined;
    }
    const pems = path.filter((c) => c.certificatePem).map((c) => c.certificatePem!.trim());
    // the top of the path was signed by an outside CA: its issuer chain, verified at import, follows it
    const outside = path.at(-1)?.issuerChainPem?.trim();
    if (outside) pems.push(outside);
    const pem = pems.length ? `${pems.join('\n')}\n` : '';
    const entry = { fingerprint: ca.fingerprintSha256, writes, at, path, pem };
    paths.set(ca.id, entry);
    return entry;
  }
  const chainPem = async (ca: CaRow) => (await pathOf(ca)).pem;
  const ancestorNameConstraints = async (ca: CaRow) => {
    const [own, ...above] = (await pathOf(ca)).path;
    const out = above.map((c) => c.nameConstraints).filter((nc): nc is NonNullable<typeof nc> => !!nc);
    // the CA's own policy-only constraints are not in its certificate: the linter gets them here
    const prefixes = own?.nameConstraints?.permittedUriPrefixes;
    if (prefixes?.length) out.push({ permittedUriPrefixes: prefixes });
    return out;
  };

  return {
    load,
    fromRow,
    chainPem,
    ancestorNameConstraints,
    async loadActive(caId, now, fresh = false, actor) {
      const hit = store.checksIssuingCaAtCommit && !fresh ? activeRows.get(caId) : undefined;
      // this process's CA writes and other connections' commits, before any read: a change meanwhile makes it stale
      const own = store.caRowWrites;
      const taken = seen.take(actor); // a number (the request's token check read it) or one read for the turn
      const others = typeof taken === 'number' ? taken : await taken;
      const writes = own === undefined ? undefined : own + (others ?? 0);
      let ctx: CaContext;
      if (hit && performance.now() - hit.at < ACTIVE_CA_ROW_MS && hit.writes === writes) ctx = fromRow({ ...hit.ca });
      else {
        ctx = await load(caId);
        if (store.checksIssuingCaAtCommit && ctx.ca.status === 'active')
          activeRows.set(caId, { ca: { ...ctx.ca }, at: performance.now(), writes });
      }
      const { ca } = ctx;
      if (ca.status !== 'active')
        throw new PkiError('ca.not_active', `CA ${ca.name} (${ca.id}) is ${ca.status} and cannot sign`);
      if (ca.notAfter !== null && ca.notAfter <= now)
        throw new PkiError(
          'ca.not_active',
          `CA ${ca.name} (${ca.id}) expired at ${new Date(ca.notAfter).toISOString()}`,
        );
      return ctx;
    },
  };
}

/** What the signing services share (built once in createAuthority). */
export interface SigningServiceDeps {
  store: Store;
  keys: KeyBackends;
  clock: Clock;
  logger: Logger;
  contexts: CaContextLoader;
  publicBaseUrl?: string;
  /** the file's and the API's profiles, kept current in place (profile-service.ts); ask `profileView` first */
  customProfiles?: Profile[];
  profileView?: ProfileView;
  /** seals the private keys of server-generated certificates kept for export */
  keySealer?: KeySealer;
  /** worker threads for the CPU-bound steps (PKIM_WORKERS ≥ 2); absent: everything in-process */
  compute?: ComputePool;
  /** CRL partitioning (PKIM_CRL_PARTITION_ABOVE, PKIM_CRL_PARTITION_DAYS; docs/crl.md); absent: never */
  crlPartition?: CrlPartitionSettings;
}

/** a CA with at least `aboveCertificates` certificates gives new leaves the CRL partition of their notAfter */
export interface CrlPartitionSettings {
  aboveCertificates: number;
  windowDays: number;
}

/**
 * Records a `*.failed` audit event for an error, logs it at warn (`{ action, target, code, reason }`, message
 * FAILURE_LOG_MESSAGE) and returns the error as PkiError. Never throws.
 */
export async function recordFailure(
  deps: { store: Store; clock: Clock; logger: Logger },
  actor: Actor,
  action: string,
  target: string | null,
  error: unknown,
  details: Record<string, unknown> = {},
): Promise<PkiError> {
  const e = toPkiError(error);
  try {
    await deps.store.audit.append(
      auditEvent(deps.clock, actor, action, target, { ...details, code: e.code, message: e.message }, 'failure'),
    );
  } catch (auditError) {
    deps.logger.error({ err: toPkiError(auditError).toJSON(), action }, 'could not record failure audit event');
  }
  // the error's message as `reason`: pino's own `msg` is the record's message (a second `msg` key made invalid JSON)
  deps.logger.warn({ action, target, code: e.code, reason: e.message }, FAILURE_LOG_MESSAGE);
  return e;
}

/** a name or CN compared as a person types it: case, spaces, '-' and '_' aside */
const refKey = (s: string): string => s.toLowerCase().replace(/[\s_-]+/g, '');

/** the first CN of a subject DN as formatDn writes it (`CN=Keystore Clients,O=…`) */
function subjectCn(dn: string): string | undefined {
  const m = /(?:^|,)\s*CN=((?:\\.|[^,\\])*)/i.exec(dn);
  return m?.[1]?.replace(/\\(.)/g, '$1').trim();
}

/**
 * THE lookup of a CA reference (id or name); `ca.not_found` when neither matches. When the reference is a CA's
 * subject CN, or its name but for case, spaces, '-' or '_', the message says which name to use — only to a caller
 * that may list that CA (`ca:read`, within its CA limits): without an actor (the caller cannot be told) no hint.
 */
export async function findCaByRef(store: Store, ref: string, actor?: Actor): Promise<CaRow> {
  const ca = (await store.cas.findById(ref)) ?? (await store.cas.findByName(ref));
  if (ca) return ca;
  const message = `no CA with id or name '${ref}'`;
  if (!actor || !hasPermission(actor, 'ca:read')) throw new PkiError('ca.not_found', message);
  const all = await store.cas.list();
  const visible = visibleCaIds(actor, all);
  const key = refKey(ref);
  const meant = all
    .filter((c) => !visible || visible.includes(c.id))
    .filter((c) => {
      const cn = subjectCn(c.subjectDn);
      return refKey(c.name) === key || (cn !== undefined && refKey(cn) === key);
    })
    .map((c) => `'${c.name}'`);
  if (meant.length === 0) throw new PkiError('ca.not_found', message);
  throw new PkiError('ca.not_found', `${message} (did you mean ${meant.slice(0, 3).join(' or ')}?)`);
}

/** THE resolution of a CA reference (id or name) to its id; `ca.not_found` as findCaByRef. */
export async function resolveCaRef(store: Store, ref: string, actor?: Actor): Promise<string> {
  return (await findCaByRef(store, ref, actor)).id;
}

/**
 * The CA a renewal or a rotation starts from, read now: an active CA — also one past its end, since a new certificate
 * is how an expired CA is repaired (its status is read from its dates, caStatusAt: renewed, it is active again
 * everywhere). A disabled CA is enabled first, a revoked one never comes back, a pending one has no certificate yet:
 * `ca.not_active`, naming why. Here, not in signing/ca-renewal.ts: `cas.rotate` asks it, and ca-service.ts must not
 * load the signing pipeline's modules (the CLI's `ca list` start-up: apps/cli/test/startup-loads.test.ts).
 */
export async function loadRenewable(contexts: CaContextLoader, caRef: string, what: string): Promise<CaContext> {
  const ctx = await contexts.load(caRef);
  const { ca } = ctx;
  if (ca.status === 'disabled')
    throw new PkiError('ca.not_active', `CA ${ca.name} is disabled: enable it (pkim ca enable) before ${what}`);
  if (ca.status !== 'active')
    throw new PkiError('ca.not_active', `CA ${ca.name} is ${ca.status}: only an active or expired CA can be ${what}`);
  return ctx;
}
