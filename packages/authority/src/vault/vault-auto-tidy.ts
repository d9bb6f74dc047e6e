import { PkiError, type Clock } from '@pkim/shared';
import type { Store } from '@pkim/store';
import type { Logger } from 'pino';
import { authorize } from '../permissions';
import { SYSTEM_ACTOR, type Actor } from '../types';
import { auditEvent } from '../audit-service';
import type { VaultMount, VaultMountService } from './vault-mount-service';
import type { TidyStatus, TidyTargets, VaultPkiService } from './vault-pki-service';
import { coerceVaultField, formatGoDuration, parseVaultDuration } from './vault-params';

/** A mount's `config/auto-tidy` as stored (`vault.auto_tidy.<mount>`); durations in seconds. */
export interface AutoTidyConfig extends TidyTargets {
  enabled: boolean;
  interval_duration: number;
  /** every revoked certificate here names its issuer (its CA): kept and shown, there is nothing to re-associate */
  tidy_revoked_cert_issuer_associations: boolean;
  /** epoch ms it was last enabled: the first automatic run comes one interval after it when no tidy ran before */
  enabled_at: number | null;
}

export const AUTO_TIDY_KEY = 'vault.auto_tidy.';

const DEFAULTS: Omit<AutoTidyConfig, 'enabled_at'> = {
  enabled: false,
  interval_duration: 12 * 3600,
  tidy_cert_store: false,
  tidy_revoked_certs: false,
  tidy_revoked_cert_issuer_associations: false,
  safety_buffer: 72 * 3600,
  pause_duration: 0,
};

const BOOLS = ['enabled', 'tidy_cert_store', 'tidy_revoked_certs', 'tidy_revoked_cert_issuer_associations'] as const;

/**
 * OpenBao's other auto-tidy fields, with their defaults: a write gives them only with these values (what OpenBao's
 * read answers and Terraform sends back); any other value is a 400 saying why, before anything changes
 */
const FIXED: Record<string, { value: boolean | number; why: string }> = {
  tidy_invalid_certs: { value: false, why: 'a certificate here is never stored unparseable' },
  tidy_expired_issuers: {
    value: false,
    why: "a mount's issuers are CAs (DELETE issuer/:ref, pkim ca delete remove them)",
  },
  tidy_move_legacy_ca_bundle: { value: false, why: 'there is no legacy CA bundle here' },
  tidy_acme: { value: false, why: "ACME accounts are the ACME server's, not a mount's" },
  maintain_stored_certificate_counts: { value: false, why: 'tidy-status always counts from the database' },
  publish_stored_certificate_count_metrics: { value: false, why: '/metrics publishes certificate counts' },
  issuer_safety_buffer: { value: 365 * 86_400, why: 'expired issuers are not tidied' },
  acme_account_safety_buffer: { value: 30 * 86_400, why: 'ACME accounts are not tidied' },
  page_size: { value: 1000, why: 'the tidy pages by 1000' },
};
const DURATION_FIXED = new Set(['issuer_safety_buffer', 'acme_account_safety_buffer']);

/** the value of each field PKI Manager cannot honour, as config/auto-tidy and tidy-status answer it (FIXED's) */
export function fixedTidyValues(fields: readonly string[]): Record<string, boolean | number> {
  return Object.fromEntries(fields.filter((f) => Object.hasOwn(FIXED, f)).map((f) => [f, FIXED[f]!.value]));
}

const ALL_TARGETS =
  'tidy_cert_store / tidy_revoked_certs / tidy_invalid_certs / tidy_revoked_cert_issuer_associations / ' +
  'tidy_expired_issuers / tidy_move_legacy_ca_bundle / tidy_acme';

const bad = (message: string) => new PkiError('vault.invalid_parameter', message);

/**
 * OpenBao's tidy fields PKI Manager cannot honour, as `tidy` (`what` 'tidy') and `config/auto-tidy` take them: true
 * when `field` is one of them — given with its default it changes nothing, another value is a 400 saying why
 */
