/**
 * The SSH certificate authority behind the one door: SSH CAs whose keys live in the key backends, the
 * SSH signing pipeline (resolve CA → provisioner policy → build → sign with the signer handle → verify →
 * commit row + audit event), the hosts/users/principals registry, revocation with KRLs, fleet tokens.
 */
import { createHash, randomBytes } from 'node:crypto';
import { PkiError, formatLifetime, newId, toPkiError, type Clock, type KeyType } from '@pkim/shared';
import {
  SSH_DEFAULT_USER_EXTENSIONS,
  encodeKrl,
  formatSshPublicKey,
  issueSshCertificate,
  parseSshCertificate,
  parseSshPublicKey,
  renderAuthorizedPrincipals,
  renderKnownHostsCertAuthority,
  renderSshdDropIn,
  renderTrustedUserCaKeys,
  sshFingerprint,
  sshPublicKeyBlobFromSpki,
  type KrlCertificateSection,
} from '@pkim/core';
import type { KeyBackends } from '@pkim/keys';
import type {
  SshCaRow,
  SshCertificateRow,
  SshCertType,
  SshEnvironmentRow,
  SshFleetTokenRow,
  SshHostRow,
  SshUnitOfWork,
  SshUserRow,
  Store,
  NewAuditEvent,
} from '@pkim/store';
import type { Logger } from 'pino';
import { auditEvent } from '../audit-service';
import { recordFailure } from '../ca-context';
import { authorize } from '../permissions';
import { checkActorMayUseCa } from '../signing/provisioner-policy';
import type { Actor } from '../types';
import { actorSshProvisioner, fleetSshProvisioner, type SshProvisioner } from './ssh-provisioners';
import {
  SSH_CA_KEY_TYPES,
  type IssuedSshCertificate,
  type SshCaView,
  type SshFleetSignInput,
  type SshKrl,
  type SshService,
  type SshSignInput,
} from './ssh-types';

export interface SshServiceDeps {
  store: Store;
  keys: KeyBackends;
  clock: Clock;
  logger: Logger;
  publicBaseUrl?: string;
}

const HOUR = 3_600_000;
const DAY = 24 * HOUR;
const DEFAULTS: Record<SshCertType, { maxTtlMs: number; defaultTtlMs: number }> = {
  user: { maxTtlMs: 30 * DAY, defaultTtlMs: 8 * HOUR },
  host: { maxTtlMs: 365 * DAY, defaultTtlMs: 30 * DAY },
};
/** Certificates are valid from five minutes before issuance (clock skew between CA and hosts). */
const BACKDATE_MS = 5 * 60_000;
/** a fleet token's rate window (ratePerMinute) */
const FLEET_WINDOW_MS = 60_000;
export const DEFAULT_ENVIRONMENT = 'default';
export const FLEET_TOKEN_PREFIX = 'pkimf_';
const NAME_RE = /^[A-Za-z0-9][A-Za-z0-9._@-]{0,63}$/;
const HOST_RE = /^[A-Za-z0-9_][A-Za-z0-9_.:-]{0,252}$/;

function checkName(kind: string, name: string, re = NAME_RE): string {
  const n = (name ?? '').trim();
  if (!re.test(n)) {
    throw new PkiError('input.invalid', `invalid ${kind} name '${name}' (letters, digits, . _ @ -; at most 64)`, {
      details: { field: kind },
    });
  }
  return n;
}

const sha256Hex = (s: string) => createHash('sha256').update(s).digest('hex');

function newSerial(): bigint {
  // positive as a signed 64-bit integer too, for tools that read it so
  const v = randomBytes(8).readBigUInt64BE(0) & 0x7fff_ffff_ffff_ffffn;
  return v === 0n ? 1n : v;
}

