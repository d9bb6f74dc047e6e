import { BUILT_IN_PROFILES, parseProfile, type Profile } from '@pkim/core';
import type { Store } from '@pkim/store';
import { PkiError, impossibleKeyUsageIssues, type Clock } from '@pkim/shared';
import { auditEvent } from './audit-service';
import { authorize } from './permissions';
import { profileInputToSchema } from './profile-loader';
import type { Actor } from './types';
import { SETTINGS_PREFIX as ACME_DIRECTORY_KEY } from './acme/acme-config';

/** settings key of a profile made through the API: `profile.<name>`, its value the profile as JSON (lifetimes in ms) */
export const PROFILE_KEY = 'profile.';
/**
 * how long the issuance path keeps the API profiles it read, ms of clock time, before it looks whether another
 * connection committed (Store.otherCommits moved: on PostgreSQL another instance's profile write is announced like a
 * CA row's) and, if one did, reads them again: at most one settings read per this time, none while nothing else
 * commits — and none per certificate. A name not known here is read again at once (a profile just made elsewhere).
 */
export const PROFILE_RECHECK_MS = 1000;

export type ProfileSource = 'built-in' | 'file' | 'api';
export interface ProfileEntry {
  profile: Profile;
  source: ProfileSource;
}

/** what the signing services ask before they resolve a profile name (their `customProfiles` is kept current) */
export interface ProfileView {
  /** undefined when the profiles kept are current enough for `name`; else a promise settled once they were read */
  fresh(name?: string): Promise<void> | undefined;
}

/** Custom certificate profiles made, changed and deleted through the API (one door for REST, tRPC, CLI, console). */
export interface ProfileCatalog {
  /** every profile in effect with its source (built-ins, the profiles file's, the API's), read from the store now */
  list(actor: Actor): Promise<ProfileEntry[]>;
  get(name: string, actor: Actor): Promise<ProfileEntry>;
  /** `input`: the profile's fields as in the profiles file (lifetimes as `90d` or in ms) */
  create(input: unknown, actor: Actor): Promise<ProfileEntry>;
  update(name: string, input: unknown, actor: Actor): Promise<ProfileEntry>;
  delete(name: string, actor: Actor): Promise<void>;
}

const isBuiltIn = (name: string) => Object.prototype.hasOwnProperty.call(BUILT_IN_PROFILES, name);

function deepFreeze<T>(v: T): T {
  if (v === null || typeof v !== 'object' || Object.isFrozen(v)) return v;
  for (const x of Object.values(v)) deepFreeze(x);
  return Object.freeze(v);
}

/**
 * The profiles of the store (settings `profile.*`) beside the file's: `custom` is the array every signing service
 * resolves names in (resolveProfile), changed in place when the store's are read again — the issuance path reads no
 * setting per certificate (ProfileView.fresh, PROFILE_RECHECK_MS).
 */