export function checkFixedTidyField(field: string, raw: unknown, what: 'tidy' | 'auto-tidy'): boolean {
  const f = FIXED[field];
  if (!f || !Object.hasOwn(FIXED, field)) return false;
  // fields of config/auto-tidy only: OpenBao's tidy has no such field (and ignores it)
  if (what === 'tidy' && field.includes('stored_certificate_count')) return false;
  const v =
    typeof f.value === 'boolean'
      ? coerceVaultField('bool', field, raw)
      : DURATION_FIXED.has(field)
        ? parseVaultDuration(field, raw)
        : Number(raw);
  if (v !== f.value) {
    throw bad(`${field} is not supported by PKI Manager's ${what} (${f.why}): it can only be ${String(f.value)}`);
  }
  return true;
}

/** OpenBao's list of tidy targets, in its messages */
export const ALL_TIDY_TARGETS = ALL_TARGETS;

/** config/auto-tidy as OpenBao answers it: every field of its tidy config, durations in seconds, the pause a Go one */
export function autoTidyResponse(c: AutoTidyConfig): Record<string, unknown> {
  const fixed = Object.fromEntries(Object.entries(FIXED).map(([k, v]) => [k, v.value]));
  return {
    enabled: c.enabled,
    interval_duration: c.interval_duration,
    tidy_cert_store: c.tidy_cert_store,
    tidy_revoked_certs: c.tidy_revoked_certs,
    tidy_revoked_cert_issuer_associations: c.tidy_revoked_cert_issuer_associations,
    ...fixed,
    safety_buffer: c.safety_buffer,
    revoked_safety_buffer: c.safety_buffer,
    pause_duration: formatGoDuration(c.pause_duration),
  };
}

/** a write's fields over the stored config; unknown fields and OpenBao's fields this server cannot honour are 400s */
function applyAutoTidyParams(current: AutoTidyConfig, params: Record<string, unknown>): AutoTidyConfig {
  const next: AutoTidyConfig = { ...current };
  let revokedBuffer: number | undefined;
  for (const [field, raw] of Object.entries(params)) {
    if (raw === undefined) continue;
    if ((BOOLS as readonly string[]).includes(field)) {
      next[field as (typeof BOOLS)[number]] = coerceVaultField('bool', field, raw) as boolean;
    } else if (field === 'interval_duration') {
      if (typeof raw === 'string' && raw.trim().startsWith('-')) {
        throw bad(`given interval_duration must be greater than or equal to zero seconds; got: ${raw}`);
      }
      next.interval_duration = parseVaultDuration(field, raw);
    } else if (field === 'safety_buffer' || field === 'revoked_safety_buffer') {
      const v = parseVaultDuration(field, raw);
      if (v < 1) throw bad(`given ${field} must be at least one second; got: ${JSON.stringify(raw)}`);
      if (field === 'revoked_safety_buffer') revokedBuffer = v;
      else next.safety_buffer = v;
    } else if (field === 'pause_duration') {
      if (typeof raw === 'string' && raw.trim().startsWith('-')) throw bad('received invalid, negative pause_duration');
      next.pause_duration = parseVaultDuration(field, raw);
    } else if (checkFixedTidyField(field, raw, 'auto-tidy')) {
      // its default: nothing to change
    } else {
      throw bad(`unknown field "${field}" for config/auto-tidy`);
    }
  }
  if (revokedBuffer !== undefined && revokedBuffer !== next.safety_buffer) {
    throw bad('revoked_safety_buffer apart from safety_buffer is not supported here: give it equal or leave it out');
  }
  if (
    next.enabled &&
    !next.tidy_cert_store &&
    !next.tidy_revoked_certs &&
    !next.tidy_revoked_cert_issuer_associations
  ) {
    throw bad(
      'Auto-tidy enabled but no tidy operations were requested. Enable at least one tidy operation to be run ' +
        `(${ALL_TARGETS}).`,
    );
  }
  return next;
}

export interface VaultAutoTidyDeps {
  store: Store;
  clock: Clock;
  logger: Logger;
  mounts: Pick<VaultMountService, 'requireMount' | 'listMounts'>;
  pki: Pick<VaultPkiService, 'startTidy' | 'lastTidyAt'>;
}