export function createSshService(deps: SshServiceDeps): SshService & { fleetWindowsHeld(): number } {
  const { store, keys, clock, logger } = deps;
  /**
   * in-memory per-token request times (sliding minute): every request of this process counts, failed ones too.
   * Across processes the limit is held by the database: certificates issued through the token in the last minute.
   * Only the tokens used within the last minute or two are held: an entry whose every time is a minute old decides
   * nothing (its window is empty either way) and is swept once per minute. Kept for every token ever used, it grew
   * by one entry per fleet token, never released (session 44).
   */
  const fleetWindows = new Map<string, number[]>();
  let fleetSweptAt = 0;
  const sweepFleetWindows = (now: number) => {
    if (now - fleetSweptAt < FLEET_WINDOW_MS) return;
    fleetSweptAt = now;
    for (const [id, times] of fleetWindows) {
      if ((times[times.length - 1] ?? 0) <= now - FLEET_WINDOW_MS) fleetWindows.delete(id);
    }
  };

  async function environment(name: string | undefined, create = false, actor?: Actor): Promise<SshEnvironmentRow> {
    const n = checkName('environment', name ?? DEFAULT_ENVIRONMENT);
    const env = await store.ssh.environmentByName(n);
    if (env) return env;
    if (create && n === DEFAULT_ENVIRONMENT && actor) {
      const row: SshEnvironmentRow = { id: newId('env'), name: n, description: null, createdAt: clock.now() };
      await store.commit({
        ssh: { insertEnvironments: [row] },
        audit: [auditEvent(clock, actor, 'ssh_environment.created', row.id, { name: n })],
      });
      return row;
    }
    throw new PkiError('ssh.environment_not_found', `no SSH environment '${n}'`, { details: { environment: n } });
  }

  async function envNameOf(id: string): Promise<string> {
    return (await store.ssh.environmentById(id))?.name ?? id;
  }

  async function resolveCa(ref: string): Promise<SshCaRow> {
    const ca = ref.startsWith('sca_') ? await store.ssh.caById(ref) : await store.ssh.caByName(ref);
    if (!ca) throw new PkiError('ssh.ca_not_found', `no SSH CA '${ref}'`, { details: { ca: ref } });
    return ca;
  }

  async function view(ca: SshCaRow): Promise<SshCaView> {
    return { ca, environment: await envNameOf(ca.environmentId), publicKey: ca.publicKey };
  }

  async function resolveHost(environmentId: string, name: string): Promise<SshHostRow> {
    const host = await store.ssh.hostByName(environmentId, name);
    if (!host) throw new PkiError('ssh.host_not_found', `no SSH host '${name}' in this environment`);
    return host;
  }

  async function resolveUser(name: string): Promise<SshUserRow> {
    const user = await store.ssh.userByName(name);
    if (!user) throw new PkiError('ssh.user_not_found', `no SSH user '${name}'`, { details: { user: name } });
    return user;
  }

  /** Runs `fn`; on failure records `<action>` (outcome failure, with code) and rethrows the PkiError. */
  async function audited<T>(
    actor: Actor | string,
    action: string,
    target: string | null,
    details: Record<string, unknown>,
    fn: () => Promise<T>,
  ): Promise<T> {
    try {
      return await fn();
    } catch (e) {
      const err = toPkiError(e);
      throw await recordFailure(
        { store, clock, logger },
        typeof actor === 'string' ? { id: actor, role: 'requester' } : actor,
        action,
        target,
        err,
        details,
      );
    }
  }

  async function createCaRow(
    input: {
      name: string;
      type: SshCertType;
      keyType?: KeyType;
      backend?: string;
      env: SshEnvironmentRow;
      maxTtlMs?: number;
      defaultTtlMs?: number;
    },
    actor: Actor,
    extra: SshUnitOfWork = {},
    extraAudit: NewAuditEvent[] = [],
  ): Promise<SshCaRow> {
    const name = checkName('CA', input.name);
    const keyType = input.keyType ?? 'ed25519';
    if (!(SSH_CA_KEY_TYPES as readonly KeyType[]).includes(keyType)) {
      throw new PkiError('ssh.unsupported_key', `SSH CA keys are ${SSH_CA_KEY_TYPES.join(', ')}; got ${keyType}`);
    }
    if (input.type !== 'user' && input.type !== 'host') {
      throw new PkiError('input.invalid', `SSH CA type must be user or host, got '${String(input.type)}'`);
    }
    const maxTtlMs = input.maxTtlMs ?? DEFAULTS[input.type].maxTtlMs;
    const defaultTtlMs = Math.min(input.defaultTtlMs ?? DEFAULTS[input.type].defaultTtlMs, maxTtlMs);
    if (!(maxTtlMs > 0) || !(defaultTtlMs > 0)) throw new PkiError('input.invalid', 'TTLs must be positive');
    if (await store.ssh.caByName(name)) {
      throw new PkiError('ssh.ca_name_taken', `an SSH CA named '${name}' already exists`, { details: { name } });
    }
    const backendName = (input.backend ?? 'software') as Parameters<KeyBackends['generateKey']>[0];
    const signer = await keys.generateKey(backendName, { keyType, label: `ssh-${name}` });
    const blob = sshPublicKeyBlobFromSpki(signer.publicKey);
    const now = clock.now();
    const row: SshCaRow = {
      id: newId('sca'),
      name,
      environmentId: input.env.id,
      certType: input.type,
      keyUri: signer.uri,
      keyType,
      keyBackend: signer.backend,
      publicKey: formatSshPublicKey(blob, name),
      fingerprint: sshFingerprint(blob),
      status: 'active',
      maxTtlMs,
      defaultTtlMs,
      retiredAt: null,
      createdAt: now,
      updatedAt: now,
    };
    try {
      await store.commit({
        ssh: { ...extra, insertCas: [...(extra.insertCas ?? []), row] },
        audit: [
          ...extraAudit,
          auditEvent(clock, actor, 'ssh_ca.created', row.id, {
            name,
            type: input.type,
            environment: input.env.name,
            keyType,
            backend: signer.backend,
            fingerprint: row.fingerprint,
          }),
        ],
      });
    } catch (e) {
      await keys.destroy(signer.uri).catch(() => undefined); // no orphan key for a CA that does not exist
      throw e;
    }
    return row;
  }

  /** The signing pipeline: resolve CA → provisioner policy → build → sign → verify → commit row + audit. */
  async function signPipeline(
    input: SshSignInput & { idempotencyKey?: string },
    provisioner: SshProvisioner,
    opts: { registerHost?: boolean } = {},
  ): Promise<IssuedSshCertificate> {
    const now = clock.now();
    // resolve CA
    const ca = await resolveCa(input.ca);
    provisioner.authorizeSign(ca, input.type);
    if (ca.status !== 'active') {
      throw new PkiError('ssh.ca_not_active', `SSH CA ${ca.name} is ${ca.status}: it no longer signs`, {
        details: { status: ca.status },
      });
    }
    if (ca.certType !== input.type) {
      throw new PkiError(
        'ssh.invalid_request',
        `SSH CA ${ca.name} signs ${ca.certType} certificates, not ${input.type} certificates`,
      );
    }
    const subjectKey = parseSshPublicKey(input.publicKey);
    // idempotent replay (fleet tokens): the same key for the same request returns the same certificate
    if (input.idempotencyKey && provisioner.fleetTokenId) {
      const prior = await store.ssh.certificateByIdempotencyKey(provisioner.fleetTokenId, input.idempotencyKey);
      if (prior) {
        if (prior.keyFingerprint !== subjectKey.fingerprint || prior.caId !== ca.id) {
          throw new PkiError(
            'ssh.idempotency_conflict',
            'this idempotency key was used for a different public key or CA',
          );
        }
        return { certificate: prior, line: prior.certificate, replayed: true };
      }
    }
    // provisioner policy: registry (grants, host names, blocks) and the CA's lifetime cap
    let principals = [...new Set((input.principals ?? []).map((p) => p.trim()).filter(Boolean))];
    let user: SshUserRow | undefined;
    let host: SshHostRow | undefined;
    const extra: SshUnitOfWork = {};
    const hostKrlScopes: string[] = [];
    if (input.host) {
      const hostName = checkName('host', input.host, HOST_RE);
      host = await store.ssh.hostByName(ca.environmentId, hostName);
      if (!host && opts.registerHost && input.type === 'host') {
        host = {
          id: newId('hst'),
          environmentId: ca.environmentId,
          name: hostName,
          principals: principals.length ? principals : [hostName],
          createdAt: now,
          updatedAt: now,
        };
        extra.insertHosts = [host];
      }
      if (!host) throw new PkiError('ssh.host_not_found', `no SSH host '${hostName}' in this environment`);
    }
    if (input.type === 'host') {
      if (host) {
        if (!principals.length) principals = [...host.principals];
        const outside = principals.filter((p) => !host.principals.includes(p));
        if (outside.length) {
          throw new PkiError(
            'ssh.principal_not_allowed',
            `host ${host.name} may not claim ${outside.join(', ')} (its names: ${host.principals.join(', ')})`,
            { details: { principals: outside } },
          );
        }
      }
    } else if (input.user) {
      user = await resolveUser(input.user);
      if (user.disabled) throw new PkiError('ssh.user_disabled', `SSH user ${user.name} is disabled`);
      const blocks = await store.ssh.blocksOfUser(user.id);
      const fleetWide = blocks.find((b) => b.hostId === null);
      if (fleetWide) {
        throw new PkiError('ssh.blocked', `SSH user ${user.name} is blocked fleet-wide`, {
          details: { block: fleetWide.id },
        });
      }
      if (host && blocks.some((b) => b.hostId === host.id)) {
        throw new PkiError('ssh.blocked', `SSH user ${user.name} is blocked on host ${host.name}`, {
          details: { host: host.name },
        });
      }
      // certificates of a user blocked on some hosts go into those hosts' KRLs
      for (const b of blocks) if (b.hostId) hostKrlScopes.push(`host:${b.hostId}`);
      const granted = await store.ssh.grantsOfUser(user.id);
      if (!principals.length) principals = granted;
      const notGranted = principals.filter((p) => !granted.includes(p));
      if (notGranted.length || !principals.length) {
        throw new PkiError(
          'ssh.principal_not_allowed',
          notGranted.length
            ? `principal ${notGranted.join(', ')} is not granted to SSH user ${user.name}`
            : `SSH user ${user.name} has no granted principals`,
          { details: { principals: notGranted, granted } },
        );
      }
    } else if (provisioner.fleetTokenId) {
      throw new PkiError('ssh.invalid_request', 'a fleet token signs user certificates only for a named SSH user');
    }
    const ttlMs = input.ttlMs ?? ca.defaultTtlMs;
    if (!(ttlMs > 0)) throw new PkiError('input.invalid', 'the TTL must be positive');
    if (ttlMs > ca.maxTtlMs) {
      throw new PkiError(
        'policy.lifetime_exceeded',
        `the requested lifetime ${formatLifetime(ttlMs)} exceeds the SSH CA ${ca.name} maximum of ` +
          formatLifetime(ca.maxTtlMs),
        { details: { requestedMs: ttlMs, maxMs: ca.maxTtlMs } },
      );
    }
    provisioner.checkLifetime(ttlMs);
    let serial = newSerial();
    while (await store.ssh.certificateBySerial(ca.id, serial.toString())) serial = newSerial();
    const subject = user?.name ?? host?.name ?? principals[0] ?? 'unknown';
    const keyId = input.keyId?.trim() || `${input.type}:${subject}:${serial}`;
    const validAfter = Math.floor((now - BACKDATE_MS) / 1000) * 1000;
    const validBefore = Math.floor((now + ttlMs) / 1000) * 1000;
    const extensions =
      input.type === 'user'
        ? (input.extensions ?? Object.fromEntries(SSH_DEFAULT_USER_EXTENSIONS.map((e) => [e, true as const])))
        : (input.extensions ?? {});
    const criticalOptions = input.criticalOptions ?? {};
    // build → sign with the CA's signer handle → verify (issueSshCertificate checks the signature)
    const signer = keys.signer({ uri: ca.keyUri, keyType: ca.keyType, publicKey: await caSpki(ca) });
    const issued = await issueSshCertificate(
      {
        publicKey: subjectKey.blob,
        serial,
        type: input.type,
        keyId,
        principals,
        validAfter,
        validBefore,
        criticalOptions,
        extensions,
      },
      signer,
      subjectKey.comment,
    );
    const row: SshCertificateRow = {
      id: newId('ssc'),
      caId: ca.id,
      serial: serial.toString(),
      keyId,
      certType: input.type,
      principals,
      keyFingerprint: subjectKey.fingerprint,
      validAfter,
      validBefore,
      criticalOptions,
      extensions,
      certificate: issued.line,
      status: 'active',
      revokedAt: null,
      revocationReason: null,
      sshUserId: user?.id ?? null,
      hostId: host?.id ?? null,
      provisioner: provisioner.id,
      issuedBy: typeof provisioner.actor === 'string' ? provisioner.actor : provisioner.actor.id,
      fleetTokenId: provisioner.fleetTokenId ?? null,
      idempotencyKey: provisioner.fleetTokenId ? (input.idempotencyKey ?? null) : null,
      createdAt: clock.now(),
    };
    const audit: NewAuditEvent[] = [];
    if (extra.insertHosts?.length) {
      audit.push(
        auditEvent(clock, provisioner.actor, 'ssh_host.created', host!.id, {
          name: host!.name,
          principals: host!.principals,
          provisioner: provisioner.id,
        }),
      );
    }
    audit.push(
      auditEvent(clock, provisioner.actor, 'ssh_certificate.issued', row.id, {
        ca: ca.name,
        serial: row.serial,
        type: row.certType,
        keyId,
        principals,
        validAfter,
        validBefore,
        keyFingerprint: row.keyFingerprint,
        provisioner: provisioner.ref,
        user: user?.name,
        host: host?.name,
      }),
    );
    await store.commit({
      ssh: {
        ...extra,
        insertCertificates: [row],
        ...(hostKrlScopes.length ? { bumpKrlVersions: { scopes: hostKrlScopes, at: row.createdAt } } : {}),
      },
      audit,
    });
    return { certificate: row, line: issued.line };
  }

  const spkiCache = new Map<string, Uint8Array>();
  async function caSpki(ca: SshCaRow): Promise<Uint8Array> {
    let spki = spkiCache.get(ca.id);
    if (!spki) {
      spki = await keys.getPublicKey(ca.keyUri);
      if (sshFingerprint(sshPublicKeyBlobFromSpki(spki)) !== ca.fingerprint) {
        throw new PkiError(
          'kms.operation_failed',
          `the key of SSH CA ${ca.name} does not match its recorded public key`,
        );
      }
      spkiCache.set(ca.id, spki);
    }
    return spki;
  }

  function caBlob(ca: SshCaRow): Uint8Array {
    return parseSshPublicKey(ca.publicKey).blob;
  }

  function krlSectionFor(ca: SshCaRow, revoked: SshCertificateRow[]): KrlCertificateSection {
    return { caPublicKey: caBlob(ca), serials: revoked.map((c) => BigInt(c.serial)) };
  }

  /** explicit keys: certificates revoked "by key" put their public key in the KRL */
  function revokedKeys(revoked: SshCertificateRow[]): Uint8Array[] {
    return revoked
      .filter((c) => c.revocationReason?.startsWith('key:'))
      .map((c) => parseSshCertificate(c.certificate).publicKey);
  }

  async function krlVersionOf(scope: string, fallbackAt: number): Promise<{ version: number; at: number }> {
    const v = await store.ssh.krlVersion(scope);
    return v ? { version: v.version, at: v.updatedAt } : { version: 0, at: fallbackAt };
  }

  function krlOf(
    scope: string,
    version: number,
    at: number,
    comment: string,
    body: Omit<Parameters<typeof encodeKrl>[0], 'version' | 'generatedAt' | 'comment'>,
  ): SshKrl {
    const krl = encodeKrl({ ...body, version: BigInt(version), generatedAt: at, comment });
    return { scope, version, generatedAt: at, etag: `"${scope.replace(':', '-')}-v${version}"`, krl };
  }

  async function trustedCas(environmentId: string, type: SshCertType): Promise<SshCaRow[]> {
    return (await store.ssh.listCas(environmentId)).filter(
      (c) => c.certType === type && (c.status === 'active' || c.status === 'rotating'),
    );
  }

  function fleetRateCheck(token: SshFleetTokenRow): void {
    const now = clock.now();
    sweepFleetWindows(now);
    const window = (fleetWindows.get(token.id) ?? []).filter((t) => t > now - FLEET_WINDOW_MS);
    if (window.length >= token.ratePerMinute) {
      fleetWindows.set(token.id, window);
      throw new PkiError(
        'rate.limited',
        `fleet token ${token.name} is limited to ${token.ratePerMinute} requests a minute`,
        {
          details: { retryAfterMs: Math.max(0, (window[0] ?? now) + FLEET_WINDOW_MS - now) },
        },
      );
    }
    window.push(now);
    fleetWindows.set(token.id, window);
  }

  const service: SshService & { fleetWindowsHeld(): number } = {
    fleetWindowsHeld: () => fleetWindows.size,
    async createCa(input, actor) {
      return audited(actor, 'ssh_ca.create_failed', null, { name: input.name, type: input.type }, async () => {
        authorize(actor, 'ssh:manage');
        const env = await environment(input.environment, true, actor);
        return view(await createCaRow({ ...input, env }, actor));
      });
    },

    async rotateCa(input, actor) {
      return audited(actor, 'ssh_ca.rotate_failed', null, { type: input.type }, async () => {
        authorize(actor, 'ssh:manage');
        const env = await environment(input.environment);
        const current = (await store.ssh.listCas(env.id)).filter(
          (c) => c.certType === input.type && c.status === 'active',
        );
        if (!current.length) {
          throw new PkiError('ssh.ca_not_found', `no active ${input.type} CA in environment ${env.name} to rotate`);
        }
        const last = current[current.length - 1]!; // non-empty: checked above
        const name = input.name ?? `${env.name}-${input.type}-${new Date(clock.now()).toISOString().slice(0, 10)}`;
        const now = clock.now();
        const row = await createCaRow(
          {
            name,
            type: input.type,
            keyType: input.keyType ?? last.keyType,
            backend: input.backend ?? last.keyBackend,
            env,
            maxTtlMs: last.maxTtlMs,
            defaultTtlMs: last.defaultTtlMs,
          },
          actor,
          { updateCas: current.map((c) => ({ id: c.id, patch: { status: 'rotating' as const, updatedAt: now } })) },
          current.map((c) =>
            auditEvent(clock, actor, 'ssh_ca.rotating', c.id, { name: c.name, environment: env.name }),
          ),
        );
        return {
          created: await view(row),
          rotating: current.map((c) => ({ ...c, status: 'rotating' as const, updatedAt: now })),
        };
      });
    },

    async retireExpiredCas(actor) {
      authorize(actor, 'ssh:manage');
      const now = clock.now();
      const out: SshCaRow[] = [];
      for (const ca of await store.ssh.listCas()) {
        if (ca.status !== 'rotating') continue;
        if ((await store.ssh.countUnexpired(ca.id, now)) > 0) continue;
        await store.commit({
          ssh: { updateCas: [{ id: ca.id, patch: { status: 'retired', retiredAt: now, updatedAt: now } }] },
          audit: [auditEvent(clock, actor, 'ssh_ca.retired', ca.id, { name: ca.name })],
        });
        out.push({ ...ca, status: 'retired', retiredAt: now, updatedAt: now });
      }
      return out;
    },

    async listCas(envName) {
      const env = envName ? await environment(envName) : undefined;
      return Promise.all((await store.ssh.listCas(env?.id)).map(view));
    },

    async getCa(ref) {
      return view(await resolveCa(ref));
    },

    async sign(input, actor) {
      const provisioner = actorSshProvisioner(actor);
      return audited(
        actor,
        'ssh_certificate.issue_failed',
        null,
        { ca: input.ca, type: input.type, principals: input.principals, user: input.user, host: input.host },
        () => signPipeline(input, provisioner),
      );
    },

    async listCertificates(q) {
      const ca = q.ca ? await resolveCa(q.ca) : undefined;
      return store.ssh.listCertificates({ caId: ca?.id, status: q.status, limit: q.limit, cursor: q.cursor });
    },

    async getCertificate(caRef, serial) {
      const ca = await resolveCa(caRef);
      const row = await store.ssh.certificateBySerial(ca.id, normalizeSerial(serial));
      if (!row) throw new PkiError('ssh.certificate_not_found', `SSH CA ${ca.name} has no certificate ${serial}`);
      return row;
    },

    async revoke(input, actor) {
      return audited(
        actor,
        'ssh_certificate.revoke_failed',
        null,
        { ca: input.ca, serial: input.serial, keyId: input.keyId },
        async () => {
          authorize(actor, 'ssh:revoke');
          const ca = await resolveCa(input.ca);
          // a token or user limited to named CAs revokes only there (as for X.509 certificates)
          checkActorMayUseCa(actor, ca);
          const now = clock.now();
          let targets: SshCertificateRow[];
          let reasonTag: string;
          if (input.serial !== undefined) {
            const row = await store.ssh.certificateBySerial(ca.id, normalizeSerial(input.serial));
            if (!row) {
              throw new PkiError('ssh.certificate_not_found', `SSH CA ${ca.name} has no certificate ${input.serial}`);
            }
            if (row.status === 'revoked') {
              throw new PkiError('ssh.certificate_already_revoked', `certificate ${row.serial} is already revoked`);
            }
            targets = [row];
            reasonTag = 'serial';
          } else if (input.keyId || input.publicKey) {
            const fp = input.publicKey ? parseSshPublicKey(input.publicKey).fingerprint : undefined;
            targets = [];
            for (let cursor: string | null = null; ;) {
              const page = await store.ssh.listCertificates({ caId: ca.id, status: 'active', limit: 1000, cursor });
              targets.push(...page.items.filter((c) => (fp ? c.keyFingerprint === fp : c.keyId === input.keyId)));
              if (!page.nextCursor) break;
              cursor = page.nextCursor;
            }
            if (!targets.length) {
              throw new PkiError('ssh.certificate_not_found', `no active certificate of SSH CA ${ca.name} matches`);
            }
            reasonTag = fp ? `key:${fp}` : `key-id:${input.keyId}`;
          } else {
            throw new PkiError('input.invalid', 'give a serial, a key id or a public key to revoke');
          }
          const reason = input.reason ? `${reasonTag} ${input.reason}`.slice(0, 500) : reasonTag;
          const hostScopes = new Set<string>();
          for (const c of targets) if (c.hostId) hostScopes.add(`host:${c.hostId}`);
          // every host of the environment serves this CA's revocations in its KRL
          for (const h of await store.ssh.listHosts(ca.environmentId)) hostScopes.add(`host:${h.id}`);
          const result = await store.commit({
            ssh: {
              updateCertificates: targets.map((c) => ({
                id: c.id,
                patch: { status: 'revoked' as const, revokedAt: now, revocationReason: reason },
                onlyIfStatus: 'active' as const,
              })),
              bumpKrlVersions: { scopes: [`ca:${ca.id}`, ...hostScopes], at: now },
            },
            audit: targets.map((c) =>
              auditEvent(clock, actor, 'ssh_certificate.revoked', c.id, {
                ca: ca.name,
                serial: c.serial,
                keyId: c.keyId,
                reason,
              }),
            ),
          });
          return {
            revoked: targets.map((c) => ({
              ...c,
              status: 'revoked' as const,
              revokedAt: now,
              revocationReason: reason,
            })),
            krlVersion: result.krlVersions[`ca:${ca.id}`] ?? 0,
          };
        },
      );
    },

    async caKrl(ref) {
      const ca = await resolveCa(ref);
      const scope = `ca:${ca.id}`;
      const { version, at } = await krlVersionOf(scope, ca.createdAt);
      const revoked = await store.ssh.listRevokedCertificates(ca.id, clock.now());
      return krlOf(scope, version, at, `pkim ${ca.name}`, {
        certificates: [krlSectionFor(ca, revoked)],
        keys: revokedKeys(revoked),
      });
    },

    async hostKrl(envName, hostName) {
      const env = await environment(envName);
      const host = await resolveHost(env.id, hostName);
      const scope = `host:${host.id}`;
      const { version, at } = await krlVersionOf(scope, host.createdAt);
      const now = clock.now();
      const userCas = (await store.ssh.listCas(env.id)).filter((c) => c.certType === 'user');
      const blockedUsers = new Set((await store.ssh.blocksForHost(host.id)).map((b) => b.userId));
      const sections: KrlCertificateSection[] = [];
      const keys: Uint8Array[] = [];
      for (const ca of userCas) {
        const revoked = await store.ssh.listRevokedCertificates(ca.id, now);
        const blocked: SshCertificateRow[] = [];
        if (blockedUsers.size) {
          for (let cursor: string | null = null; ;) {
            const page = await store.ssh.listCertificates({ caId: ca.id, status: 'active', limit: 1000, cursor });
            blocked.push(
              ...page.items.filter((c) => c.sshUserId && blockedUsers.has(c.sshUserId) && c.validBefore > now),
            );
            if (!page.nextCursor) break;
            cursor = page.nextCursor;
          }
        }
        sections.push(krlSectionFor(ca, [...revoked, ...blocked]));
        keys.push(...revokedKeys(revoked));
      }
      return krlOf(scope, version, at, `pkim ${env.name}/${host.name}`, { certificates: sections, keys });
    },

    async trust(envName) {
      const env = await environment(envName);
      const userCas = await trustedCas(env.id, 'user');
      const hostCas = await trustedCas(env.id, 'host');
      const hosts = await store.ssh.listHosts(env.id);
      const hostPatterns = hosts.length ? [...new Set(hosts.flatMap((h) => h.principals))].sort() : ['*'];
      return {
        userCaKeys: userCas.length ? renderTrustedUserCaKeys(userCas.map((c) => c.publicKey)) : '',
        knownHosts: hostCas.length
          ? renderKnownHostsCertAuthority(
              hostPatterns,
              hostCas.map((c) => c.publicKey),
            )
          : '',
        hostPatterns,
      };
    },

    // ------------------------------------------------------------------------------------------ registry
    async createEnvironment(input, actor) {
      return audited(actor, 'ssh_environment.create_failed', null, { name: input.name }, async () => {
        authorize(actor, 'ssh:manage');
        const name = checkName('environment', input.name);
        if (await store.ssh.environmentByName(name)) {
          throw new PkiError('ssh.name_taken', `SSH environment '${name}' already exists`);
        }
        const row: SshEnvironmentRow = {
          id: newId('env'),
          name,
          description: input.description ?? null,
          createdAt: clock.now(),
        };
        await store.commit({
          ssh: { insertEnvironments: [row] },
          audit: [auditEvent(clock, actor, 'ssh_environment.created', row.id, { name })],
        });
        return row;
      });
    },
    listEnvironments: () => store.ssh.listEnvironments(),

    async addHost(input, actor) {
      return audited(actor, 'ssh_host.create_failed', null, { name: input.name }, async () => {
        authorize(actor, 'ssh:manage');
        const env = await environment(input.environment, true, actor);
        const name = checkName('host', input.name, HOST_RE);
        if (await store.ssh.hostByName(env.id, name)) {
          throw new PkiError('ssh.name_taken', `host '${name}' already exists in ${env.name}`);
        }
        const principals = [...new Set(input.principals?.length ? input.principals : [name])];
        for (const p of principals) checkName('host principal', p, /^(\*\.)?[A-Za-z0-9_.:*?-]{1,253}$/);
        const now = clock.now();
        const row: SshHostRow = {
          id: newId('hst'),
          environmentId: env.id,
          name,
          principals,
          createdAt: now,
          updatedAt: now,
        };
        await store.commit({
          ssh: { insertHosts: [row] },
          audit: [auditEvent(clock, actor, 'ssh_host.created', row.id, { name, environment: env.name, principals })],
        });
        return row;
      });
    },
    async listHosts(envName) {
      const env = envName ? await environment(envName) : undefined;
      return store.ssh.listHosts(env?.id);
    },

    async addUser(input, actor) {
      return audited(actor, 'ssh_user.create_failed', null, { name: input.name }, async () => {
        authorize(actor, 'ssh:manage');
        const name = checkName('user', input.name);
        if (await store.ssh.userByName(name)) throw new PkiError('ssh.name_taken', `SSH user '${name}' already exists`);
        const row: SshUserRow = { id: newId('sus'), name, disabled: false, createdAt: clock.now() };
        await store.commit({
          ssh: { insertUsers: [row] },
          audit: [auditEvent(clock, actor, 'ssh_user.created', row.id, { name })],
        });
        return row;
      });
    },
    async listUsers() {
      const users = await store.ssh.listUsers();
      return Promise.all(users.map(async (u) => ({ ...u, principals: await store.ssh.grantsOfUser(u.id) })));
    },
    async setUserDisabled(name, disabled, actor) {
      authorize(actor, 'ssh:manage');
      const user = await resolveUser(name);
      await store.commit({
        ssh: { updateUsers: [{ id: user.id, patch: { disabled } }] },
        audit: [auditEvent(clock, actor, disabled ? 'ssh_user.disabled' : 'ssh_user.enabled', user.id, { name })],
      });
      return { ...user, disabled };
    },

    async addPrincipal(input, actor) {
      return audited(actor, 'ssh_principal.create_failed', null, { name: input.name }, async () => {
        authorize(actor, 'ssh:manage');
        const name = checkName('principal', input.name);
        if (await store.ssh.principal(name)) throw new PkiError('ssh.name_taken', `principal '${name}' already exists`);
        const row = { id: newId('spr'), name, description: input.description ?? null, createdAt: clock.now() };
        await store.commit({
          ssh: { insertPrincipals: [row] },
          audit: [auditEvent(clock, actor, 'ssh_principal.created', row.id, { name })],
        });
        return row;
      });
    },
    listPrincipals: () => store.ssh.listPrincipals(),

    async grant(input, actor) {
      return audited(actor, 'ssh_principal.grant_failed', null, input, async () => {
        authorize(actor, 'ssh:manage');
        const user = await resolveUser(input.user);
        const p = await store.ssh.principal(input.principal);
        if (!p) throw new PkiError('ssh.principal_not_found', `no principal '${input.principal}' in the catalogue`);
        if ((await store.ssh.grantsOfUser(user.id)).includes(p.name)) {
          throw new PkiError('ssh.name_taken', `${user.name} already has principal ${p.name}`);
        }
        await store.commit({
          ssh: { insertGrants: [{ id: newId('grt'), userId: user.id, principal: p.name, createdAt: clock.now() }] },
          audit: [auditEvent(clock, actor, 'ssh_principal.granted', user.id, { user: user.name, principal: p.name })],
        });
      });
    },
    async ungrant(input, actor) {
      authorize(actor, 'ssh:manage');
      const user = await resolveUser(input.user);
      if (!(await store.ssh.grantsOfUser(user.id)).includes(input.principal)) {
        throw new PkiError('ssh.not_found', `${user.name} does not have principal ${input.principal}`);
      }
      await store.commit({
        ssh: { deleteGrants: [{ userId: user.id, principal: input.principal }] },
        audit: [
          auditEvent(clock, actor, 'ssh_principal.ungranted', user.id, { user: user.name, principal: input.principal }),
        ],
      });
    },

    async mapAccount(input, actor) {
      return audited(actor, 'ssh_host.account_map_failed', null, input, async () => {
        authorize(actor, 'ssh:manage');
        const env = await environment(input.environment);
        const host = await resolveHost(env.id, input.host);
        const account = checkName('account', input.account, /^[a-z_][a-z0-9_.-]{0,31}$/);
        const p = await store.ssh.principal(input.principal);
        if (!p) throw new PkiError('ssh.principal_not_found', `no principal '${input.principal}' in the catalogue`);
        const existing = await store.ssh.hostAccounts(host.id);
        if (existing.some((a) => a.account === account && a.principal === p.name)) {
          throw new PkiError('ssh.name_taken', `${p.name} already maps to ${account} on ${host.name}`);
        }
        const row = { id: newId('hac'), hostId: host.id, account, principal: p.name, createdAt: clock.now() };
        await store.commit({
          ssh: { insertHostAccounts: [row] },
          audit: [
            auditEvent(clock, actor, 'ssh_host.account_mapped', host.id, {
              host: host.name,
              account,
              principal: p.name,
            }),
          ],
        });
        return row;
      });
    },
    async listHostAccounts(envName, hostName) {
      const env = await environment(envName);
      const host = await resolveHost(env.id, hostName);
      return store.ssh.hostAccounts(host.id);
    },
    async unmapAccount(input, actor) {
      authorize(actor, 'ssh:manage');
      const env = await environment(input.environment);
      const host = await resolveHost(env.id, input.host);
      const existing = await store.ssh.hostAccounts(host.id);
      if (!existing.some((a) => a.account === input.account && a.principal === input.principal)) {
        throw new PkiError('ssh.not_found', `${input.principal} does not map to ${input.account} on ${host.name}`);
      }
      await store.commit({
        ssh: { deleteHostAccounts: [{ hostId: host.id, account: input.account, principal: input.principal }] },
        audit: [
          auditEvent(clock, actor, 'ssh_host.account_unmapped', host.id, {
            host: host.name,
            account: input.account,
            principal: input.principal,
          }),
        ],
      });
    },
    async principalsFiles(envName, hostName) {
      const env = await environment(envName);
      const host = await resolveHost(env.id, hostName);
      const byAccount = new Map<string, string[]>();
      for (const a of await store.ssh.hostAccounts(host.id)) {
        byAccount.set(a.account, [...(byAccount.get(a.account) ?? []), a.principal]);
      }
      return Object.fromEntries([...byAccount].map(([acc, ps]) => [acc, renderAuthorizedPrincipals(ps)]));
    },

    async block(input, actor) {
      return audited(actor, 'ssh_block.create_failed', null, input, async () => {
        authorize(actor, 'ssh:manage');
        const user = await resolveUser(input.user);
        let host: SshHostRow | undefined;
        if (input.host) host = await resolveHost((await environment(input.environment)).id, input.host);
        const now = clock.now();
        const row = {
          id: newId('blk'),
          userId: user.id,
          hostId: host?.id ?? null,
          reason: input.reason ?? null,
          createdBy: actor.id,
          createdAt: now,
        };
        const scopes = host ? [`host:${host.id}`] : (await store.ssh.listHosts()).map((h) => `host:${h.id}`);
        await store.commit({
          ssh: { insertBlocks: [row], bumpKrlVersions: { scopes, at: now } },
          audit: [
            auditEvent(clock, actor, 'ssh_block.created', row.id, {
              user: user.name,
              host: host?.name ?? null,
              reason: row.reason,
            }),
          ],
        });
        return row;
      });
    },
    async unblock(id, actor) {
      authorize(actor, 'ssh:manage');
      const b = await store.ssh.blockById(id);
      if (!b) throw new PkiError('ssh.not_found', `no SSH block ${id}`);
      const now = clock.now();
      const scopes = b.hostId ? [`host:${b.hostId}`] : (await store.ssh.listHosts()).map((h) => `host:${h.id}`);
      await store.commit({
        ssh: { deleteBlocks: [id], bumpKrlVersions: { scopes, at: now } },
        audit: [auditEvent(clock, actor, 'ssh_block.deleted', id, { userId: b.userId, hostId: b.hostId })],
      });
    },
    listBlocks: () => store.ssh.listBlocks(),

    async hostBundle(input, actor) {
      authorize(actor, 'ssh:read');
      const env = await environment(input.environment);
      const host = await resolveHost(env.id, input.host);
      const dir = input.dir ?? '/etc/ssh/pkim';
      const trust = await service.trust(env.name);
      const base = (input.publicBaseUrl ?? deps.publicBaseUrl)?.replace(/\/+$/, '');
      const krlUrl = base
        ? `${base}/ssh/krl/${encodeURIComponent(env.name)}/hosts/${encodeURIComponent(host.name)}`
        : null;
      const files: Record<string, string> = {
        'sshd_config.d/pkim.conf': renderSshdDropIn({ dir }),
        'trusted_user_ca_keys.pub': trust.userCaKeys,
        known_hosts: trust.knownHosts,
      };
      for (const [account, content] of Object.entries(await service.principalsFiles(env.name, host.name))) {
        files[`principals/${account}`] = content;
      }
      const krlCmd = krlUrl
        ? `curl -fsS --etag-compare ${dir}/krl.etag --etag-save ${dir}/krl.etag -o ${dir}/revoked.krl '${krlUrl}'\n`
        : '# no public base URL configured: copy the KRL with `pkim ssh krl --host …`\n';
      files['refresh-krl.sh'] = `#!/bin/sh\nset -eu\n${krlCmd}`;
      return { host, environment: env.name, files, krlUrl, dir };
    },

    // ------------------------------------------------------------------------------------------ fleet tokens
    async createFleetToken(input, actor) {
      return audited(actor, 'ssh_fleet_token.create_failed', null, { name: input.name }, async () => {
        authorize(actor, 'ssh:manage');
        const env = await environment(input.environment, true, actor);
        const name = checkName('fleet token', input.name);
        const ops = [...new Set(input.operations)];
        if (!ops.length || ops.some((o) => o !== 'sign-host' && o !== 'sign-user')) {
          throw new PkiError('input.invalid', 'fleet token operations are sign-host and/or sign-user');
        }
        const rate = input.ratePerMinute ?? 60;
        if (!Number.isInteger(rate) || rate < 1 || rate > 100_000) {
          throw new PkiError('input.invalid', 'rate per minute must be an integer from 1 to 100000');
        }
        const token = FLEET_TOKEN_PREFIX + randomBytes(32).toString('base64url');
        const now = clock.now();
        const row: SshFleetTokenRow = {
          id: newId('ftk'),
          name,
          environmentId: env.id,
          operations: ops,
          tokenHash: sha256Hex(token),
          ratePerMinute: rate,
          expiresAt: input.expiresInMs ? now + input.expiresInMs : null,
          revokedAt: null,
          lastUsedAt: null,
          createdBy: actor.id,
          createdAt: now,
        };
        await store.commit({
          ssh: { insertFleetTokens: [row] },
          audit: [
            auditEvent(clock, actor, 'ssh_fleet_token.created', row.id, {
              name,
              environment: env.name,
              operations: ops,
              ratePerMinute: rate,
              expiresAt: row.expiresAt,
            }),
          ],
        });
        return { token, row };
      });
    },
    listFleetTokens: () => store.ssh.listFleetTokens(),
    async revokeFleetToken(id, actor) {
      authorize(actor, 'ssh:manage');
      const row = await store.ssh.fleetTokenById(id);
      if (!row) throw new PkiError('ssh.not_found', `no fleet token ${id}`);
      if (row.revokedAt) throw new PkiError('token.already_revoked', `fleet token ${row.name} is already revoked`);
      await store.commit({
        ssh: { updateFleetTokens: [{ id, patch: { revokedAt: clock.now() } }] },
        audit: [auditEvent(clock, actor, 'ssh_fleet_token.revoked', id, { name: row.name })],
      });
    },

    async fleetSign(token, input) {
      const row =
        typeof token === 'string' && token.startsWith(FLEET_TOKEN_PREFIX)
          ? await store.ssh.fleetTokenByHash(sha256Hex(token))
          : undefined;
      const now = clock.now();
      if (!row || row.revokedAt || (row.expiresAt !== null && row.expiresAt <= now)) {
        await store.audit.append(
          auditEvent(
            clock,
            row ? `fleet:${row.id}` : 'anonymous',
            'ssh_fleet_token.auth_failed',
            row?.id ?? null,
            {
              reason: !row ? 'unknown' : row.revokedAt ? 'revoked' : 'expired',
            },
            'failure',
          ),
        );
        throw new PkiError('ssh.fleet_token_invalid', 'the fleet token is unknown, revoked or expired');
      }
      fleetRateCheck(row);
      // across processes (several `pkim serve` on one database): the certificates issued in the last minute
      const issuedLastMinute = await store.ssh.countFleetIssuedSince(row.id, now - 60_000);
      if (issuedLastMinute >= row.ratePerMinute) {
        throw new PkiError(
          'rate.limited',
          `fleet token ${row.name} is limited to ${row.ratePerMinute} certificates a minute`,
          { details: { retryAfterMs: 60_000 } },
        );
      }
      const provisioner = fleetSshProvisioner(row);
      return audited(
        provisioner.actor,
        'ssh_certificate.issue_failed',
        null,
        { type: input.type, host: input.host, user: input.user, provisioner: provisioner.id },
        async () => {
          const type = input.type;
          const cas = (await store.ssh.listCas(row.environmentId)).filter(
            (c) => c.certType === type && c.status === 'active',
          );
          const ca = cas[cas.length - 1];
          if (!ca) {
            throw new PkiError('ssh.ca_not_found', `no active ${type} CA in the fleet token's environment`);
          }
          if (type === 'host' && !input.host) throw new PkiError('input.invalid', 'sign-host needs the host name');
          const issued = await signPipeline(
            {
              ca: ca.id,
              type,
              publicKey: input.publicKey,
              principals: input.principals,
              ttlMs: input.ttlMs,
              host: input.host,
              user: input.user,
              idempotencyKey: input.idempotencyKey,
            },
            provisioner,
            { registerHost: true },
          );
          await store.commit({ ssh: { updateFleetTokens: [{ id: row.id, patch: { lastUsedAt: now } }] } });
          return issued;
        },
      );
    },
  };
  return service;
}

/** Accepts decimal (as ssh-keygen -L prints) or 0x-prefixed hex serials. */
export function normalizeSerial(serial: string): string {
  const s = String(serial).trim();
  try {
    if (/^0x[0-9a-f]{1,16}$/i.test(s)) return BigInt(s).toString();
    if (/^\d{1,20}$/.test(s)) {
      const v = BigInt(s);
      if (v <= 0xffff_ffff_ffff_ffffn) return v.toString();
    }
  } catch {
    /* fall through */
  }
  throw new PkiError('input.invalid', `'${serial}' is not an SSH certificate serial (decimal or 0x hex uint64)`);
}

export type { SshFleetSignInput };
