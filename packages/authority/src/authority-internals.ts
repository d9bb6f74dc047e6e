import type { KeyBackends } from '@pkim/keys';
import type { Store } from '@pkim/store';
import type { Authority } from './types';

const internals = new WeakMap<Authority, { store: Store; keys: KeyBackends }>();

export function registerInternals(authority: Authority, parts: { store: Store; keys: KeyBackends }): void {
  internals.set(authority, parts);
}

/**
 * FOR TESTS ONLY (`@pkim/authority/internals`): the store and key backends behind an authority, so a
 * test can check that a refusal changed nothing. Application code never imports this subpath;
 * tests/architecture.test.ts fails if apps/* or packages/* source does.
 */
export function internalsOf(authority: Authority): { store: Store; keys: KeyBackends } {
  const parts = internals.get(authority);
  if (!parts) throw new Error('not an authority made by createAuthority');
  return parts;
}
