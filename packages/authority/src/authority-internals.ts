import type { KeyBackends } from '@pkim/keys';
import type { Store } from '@pkim/store';
import type { Authority } from './types';

/** what a test reads of an authority's memory: entries held, to assert a bound (never a memory figure) */
export interface HeldEntries {
  /** API tokens whose last `lastUsedAt` write this process remembers (auth-service.ts: the recent ones only) */
  tokenTouches(): number;
  /** SSH fleet tokens whose rate window this process holds (ssh-service.ts: those used within the last minute) */
  fleetWindows(): number;
}

interface Internals {
  store: Store;
  keys: KeyBackends;
  held: HeldEntries;
}

const internals = new WeakMap<Authority, Internals>();

export function registerInternals(authority: Authority, parts: Internals): void {
  internals.set(authority, parts);
}

/**
 * FOR TESTS ONLY (`@pkim/authority/internals`): the store and key backends behind an authority, so a
 * test can check that a refusal changed nothing, and the entries its in-memory maps hold (`held`). Application
 * code never imports this subpath; tests/architecture.test.ts fails if apps/* or packages/* source does.
 */
export function internalsOf(authority: Authority): Internals {
  const parts = internals.get(authority);
  if (!parts) throw new Error('not an authority made by createAuthority');
  return parts;
}
