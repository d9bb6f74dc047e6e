import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { PkiError, parseDuration } from '@pkim/shared';
import { BUILT_IN_PROFILES, parseProfile, type Profile } from '@pkim/core';

/**
 * Custom certificate profiles, defined as data: a JSON array in `PKIM_PROFILES_FILE` or
 * `<data dir>/profiles.json`. Each entry is validated like a built-in (zod); lifetimes may be
 * given as durations (`"defaultLifetime": "30d"`) or in ms (`defaultLifetimeMs`). A custom
 * profile with the name of a built-in replaces it. A broken file stops start-up with
 * `profile.invalid` naming the file and the entry.
 */
export async function loadCustomProfiles(
  dataDir: string,
  env: Record<string, string | undefined>,
): Promise<{ path: string | null; profiles: Profile[] }> {
  const path = env.PKIM_PROFILES_FILE || join(dataDir, 'profiles.json');
  if (!existsSync(path)) {
    if (env.PKIM_PROFILES_FILE) throw new PkiError('profile.invalid', `PKIM_PROFILES_FILE ${path} does not exist`);
    return { path: null, profiles: [] };
  }
  let data: unknown;
  try {
    data = JSON.parse(readFileSync(path, 'utf8'));
  } catch (e) {
    throw new PkiError('profile.invalid', `cannot read custom profiles from ${path}: ${(e as Error).message}`);
  }
  if (!Array.isArray(data)) throw new PkiError('profile.invalid', `${path} must hold a JSON array of profiles`);
  const profiles: Profile[] = [];
  for (const [i, entry] of data.entries()) {
    try {
      profiles.push(await parseProfile(profileInputToSchema({ ...(entry as Record<string, unknown>) })));
    } catch (err) {
      const name = (entry as { name?: unknown } | null)?.name;
      const label = typeof name === 'string' && name ? ` (${name})` : '';
      throw new PkiError('profile.invalid', `${path}, profile #${i + 1}${label}: ${(err as Error).message}`);
    }
  }
  const names = new Set<string>();
  for (const p of profiles) {
    if (names.has(p.name)) throw new PkiError('profile.invalid', `${path}: profile '${p.name}' is defined twice`);
    names.add(p.name);
  }
  return { path, profiles };
}

/**
 * A profile as a user writes it (the file's entries, the API's input) → the schema's fields: `defaultLifetime` and
 * `maxLifetime` given as durations (`90d`, `1y`) become `defaultLifetimeMs` / `maxLifetimeMs`. A duration that is
 * no duration is `profile.invalid` naming the field.
 */
export function profileInputToSchema(fields: Record<string, unknown>): Record<string, unknown> {
  const e = { ...fields };
  for (const k of ['defaultLifetime', 'maxLifetime'] as const) {
    if (e[k] === undefined) continue;
    try {
      e[`${k}Ms`] = parseDuration(e[k] as string);
    } catch (err) {
      throw new PkiError('profile.invalid', `invalid profile: ${k}: ${(err as Error).message}`, {
        details: { issues: [{ path: [k], message: (err as Error).message }] },
      });
    }
    // eslint-disable-next-line @typescript-eslint/no-dynamic-delete -- k is one of two literal names
    delete e[k];
  }
  return e;
}

/** Built-in profiles with the custom ones applied (custom replace built-ins of the same name). */
export function effectiveProfiles(custom: Profile[]): Profile[] {
  const byName = new Map<string, Profile>(Object.values(BUILT_IN_PROFILES).map((p) => [p.name, p]));
  for (const p of custom) byName.set(p.name, p);
  return [...byName.values()];
}
