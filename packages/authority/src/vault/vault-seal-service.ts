import { performance } from 'node:perf_hooks';
import type { Logger } from 'pino';
import type { Clock } from '@pkim/shared';
import type { Store } from '@pkim/store';
import { authorize } from '../permissions';
import type { Actor } from '../types';
import { auditEvent } from '../audit-service';

const SEAL_KEY = 'vault.sealed';
/** how long one seal check serves every request of this process (a seal by another process shows within it) */
const CHECK_REUSE_MS = 1_000;

export interface VaultSealState {
  sealed: boolean;
  /** operator: `sys/seal` by an administrator; unavailable: the database or a key backend is down */
  reason?: 'operator' | 'unavailable';
  /** operator seal: when and by whom (RFC 3339, actor name) */
  since?: string;
  by?: string;
}

export interface VaultSealServiceDeps {
  store: Store;
  clock: Clock;
  logger: Logger;
  /** the authority's readiness: database + key backends */
  health(): Promise<{ ok: boolean }>;
}

/**
 * The Vault API's seal (OpenBao answers every path but sys/health and sys/seal-status 503 "Vault is sealed" while
 * sealed). PKI Manager has no unseal keys: the API is sealed while an administrator has sealed it (`sys/seal`, kept in
 * the settings table so every instance on one database sees it) or while the database or a key backend is
 * unavailable. One check serves a process for a second.
 */
export function createVaultSealService(deps: VaultSealServiceDeps) {
  const { store, clock, logger } = deps;
  let cached: { at: number; state: Promise<VaultSealState> } | undefined;

  async function check(): Promise<VaultSealState> {
    try {
      const raw = await store.settings.get(SEAL_KEY);
      if (raw) {
        const s = JSON.parse(raw) as { at: number; by: string };
        return { sealed: true, reason: 'operator', since: new Date(s.at).toISOString(), by: s.by };
      }
      if ((await deps.health()).ok) return { sealed: false };
    } catch (e) {
      logger.warn({ err: (e as Error).message }, 'vault seal check failed');
    }
    return { sealed: true, reason: 'unavailable' };
  }

  function state(): Promise<VaultSealState> {
    const now = performance.now();
    if (!cached || now - cached.at >= CHECK_REUSE_MS) cached = { at: now, state: check() };
    return cached.state;
  }

  return {
    state,

    /** sys/seal: seals the Vault API of every instance on this database (administrators: `ca:write`) */
    async seal(actor: Actor): Promise<void> {
      authorize(actor, 'ca:write');
      await store.commit({
        setSettings: { [SEAL_KEY]: JSON.stringify({ at: clock.now(), by: actor.name }) },
        audit: [auditEvent(clock, actor, 'vault.sealed', 'sys/seal', {})],
      });
      cached = undefined;
    },

    /** sys/unseal: lifts an administrator's seal (an unavailable database or key backend keeps it sealed) */
    async unseal(actor: Actor): Promise<VaultSealState> {
      authorize(actor, 'ca:write');
      if (await store.settings.get(SEAL_KEY)) {
        await store.commit({
          deleteSettings: [SEAL_KEY],
          audit: [auditEvent(clock, actor, 'vault.unsealed', 'sys/unseal', {})],
        });
      }
      cached = undefined;
      return state();
    },
  };
}

export type VaultSealService = ReturnType<typeof createVaultSealService>;