export function createProfileCatalog(deps: {
  store: Store;
  clock: Clock;
  fileProfiles: readonly Profile[];
  /**
   * Store.otherCommits as the current request saw it (create-authority.ts: the value its CA check took, no second
   * `PRAGMA data_version` per request); default: a read of the store
   */
  otherCommits?: () => number | undefined;
}): {
  catalog: ProfileCatalog;
  view: ProfileView;
  custom: Profile[];
  entries(): ProfileEntry[];
} {
  const { store, clock } = deps;
  const otherCommits = deps.otherCommits ?? (() => store.otherCommits);
  const fileNames = new Set(deps.fileProfiles.map((p) => p.name));
  const custom: Profile[] = [...deps.fileProfiles];
  let api: Profile[] = [];
  let seen: { at: number; others: number | undefined; commits: number } | undefined;
  let commits = 0;
  let reading: Promise<void> | undefined;

  async function read(): Promise<void> {
    const started = { at: clock.now(), others: otherCommits(), commits };
    const rows = await store.settings.listByPrefix(PROFILE_KEY);
    const next: Profile[] = [];
    for (const r of rows) {
      try {
        const p = JSON.parse(r.value) as Profile;
        // the file's profiles and the built-ins win a clash (refused at creation; a file changed later may clash)
        if (p.name === r.key.slice(PROFILE_KEY.length) && !fileNames.has(p.name) && !isBuiltIn(p.name)) {
          next.push(deepFreeze(p));
        }
      } catch {
        /* a row that is no JSON is left out (written by nothing of ours) */
      }
    }
    api = next;
    custom.splice(0, custom.length, ...deps.fileProfiles, ...api);
    // a write of this process while reading: the next request reads again
    seen = started.commits === commits ? started : undefined;
  }

  function readOnce(): Promise<void> {
    reading ??= read().finally(() => (reading = undefined));
    return reading;
  }

  const known = (name: string) => isBuiltIn(name) || custom.some((p) => p.name === name);

  const view: ProfileView = {
    fresh(name) {
      if (seen && (name === undefined || known(name))) {
        const now = clock.now();
        if (now >= seen.at && now - seen.at < PROFILE_RECHECK_MS) return undefined;
        const others = otherCommits();
        if (others !== undefined && others === seen.others) {
          seen = { ...seen, at: now };
          return undefined;
        }
      }
      return readOnce();
    },
  };

  function entries(): ProfileEntry[] {
    const out: ProfileEntry[] = [];
    for (const p of Object.values(BUILT_IN_PROFILES)) {
      if (!fileNames.has(p.name)) out.push({ profile: p, source: 'built-in' });
    }
    for (const p of deps.fileProfiles) out.push({ profile: p, source: 'file' });
    for (const p of api) out.push({ profile: p, source: 'api' });
    return out;
  }

  async function current(): Promise<ProfileEntry[]> {
    await read();
    return entries();
  }

  async function find(name: string): Promise<ProfileEntry> {
    const hit = (await current()).find((e) => e.profile.name === name);
    if (!hit) {
      throw new PkiError('profile.not_found', `no such certificate profile '${name}'`, {
        details: { name, available: entries().map((e) => e.profile.name) },
      });
    }
    return hit;
  }

  async function parse(input: unknown, name?: string): Promise<Profile> {
    if (input === null || typeof input !== 'object' || Array.isArray(input)) {
      throw new PkiError('profile.invalid', 'a profile is a JSON object of its fields (docs/profiles.md)');
    }
    const fields = { ...(input as Record<string, unknown>) };
    if (name !== undefined) {
      if (fields.name !== undefined && fields.name !== name) {
        throw new PkiError('profile.invalid', `the profile's name ${JSON.stringify(fields.name)} is not '${name}'`);
      }
      fields.name = name;
    }
    try {
      return refuseImpossibleKeyUsage(await parseProfile(profileInputToSchema(fields)));
    } catch (e) {
      // each problem as the transports give a refused input's: { path: 'a.b', message } (the console's fields)
      const issues = e instanceof PkiError ? e.details.issues : undefined;
      if (!Array.isArray(issues)) throw e;
      const flat = (issues as { path?: PropertyKey[]; message: string }[]).map((i) => ({
        path: (i.path ?? []).map(String).join('.'),
        message: i.message,
      }));
      throw new PkiError('profile.invalid', (e as PkiError).message, { details: { issues: flat } });
    }
  }

  function readOnly(e: ProfileEntry, what: string): PkiError {
    const why = e.source === 'built-in' ? 'a built-in profile' : 'a profile of the profiles file (change the file)';
    return new PkiError('profile.read_only', `profile '${e.profile.name}' is ${why}: it cannot be ${what}`, {
      details: { name: e.profile.name, source: e.source },
    });
  }

  /**
   * commits a profile's write, guarded in the store (insertSettings/updateSettings/removeSettings): when another
   * request or instance made the same name first, or changed/deleted the profile since it was read, the unit fails
   * whole — nothing written, nothing audited — and the caller gets `profile.exists` or `profile.not_found`
   */
  async function write(name: string, unit: Parameters<Store['commit']>[0]): Promise<void> {
    try {
      await store.commit(unit);
    } catch (e) {
      if (e instanceof PkiError && e.code === 'store.setting_exists') {
        throw new PkiError('profile.exists', `a profile '${name}' was made by another request first`, {
          details: { name, source: 'api' },
        });
      }
      if (e instanceof PkiError && e.code === 'store.setting_not_found') {
        throw new PkiError('profile.not_found', `no such certificate profile '${name}' (deleted by another request)`, {
          details: { name },
        });
      }
      throw e;
    } finally {
      commits++;
      seen = undefined;
    }
  }

  /** who uses the profile: an ACME directory, an API token's or user's limits, a pending request (first found) */
  async function userOf(name: string): Promise<string | undefined> {
    for (const r of await store.settings.listByPrefix(ACME_DIRECTORY_KEY)) {
      try {
        if ((JSON.parse(r.value) as { profile?: unknown }).profile === name) {
          return `the ACME directory of CA ${r.key.slice(ACME_DIRECTORY_KEY.length)}`;
        }
      } catch {
        /* not a directory document */
      }
    }
    for (const t of await store.tokens.list()) {
      if (!t.revokedAt && t.resources?.profiles?.includes(name)) return `API token ${t.name} (${t.id})`;
    }
    for (const u of await store.users.list()) {
      if (u.resources?.profiles?.includes(name)) return `user ${u.username} (${u.id})`;
    }
    let cursor: string | null = null;
    do {
      const page = await store.requests.list({ status: 'pending', limit: 500, cursor });
      const r = page.items.find((x) => x.profile === name);
      if (r) return `pending request ${r.id}`;
      cursor = page.nextCursor;
    } while (cursor);
    return undefined;
  }

  const catalog: ProfileCatalog = {
    async list(actor) {
      authorize(actor, 'ca:read');
      return current();
    },
    async get(name, actor) {
      authorize(actor, 'ca:read');
      return find(name);
    },
    async create(input, actor) {
      authorize(actor, 'ca:write');
      const profile = await parse(input);
      const clash = (await current()).find((e) => e.profile.name === profile.name);
      if (clash) {
        throw new PkiError('profile.exists', `a ${clash.source} profile '${profile.name}' exists already`, {
          details: { name: profile.name, source: clash.source },
        });
      }
      await write(profile.name, {
        insertSettings: { [PROFILE_KEY + profile.name]: JSON.stringify(profile) },
        audit: [auditEvent(clock, actor, 'profile.created', profile.name, { profile })],
      });
      await read();
      return { profile, source: 'api' };
    },
    async update(name, input, actor) {
      authorize(actor, 'ca:write');
      const e = await find(name);
      if (e.source !== 'api') throw readOnly(e, 'changed');
      const profile = await parse(input, name);
      await write(name, {
        updateSettings: { [PROFILE_KEY + name]: JSON.stringify(profile) },
        audit: [auditEvent(clock, actor, 'profile.updated', name, { profile, before: e.profile })],
      });
      await read();
      return { profile, source: 'api' };
    },
    async delete(name, actor) {
      authorize(actor, 'ca:write');
      const e = await find(name);
      if (e.source !== 'api') throw readOnly(e, 'deleted');
      const user = await userOf(name);
      if (user) {
        throw new PkiError('profile.in_use', `profile '${name}' is used by ${user}: not deleted`, {
          details: { name, usedBy: user },
        });
      }
      await write(name, {
        removeSettings: [PROFILE_KEY + name],
        audit: [auditEvent(clock, actor, 'profile.deleted', name, { profile: e.profile })],
      });
      await read();
    },
  };
  return { catalog, view, custom, entries };
}