/** One automatic run: the mount, and its tidy's end state with its counts. */
export interface AutoTidyRun {
  mount: string;
  status: TidyStatus;
}

/**
 * `config/auto-tidy`: per-mount settings (the settings store, `vault.auto_tidy.<mount>`, audited
 * `vault.auto_tidy_configured`), and `runDue`, which the server's background job `vault-auto-tidy` calls on its
 * leader every tick: each enabled mount whose interval has passed on the authority's clock since its last tidy ended
 * (manual or automatic, `vault.tidy_last.<mount>`; since it was enabled when none ran) gets the mount's tidy — the one
 * `<mount>/tidy` starts — as the system actor, audited `vault.auto_tidy_started` and `vault.tidy_finished`.
 */
export function createVaultAutoTidy(deps: VaultAutoTidyDeps) {
  const { store, clock, logger } = deps;

  async function configOf(mountPath: string): Promise<AutoTidyConfig> {
    const raw = await store.settings.get(AUTO_TIDY_KEY + mountPath);
    return { ...DEFAULTS, enabled_at: null, ...(raw ? (JSON.parse(raw) as Partial<AutoTidyConfig>) : {}) };
  }

  /** the epoch ms the mount's next automatic tidy is due, or undefined when none is */
  async function dueAt(m: VaultMount, c: AutoTidyConfig): Promise<number | undefined> {
    if (!c.enabled || c.interval_duration <= 0 || !m.caId) return undefined;
    const since = (await deps.pki.lastTidyAt(m.path)) ?? c.enabled_at ?? 0;
    return since + c.interval_duration * 1000;
  }

  return {
    async readAutoTidy(mountPath: string, actor: Actor): Promise<AutoTidyConfig> {
      authorize(actor, 'ca:read');
      const m = await deps.mounts.requireMount(mountPath);
      return configOf(m.path);
    },

    async writeAutoTidy(mountPath: string, params: Record<string, unknown>, actor: Actor): Promise<AutoTidyConfig> {
      authorize(actor, 'ca:write');
      const m = await deps.mounts.requireMount(mountPath);
      const current = await configOf(m.path);
      const next = applyAutoTidyParams(current, params);
      if (next.enabled && !current.enabled) next.enabled_at = clock.now();
      const { enabled_at: _e, ...shown } = next;
      await store.commit({
        setSettings: { [AUTO_TIDY_KEY + m.path]: JSON.stringify(next) },
        audit: [auditEvent(clock, actor, 'vault.auto_tidy_configured', m.path, { ...shown })],
      });
      return next;
    },

    /**
     * Runs every mount's due automatic tidy, one mount after the other, each to its end (the background job's tick;
     * leader-only, so one instance of a shared PostgreSQL database runs it). A mount whose tidy is running in this
     * process (a manual one) is left for the next tick, as OpenBao does.
     */
    async runDue(shouldStop: () => boolean = () => false): Promise<AutoTidyRun[]> {
      const done: AutoTidyRun[] = [];
      for (const m of await deps.mounts.listMounts()) {
        if (shouldStop()) break;
        const c = await configOf(m.path);
        const due = await dueAt(m, c);
        if (due === undefined || clock.now() < due) continue;
        const targets = c.tidy_cert_store || c.tidy_revoked_certs;
        // its start is audited before anything is deleted (the tidy's own events follow it in the chain)
        const started = () =>
          store.commit({
            audit: [
              auditEvent(clock, SYSTEM_ACTOR, 'vault.auto_tidy_started', m.path, {
                intervalDuration: c.interval_duration,
                safetyBuffer: c.safety_buffer,
                tidyCertStore: c.tidy_cert_store,
                tidyRevokedCerts: c.tidy_revoked_certs,
              }),
            ],
          });
        const run = deps.pki.startTidy(m, c, SYSTEM_ACTOR, { automatic: true, beforeRun: started });
        if (!run) continue;
        logger.info({ mount: m.path, targets }, 'vault auto-tidy started');
        done.push({ mount: m.path, status: { ...(await run.done) } });
      }
      return done;
    },
  };
}

export type VaultAutoTidy = ReturnType<typeof createVaultAutoTidy>;