/**
 * a profile written through the API with {@link impossibleKeyUsageIssues} is refused when written, each clash an issue
 * on its field (the console shows them under Key usage). The profiles file's and those stored before are not
 * refused — they worked for their other key types — but named in a warning at start-up (warnImpossibleProfiles).
 */
function refuseImpossibleKeyUsage(profile: Profile): Profile {
  const issues = impossibleKeyUsageIssues(profile);
  if (issues.length === 0) return profile;
  throw new PkiError(
    'profile.invalid',
    `invalid profile: ${issues.map((i) => `${i.path[0]}: ${i.message}`).join('; ')}`,
    {
      details: { issues },
    },
  );
}

/**
 * At start-up: one warning per profile of the profiles file or of the store (written before session 36 refused them)
 * whose key usage a key type it allows cannot carry — every issuance for that key type fails lint — naming the
 * profile, where it comes from and each clash. The profile stays in effect for its other key types.
 */
export function warnImpossibleProfiles(
  entries: readonly ProfileEntry[],
  warn: (fields: Record<string, unknown>, message: string) => void,
): void {
  for (const e of entries) {
    if (e.source === 'built-in') continue;
    const issues = impossibleKeyUsageIssues(e.profile);
    if (issues.length === 0) continue;
    const where = e.source === 'file' ? 'of the profiles file' : 'stored through the API';
    const fix = e.source === 'file' ? 'change the file' : `pkim profile update ${e.profile.name}`;
    warn(
      { profile: e.profile.name, source: e.source, issues },
      `profile '${e.profile.name}' ${where} cannot issue for some key types it allows — ` +
        `${issues.map((i) => `${i.path[0]}: ${i.message}`).join('; ')}: every such issuance fails ` +
        `lint.key_usage_key_type_mismatch (${fix}: drop the usage or the key types)`,
    );
  }
}
