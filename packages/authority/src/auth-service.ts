import { hash as digest, randomBytes, timingSafeEqual } from 'node:crypto';
import type { Logger } from 'pino';
import { PkiError, checkDurationMs, checkTimestampMs, newId, parseDuration, type Clock } from '@pkim/shared';
import type {
  ApiTokenRow,
  CommitResult,
  LoginFailureRow,
  NewAuditEvent,
  SessionRow,
  Store,
  UnitOfWork,
  UserRole,
  UserRow,
} from '@pkim/store';
import {
  hashPassword,
  verifyPassword,
  generatePassword,
  DEFAULT_SCRYPT_PARAMS,
  type ScryptParams,
} from './password-hashing';
import { assertCanGrant, authorize, hasPermission, isValidScope, scopesNotGrantedBy, USER_ROLES } from './permissions';
import type { ResourceLimits } from './signing/provisioner';
import { validateResourceLimits } from './signing/provisioner-registry';
import type { Actor, AuditService, AuthService } from './types';
import { readOncePerTurn, type OtherCommitsSeen } from './other-commits-seen';

export interface AuthServiceDeps {
  store: Store;
  clock: Clock;
  logger: Logger;
  audit: AuditService;
  /** what a token check read of Store.otherCommits, handed to the request's CA check (other-commits-seen.ts) */
  seen?: OtherCommitsSeen;
}

export interface AuthServiceOptions {
  /** login throttling per (user name, client address) and per client address (defaults below) */
  loginThrottle?: LoginThrottleOptions;
  /** session lifetime (default 12 h) */
  sessionTtlMs?: number;
  /** lifetime of a new API token created without one (default 90 days, PKIM_TOKEN_TTL); null = never expires */
  defaultTokenTtlMs?: number | null;
  /** minimum time between `lastUsedAt` writes for one token (default 60 s) */
  tokenTouchIntervalMs?: number;
  /** scrypt cost (tests may lower it) */
  scrypt?: ScryptParams;
  /** the password check (default: scrypt verification; tests wrap it to see that it runs for unknown users too) */
  passwordVerifier?: (password: string, storedHash: string) => Promise<boolean>;
}

/**
 * Login throttling (docs/security.md): failed logins are counted per (user name, client address) and per
 * client address in the database, so every instance on it sees the same counts. Once a counter reaches its
 * free failures, each further failure blocks that counter for a delay that doubles (base, 2×base, 4×base …,
 * at most `maxDelayMs`); a blocked login is answered 429 `auth.throttled` with Retry-After, without
 * looking at the password. Nobody can lock a user out from another address; unknown and known user names
 * are counted and answered alike.
 */
export interface LoginThrottleOptions {
  /** failed logins per (user name, client address) before the backoff starts (default 5) */
  freeFailures?: number;
  /** failed logins per client address, over all user names, before the backoff starts (default 20) */
  addressFreeFailures?: number;
  /** the first backoff delay; each further failure doubles it (default 1 s) */
  baseDelayMs?: number;
  /** the longest backoff delay (default 15 min) */
  maxDelayMs?: number;
  /** a counter whose last failure is older than this starts again from zero (default 24 h) */
  forgetAfterMs?: number;
}

export const LOGIN_THROTTLE_DEFAULTS: Required<LoginThrottleOptions> = {
  freeFailures: 5,
  addressFreeFailures: 20,
  baseDelayMs: 1_000,
  maxDelayMs: 15 * 60_000,
  forgetAfterMs: 24 * 3_600_000,
};

/** The backoff after `failures` failed logins on a counter that allows `free` of them (0: not blocked). */
export function loginBackoffMs(failures: number, free: number, o: Required<LoginThrottleOptions>): number {
  if (failures < free) return 0;
  return Math.min(o.maxDelayMs, o.baseDelayMs * 2 ** Math.min(failures - free, 40));
}

/** settings key that marks the first-boot admin as created (never recreated afterwards) */
export const BOOTSTRAP_SETTING = 'auth.bootstrap_admin_created';
export const BOOTSTRAP_USERNAME = 'admin';
export const TOKEN_PREFIX = 'pkim_';
export const MIN_PASSWORD_LENGTH = 12;
const USERNAME_RE = /^[a-z0-9][a-z0-9._@-]{1,63}$/i;

/**
 * One-shot `crypto.hash`: ≈ 0.25 µs for a token against ≈ 0.9 µs for createHash → update → digest (every
 * authenticated request hashes its token or session cookie).
 */
export function sha256Hex(value: string): string {
  return digest('sha256', value, 'hex');
}

function randomSecret(bytes = 32): string {
  return randomBytes(bytes).toString('base64url');
}

function deepFreeze(value: unknown): void {
  if (value === null || typeof value !== 'object' || Object.isFrozen(value)) return;
  Object.freeze(value);
  for (const v of Object.values(value)) deepFreeze(v);
}

function constantTimeEqual(a: string, b: string): boolean {
  const ab = Buffer.from(a);
  const bb = Buffer.from(b);
  return ab.length === bb.length && timingSafeEqual(ab, bb);
}

/**
 * How long (clock time) an API token's row read by an authority, with its owner's `disabled` flag, answers that
 * token's requests again without a read: a token revoked, or its owner disabled, by ANOTHER process on the database
 * is refused at the next request on SQLite, where any other connection's commit (`pkim token revoke` beside the
 * server, Store.otherCommits) makes every remembered row stale, and on PostgreSQL (a second instance) once its commit
 * is announced (its NOTIFY moves Store.otherCommits; within this time while no connection listens);
 * by the authority itself at once on both (its own token and user writes make every remembered row stale); expiry is
 * checked against the clock on every request.
 */
export const TOKEN_ROW_MS = 1000;
/** remembered token rows at most (past it the memory is emptied: unknown tokens are never remembered) */
const MAX_TOKEN_ROWS = 10_000;

/** Users, passwords, sessions and API tokens. Every change and every login attempt is audited. */
/** lifetime of API tokens created without one */
export const DEFAULT_TOKEN_TTL_MS = 90 * 86_400_000;

/** PKIM_TOKEN_TTL (`90d`, `12h`, `never`) → ms or null; unset → the 90-day default. */
export function resolveTokenTtl(env: Record<string, string | undefined>): number | null {
  const v = env.PKIM_TOKEN_TTL?.trim();
  if (!v) return DEFAULT_TOKEN_TTL_MS;
  if (v === 'never') return null;
  try {
    return checkDurationMs(parseDuration(v), 'PKIM_TOKEN_TTL');
  } catch {
    throw new PkiError('input.invalid', `PKIM_TOKEN_TTL: expected a duration such as 90d or 'never', got '${v}'`);
  }
}

export function createAuthService(
  deps: AuthServiceDeps,
  options: AuthServiceOptions = {},
): AuthService & { tokenTouchesHeld(): number } {
  const { store, clock, logger, audit } = deps;
  const throttle = checkThrottleOptions({ ...LOGIN_THROTTLE_DEFAULTS, ...options.loginThrottle });
  logger.debug({ loginThrottle: throttle }, 'login throttle');
  const sessionTtlMs = options.sessionTtlMs ?? 12 * 3_600_000;
  const touchInterval = options.tokenTouchIntervalMs ?? 60_000;
  const defaultTokenTtlMs = options.defaultTokenTtlMs === undefined ? DEFAULT_TOKEN_TTL_MS : options.defaultTokenTtlMs;
  const scryptParams = options.scrypt ?? DEFAULT_SCRYPT_PARAMS;
  const checkPasswordHash = options.passwordVerifier ?? verifyPassword;
  /**
   * token id → when this process last wrote its `lastUsedAt`, for the tokens used within the last touch interval or
   * two: an older entry decides nothing (the touch check is the same without it) and is swept once per interval.
   * Kept for every token ever used, it grew by one entry per token: a Vault AppRole or Kubernetes login mints a token
   * per login (cert-manager logs in per certificate), so a long-running server held one per certificate issued so.
   */
  const lastTouch = new Map<string, number>();
  let touchesSweptAt = 0;
  const sweepTouches = (now: number) => {
    if (now - touchesSweptAt < touchInterval) return;
    touchesSweptAt = now;
    for (const [id, at] of lastTouch) if (now - at >= touchInterval) lastTouch.delete(id);
  };
  let lastPrune = 0;
  /** token rows by token hash (TOKEN_ROW_MS), with credentialWrites and Store.otherCommits as before their read */
  const tokenRows = new Map<
    string,
    { row: ApiTokenRow; ownerDisabled: boolean; at: number; writes: number; others: number | undefined }
  >();
  /**
   * moved before and after every commit of this service that writes API tokens or users: a remembered token row read
   * before a revocation or a disabled owner settled is not used again (the commit's other units need no such care)
   */
  let credentialWrites = 0;
  const commit = async (unit: UnitOfWork): Promise<CommitResult> => {
    const credentials = !!(unit.updateTokens?.length || unit.updateUsers?.length);
    if (credentials) credentialWrites++;
    try {
      return await store.commit(unit);
    } finally {
      if (credentials) credentialWrites++;
    }
  };
  /**
   * Store.otherCommits for the token checks asked in one loop turn, read once after all of them asked (on SQLite one
   * `PRAGMA data_version` for the requests a poll phase received, not one per request): each check's value was read
   * after its request arrived, so another connection's commit before the request is seen (other-commits-seen.ts)
   */
  const othersForChecks = readOncePerTurn(() => store.otherCommits);
  /** the token's row (remembered for TOKEN_ROW_MS) and whether its owner is missing or disabled */
  const tokenRow = async (hash: string, now: number) => {
    // one read of the store's signal per request (a remembered row or not), shared by the turn's requests
    const others = await othersForChecks();
    const hit = tokenRows.get(hash);
    if (hit?.writes === credentialWrites && hit.others === others && now >= hit.at && now - hit.at < TOKEN_ROW_MS)
      return hit;
    // both before the read: a credential write settling, or another connection committing, meanwhile makes it stale
    const writes = credentialWrites;
    const row = await store.tokens.findByHash(hash);
    if (!row || !constantTimeEqual(row.tokenHash, hash)) {
      tokenRows.delete(hash);
      return undefined;
    }
    let ownerDisabled = false;
    if (row.userId) {
      const owner = await store.users.findById(row.userId);
      ownerDisabled = !owner || owner.disabled;
    }
    if (tokenRows.size >= MAX_TOKEN_ROWS) tokenRows.clear();
    // the actor of every later request shares the row's scopes and resources: frozen, so no caller can change them
    deepFreeze(row.scopes);
    deepFreeze(row.resources);
    const entry = { row, ownerDisabled, at: now, writes, others };
    tokenRows.set(hash, entry);
    return entry;
  };
  // a real hash so unknown users cost the same time as known ones; made by the first login, not with every
  // authority (a CLI command that signs nobody in pays no scrypt run, docs/benchmarks.md)
  let dummy: Promise<string> | undefined;
  const dummyHash = (): Promise<string> => (dummy ??= hashPassword(randomSecret(), scryptParams));

  const event = (
    actor: Actor | string,
    action: string,
    target: string | null,
    details: Record<string, unknown> = {},
    outcome: 'success' | 'failure' = 'success',
  ): NewAuditEvent => ({
    id: newId('evt'),
    time: clock.now(),
    actor: typeof actor === 'string' ? actor : actor.id,
    action,
    target,
    outcome,
    details,
  });

  const requireUser = async (userId: string): Promise<UserRow> => {
    const user = await store.users.findById(userId);
    if (!user) throw new PkiError('user.not_found', `no user '${userId}'`);
    return user;
  };

  const checkPassword = (password: string): void => {
    if (typeof password !== 'string' || password.length < MIN_PASSWORD_LENGTH || password.length > 1024) {
      throw new PkiError('user.weak_password', `passwords need at least ${MIN_PASSWORD_LENGTH} characters`);
    }
  };

  const checkRole = (role: string): void => {
    if (!(USER_ROLES as readonly string[]).includes(role))
      throw new PkiError('input.invalid', `unknown role '${role}'`);
  };

  /** refuses to remove the last active admin */
  const ensureAnotherAdmin = async (userId: string): Promise<void> => {
    const others = (await store.users.list()).filter((u) => u.role === 'admin' && !u.disabled && u.id !== userId);
    if (others.length === 0)
      throw new PkiError('user.last_admin', 'the last active admin cannot be demoted or disabled');
  };

  /** the login-throttle counters of one attempt: (user name, address) and the address alone */
  const throttleIds = (username: string, ip: string) => ({
    pair: `u_${sha256Hex(`${username.toLowerCase()}\n${ip}`)}`,
    address: `a_${sha256Hex(ip)}`,
  });

  /** failures each counter will have after one more failure (a forgotten counter starts again) */
  const failuresAfterThis = (row: LoginFailureRow | undefined, now: number) =>
    row && row.lastFailureAt >= now - throttle.forgetAfterMs ? row.failures + 1 : 1;

  const blockedUntil = (row: LoginFailureRow | undefined, free: number, now: number): number =>
    row && row.lastFailureAt >= now - throttle.forgetAfterMs
      ? row.lastFailureAt + loginBackoffMs(row.failures, free, throttle)
      : 0;

  /** old counters are deleted now and then (a counter is forgotten after `forgetAfterMs` anyway) */
  const pruneCounters = (now: number) => {
    if (now - lastPrune < 10 * 60_000) return;
    lastPrune = now;
    store.loginFailures
      .deleteStale(now - throttle.forgetAfterMs)
      .catch((e: unknown) => logger.warn({ err: e }, 'could not prune login-failure counters'));
  };

  const insertUser = async (
    input: {
      username: string;
      password: string;
      role: UserRole;
      mustChangePassword: boolean;
      resources?: ResourceLimits | null;
    },
    actor: Actor | string,
    extra: Partial<UnitOfWork> = {},
    details: Record<string, unknown> = {},
  ) => {
    const now = clock.now();
    const row: UserRow = {
      id: newId('usr'),
      username: input.username,
      passwordHash: await hashPassword(input.password, scryptParams),
      role: input.role,
      disabled: false,
      failedLogins: 0,
      lockedUntil: null,
      mustChangePassword: input.mustChangePassword,
      resources: input.resources ?? null,
      createdAt: now,
      updatedAt: now,
    };
    await commit({
      ...extra,
      insertUsers: [row],
      audit: [
        event(actor, 'user.created', row.id, {
          username: row.username,
          role: row.role,
          ...(row.resources ? { resources: row.resources } : {}),
          ...details,
        }),
      ],
    });
    return row;
  };

  return {
    tokenTouchesHeld: () => lastTouch.size,
    async ensureBootstrapAdmin() {
      if (await store.settings.get(BOOTSTRAP_SETTING)) return { created: false };
      if ((await store.users.count()) > 0) {
        await commit({ setSettings: { [BOOTSTRAP_SETTING]: String(clock.now()) } });
        return { created: false };
      }
      const password = generatePassword();
      try {
        await insertUser(
          { username: BOOTSTRAP_USERNAME, password, role: 'admin', mustChangePassword: true },
          'system',
          { setSettings: { [BOOTSTRAP_SETTING]: String(clock.now()) } },
          { bootstrap: true },
        );
      } catch (e) {
        // another instance won the race (unique username): it printed the credential, not us
        if (await store.users.findByUsername(BOOTSTRAP_USERNAME)) return { created: false };
        throw e;
      }
      logger.info({ username: BOOTSTRAP_USERNAME }, 'bootstrap admin created');
      return { created: true, username: BOOTSTRAP_USERNAME, password };
    },

    async createUser(input, actor) {
      authorize(actor, 'user:manage');
      if (typeof input.username !== 'string' || !USERNAME_RE.test(input.username)) {
        throw new PkiError('input.invalid', 'user names are 2-64 characters: letters, digits, . _ @ -');
      }
      checkRole(input.role);
      assertCanGrant(actor, input.role, undefined, `create a user with role ${input.role}`);
      // a user created by a limited principal inherits its limits
      checkPassword(input.password);
      if (await store.users.findByUsername(input.username))
        throw new PkiError('user.name_taken', `user '${input.username}' already exists`);
      const row = await insertUser({ ...input, mustChangePassword: false, resources: actor.resources ?? null }, actor);
      return { id: row.id, username: row.username, role: row.role };
    },

    async listUsers() {
      const users = await store.users.list();
      const now = clock.now();
      // the login throttle's (user, address) counters: a user is locked while any of them blocks
      const counters = await store.loginFailures.findByUsernames(users.map((u) => u.username.toLowerCase()));
      const blocks = new Map<string, number[]>();
      for (const c of counters) {
        const until = blockedUntil(c, throttle.freeFailures, now);
        if (until > now && c.username) blocks.set(c.username, [...(blocks.get(c.username) ?? []), until]);
      }
      return users.map((u) => {
        const b = blocks.get(u.username.toLowerCase()) ?? [];
        return {
          id: u.id,
          username: u.username,
          role: u.role,
          disabled: u.disabled,
          lockedUntil: b.length ? Math.max(...b) : null,
          lockedAddresses: b.length,
          mustChangePassword: u.mustChangePassword,
          resources: u.resources ?? undefined,
          createdAt: u.createdAt,
        };
      });
    },

    async unlockUser(userId, actor) {
      authorize(actor, 'user:manage');
      const user = await requireUser(userId);
      assertCanGrant(actor, user.role, undefined, `unlock a ${user.role}`, user.resources ?? null);
      const name = user.username.toLowerCase();
      const cleared = (await store.loginFailures.findByUsernames([name])).length;
      await commit({
        clearLoginFailuresOfUsers: [name],
        audit: [event(actor, 'user.unlocked', user.id, { username: user.username, cleared })],
      });
      return { cleared };
    },

    async setUserRole(userId, role, actor) {
      authorize(actor, 'user:manage');
      checkRole(role);
      const user = await requireUser(userId);
      // the actor must hold everything of both roles: no promoting past itself, no demoting its betters
      assertCanGrant(actor, user.role, undefined, `change the role of a ${user.role}`, user.resources ?? null);
      assertCanGrant(actor, role, undefined, `give the role ${role}`);
      if (user.role === role) return;
      if (user.role === 'admin') await ensureAnotherAdmin(user.id);
      await commit({
        updateUsers: [{ id: user.id, patch: { role, updatedAt: clock.now() } }],
        audit: [event(actor, 'user.role_changed', user.id, { username: user.username, from: user.role, to: role })],
      });
    },

    async setUserResources(userId, resources, actor) {
      authorize(actor, 'user:manage');
      const user = await requireUser(userId);
      const clean = resources === null ? undefined : validateResourceLimits(resources);
      // only for users within the actor's own limits, and never wider than them
      assertCanGrant(actor, user.role, undefined, `change the limits of a ${user.role}`, user.resources ?? null);
      assertCanGrant(actor, user.role, undefined, `give a ${user.role} these limits`, clean ?? null);
      await commit({
        updateUsers: [{ id: user.id, patch: { resources: clean ?? null, updatedAt: clock.now() } }],
        audit: [event(actor, 'user.resources_changed', user.id, { username: user.username, resources: clean ?? null })],
      });
    },

    async setUserDisabled(userId, disabled, actor) {
      authorize(actor, 'user:manage');
      const user = await requireUser(userId);
      assertCanGrant(
        actor,
        user.role,
        undefined,
        `${disabled ? 'disable' : 'enable'} a ${user.role}`,
        user.resources ?? null,
      );
      if (user.disabled === disabled) return;
      if (disabled && user.role === 'admin') await ensureAnotherAdmin(user.id);
      await commit({
        updateUsers: [{ id: user.id, patch: { disabled, updatedAt: clock.now() } }],
        deleteSessionsOfUsers: disabled ? [user.id] : undefined,
        audit: [event(actor, disabled ? 'user.disabled' : 'user.enabled', user.id, { username: user.username })],
      });
    },

    async changePassword(userId, oldPassword, newPassword, actor) {
      const self = actor.id === userId;
      // a session that must change its password changes its own first, nobody else's
      if (actor.mustChangePassword && !self) throw passwordChangeRequired(actor);
      if (self) authorize(actor, 'account:self');
      else authorize(actor, 'user:manage');
      const user = await requireUser(userId);
      // resetting someone's password is taking over their account: only for accounts the actor could create
      if (!self)
        assertCanGrant(actor, user.role, undefined, `reset the password of a ${user.role}`, user.resources ?? null);
      // changing one's own password always needs the old one; an admin resetting another user's does not
      if (self || !hasPermission(actor, 'user:manage')) {
        if (!(await verifyPassword(oldPassword ?? '', user.passwordHash))) {
          await audit.record({
            actor,
            action: 'user.password_change_failed',
            target: user.id,
            outcome: 'failure',
            details: { reason: 'wrong_password' },
          });
          throw new PkiError('auth.invalid_credentials', 'the current password is wrong');
        }
      }
      checkPassword(newPassword);
      if (self && user.mustChangePassword && newPassword === oldPassword)
        throw new PkiError('user.weak_password', 'choose a new password: this one must be changed');
      await commit({
        updateUsers: [
          {
            id: user.id,
            patch: {
              passwordHash: await hashPassword(newPassword, scryptParams),
              failedLogins: 0,
              lockedUntil: null,
              mustChangePassword: !self,
              updatedAt: clock.now(),
            },
          },
        ],
        // a changed or reset password ends every session of that user (log in again with the new one)
        deleteSessionsOfUsers: [user.id],
        // ... and lifts its sign-in blocks (the address counters stay: they are about the address)
        clearLoginFailuresOfUsers: [user.username.toLowerCase()],
        audit: [
          event(actor, self ? 'user.password_changed' : 'user.password_reset', user.id, {
            username: user.username,
            // the change it had to make (the flag is cleared) / the change the reset asks for (the flag is set)
            ...(self && user.mustChangePassword ? { requiredChangeDone: true } : {}),
            ...(!self ? { mustChangePassword: true } : {}),
          }),
        ],
      });
    },

    async login(username, password, meta) {
      const ip = meta.ip ?? 'unknown';
      const name = typeof username === 'string' ? username.slice(0, 256) : '';
      const now = clock.now();
      const ids = throttleIds(name, ip);
      const rows = await store.loginFailures.find([ids.pair, ids.address]);
      const pairRow = rows.find((r) => r.id === ids.pair);
      const addressRow = rows.find((r) => r.id === ids.address);
      // a blocked counter answers before anything about the user is looked at: the same for every name
      const until = Math.max(
        blockedUntil(pairRow, throttle.freeFailures, now),
        blockedUntil(addressRow, throttle.addressFreeFailures, now),
      );
      if (until > now) {
        const retryAfterSeconds = Math.max(1, Math.ceil((until - now) / 1000));
        logger.info({ ip, retryAfterSeconds }, 'login refused: throttled');
        throw new PkiError('auth.throttled', `too many failed logins; try again in ${retryAfterSeconds} s`, {
          details: { retryAfterSeconds },
        });
      }
      const user = name && USERNAME_RE.test(name) ? await store.users.findByUsername(name) : undefined;
      // exactly one password hash check on every path: unknown users are checked against a dummy hash (awaited on
      // every path, so the first login pays for making it whether the user exists or not)
      const unknownUserHash = await dummyHash();
      const ok = await checkPasswordHash(String(password ?? ''), user ? user.passwordHash : unknownUserHash);
      if (!user || !ok || user.disabled) {
        const reason = !user ? 'unknown_user' : user.disabled ? 'disabled' : 'wrong_password';
        const pairFailures = failuresAfterThis(pairRow, now);
        const addressFailures = failuresAfterThis(addressRow, now);
        const events = [
          event(
            user?.id ?? `ip:${ip}`,
            'auth.login_failed',
            user?.id ?? null,
            { username: name.slice(0, 64), ip, reason, failures: pairFailures, addressFailures },
            'failure',
          ),
        ];
        // the failure that starts (or lengthens) a block is audited as `auth.throttled`
        for (const [scope, failures, free] of [
          ['user_address', pairFailures, throttle.freeFailures],
          ['address', addressFailures, throttle.addressFreeFailures],
        ] as const) {
          const delay = loginBackoffMs(failures, free, throttle);
          if (delay > 0) {
            events.push(
              event(
                'system',
                'auth.throttled',
                scope === 'user_address' ? (user?.id ?? null) : null,
                { scope, username: name.slice(0, 64), ip, failures, blockedUntil: now + delay },
                'failure',
              ),
            );
            logger.warn({ scope, ip, failures, delayMs: delay }, 'login throttled after failed logins');
          }
        }
        await commit({
          recordLoginFailures: {
            ids: [ids.pair, ids.address],
            at: now,
            restartBefore: now - throttle.forgetAfterMs,
            usernameById: { [ids.pair]: name.toLowerCase() },
          },
          audit: events,
        });
        pruneCounters(now);
        throw new PkiError('auth.invalid_credentials', 'wrong user name or password');
      }
      const s = newSession(user.id, now, sessionTtlMs, null);
      await commit({
        insertSessions: [s.row],
        // a successful login ends the backoff of (this user, this address); the address counter stays
        clearLoginFailures: [ids.pair],
        audit: [event(user.id, 'auth.login', user.id, { username: name, ip, sessionId: s.row.id })],
      });
      return {
        sessionToken: s.sessionToken,
        csrfToken: s.row.csrfToken,
        expiresAt: s.row.expiresAt,
        actor: passwordSessionActor(user),
      };
    },

    async logout(sessionToken) {
      if (typeof sessionToken !== 'string' || sessionToken.length === 0) return;
      const session = await store.sessions.findByHash(sha256Hex(sessionToken));
      if (!session) return;
      await commit({
        deleteSessions: [session.id],
        audit: [event(session.userId, 'auth.logout', session.userId, { sessionId: session.id })],
      });
    },

    async authenticateSession(sessionToken) {
      if (typeof sessionToken !== 'string' || sessionToken.length < 16 || sessionToken.length > 256) return undefined;
      const session = await store.sessions.findByHash(sha256Hex(sessionToken));
      if (!session) return undefined;
      if (session.expiresAt <= clock.now()) {
        await commit({ deleteSessions: [session.id] });
        return undefined;
      }
      const user = await store.users.findById(session.userId);
      if (!user || user.disabled) return undefined;
      // an OIDC session did not use the password: the provider vouches for the user
      return session.method === 'oidc'
        ? { actor: userActor(user), csrfToken: session.csrfToken, method: 'oidc' as const }
        : { actor: passwordSessionActor(user), csrfToken: session.csrfToken };
    },

    async createToken(input, actor) {
      authorize(actor, 'token:manage');
      checkRole(input.role);
      if (typeof input.name !== 'string' || input.name.trim().length === 0 || input.name.length > 128) {
        throw new PkiError('input.invalid', 'a token needs a name of 1-128 characters');
      }
      const scopes = [...new Set(input.scopes ?? [])];
      const bad = scopes.filter((s) => !isValidScope(s));
      if (bad.length)
        throw new PkiError('input.invalid', `unknown scope(s): ${bad.join(', ')}`, { details: { scopes: bad } });
      // a scope the role can never use is a mistake now, not a surprise at the first request
      const ungrantable = scopesNotGrantedBy(input.role, scopes);
      if (ungrantable.length) {
        throw new PkiError(
          'token.scope_not_grantable',
          `the ${input.role} role does not grant scope(s) ${ungrantable.join(', ')}: choose a role that does, or ` +
            `drop them`,
          { details: { role: input.role, scopes: ungrantable } },
        );
      }
      // nobody mints a token stronger than themselves (a scoped token included)
      assertCanGrant(actor, input.role, scopes.length > 0 ? scopes : undefined, `create a ${input.role} token`);
      // tokens expire by default (PKIM_TOKEN_TTL, 90 days); null asks explicitly for a token that never expires
      const lifetimeMs = input.expiresInMs === undefined ? defaultTokenTtlMs : input.expiresInMs;
      if (lifetimeMs !== null) checkDurationMs(lifetimeMs, 'token expiry');
      // a limited actor mints tokens limited at least as much (its own limits when none are given)
      const asked = validateResourceLimits(input.resources);
      const resources = asked && actor.resources ? { ...actor.resources, ...asked } : (asked ?? actor.resources);
      assertCanGrant(
        actor,
        input.role,
        scopes.length > 0 ? scopes : undefined,
        `create a ${input.role} token`,
        resources ?? null,
      );
      const now = clock.now();
      // a token minted by a user dies with that user (disabled owner → token refused)
      const ownerId = actor.id.startsWith('usr_') && (await store.users.findById(actor.id)) ? actor.id : null;
      // names are unique among the owner's live tokens (revoked and expired ones free their name)
      const name = input.name.trim();
      const clash = (input.uniqueName === false ? [] : await store.tokens.list()).find(
        (t) =>
          t.userId === ownerId &&
          t.name === name &&
          t.revokedAt === null &&
          (t.expiresAt === null || t.expiresAt > now),
      );
      if (clash) {
        throw new PkiError('token.name_taken', `there is already an active token named '${name}' (${clash.id})`, {
          details: { id: clash.id },
        });
      }
      const token = `${TOKEN_PREFIX}${randomSecret(32)}`;
      const id = newId('tok');
      const expiresAt = lifetimeMs !== null ? checkTimestampMs(now + lifetimeMs, 'expiresAt') : null;
      await commit({
        insertTokens: [
          {
            id,
            name: input.name.trim(),
            tokenHash: sha256Hex(token),
            userId: ownerId,
            role: input.role,
            scopes,
            resources: resources ?? null,
            expiresAt,
            lastUsedAt: null,
            revokedAt: null,
            createdAt: now,
          },
        ],
        audit: [
          event(actor, 'token.created', id, {
            name: input.name.trim(),
            role: input.role,
            scopes,
            resources,
            expiresAt,
          }),
        ],
      });
      return { id, token, expiresAt };
    },

    async listTokens() {
      return (await store.tokens.list()).map((t) => ({
        id: t.id,
        name: t.name,
        role: t.role,
        scopes: t.scopes,
        resources: t.resources,
        expiresAt: t.expiresAt,
        lastUsedAt: t.lastUsedAt,
        revokedAt: t.revokedAt,
        createdAt: t.createdAt,
      }));
    },

    async revokeToken(id, actor) {
      authorize(actor, 'token:manage');
      const row = await store.tokens.findById(id);
      if (!row) throw new PkiError('token.not_found', `no token '${id}'`);
      if (row.revokedAt !== null) throw new PkiError('token.already_revoked', `token '${id}' is already revoked`);
      await commit({
        updateTokens: [{ id, patch: { revokedAt: clock.now() } }],
        audit: [event(actor, 'token.revoked', id, { name: row.name })],
      });
    },

    async authenticateToken(token) {
      if (typeof token !== 'string' || !token.startsWith(TOKEN_PREFIX) || token.length > 256) return undefined;
      const now = clock.now();
      const found = await tokenRow(sha256Hex(token), now);
      if (!found || found.ownerDisabled) return undefined;
      const { row, others } = found;
      if (row.revokedAt !== null || (row.expiresAt !== null && row.expiresAt <= now)) return undefined;
      sweepTouches(now);
      const last = Math.max(lastTouch.get(row.id) ?? 0, row.lastUsedAt ?? 0);
      if (now - last >= touchInterval) {
        lastTouch.set(row.id, now);
        store.tokens
          .touch(row.id, now)
          .catch((e: unknown) => logger.warn({ err: e, tokenId: row.id }, 'could not record token use'));
      }
      const actor: Actor = {
        id: row.id,
        name: row.name,
        role: row.role,
        scopes: row.scopes.length > 0 ? row.scopes : undefined,
        resources: row.resources ?? undefined,
      };
      // the signal was read for this request (a remembered row is used only while it reads the same): its CA check
      // need not read it again
      deps.seen?.note(actor, others);
      return actor;
    },
  };
}

/** A new console session: the row to insert (only the token's hash is stored) and the secret for the cookie. */
export function newSession(userId: string, now: number, ttlMs: number, method: 'oidc' | null) {
  const sessionToken = randomSecret(32);
  const row: SessionRow = {
    id: newId('ses'),
    tokenHash: sha256Hex(sessionToken),
    userId,
    csrfToken: randomSecret(24),
    method,
    expiresAt: now + ttlMs,
    createdAt: now,
  };
  return { sessionToken, row };
}

export function userActor(user: {
  id: string;
  username: string;
  role: UserRole;
  resources?: ResourceLimits | null;
}): Actor {
  return { id: user.id, name: user.username, role: user.role, resources: user.resources ?? undefined };
}

/** The actor of a password session: flagged while the user must change its password (types.ts, `Actor`). */
function passwordSessionActor(user: UserRow): Actor {
  const actor = userActor(user);
  return user.mustChangePassword ? { ...actor, mustChangePassword: true } : actor;
}

/** `auth.password_change_required` (403): what a session that must change its password is told for anything else. */
export function passwordChangeRequired(actor: Actor): PkiError {
  return new PkiError(
    'auth.password_change_required',
    `the password of '${actor.name ?? actor.id}' must be changed before anything else: change it in the console ` +
      '(it asks at sign-in) or with PUT /api/v1/users/me/password {oldPassword, newPassword}, then sign in again',
    { details: { user: actor.id } },
  );
}

const THROTTLE_ENV: Record<keyof LoginThrottleOptions, string> = {
  freeFailures: 'PKIM_LOGIN_FREE_FAILURES',
  addressFreeFailures: 'PKIM_LOGIN_ADDRESS_FREE_FAILURES',
  baseDelayMs: 'PKIM_LOGIN_BACKOFF_BASE_MS',
  maxDelayMs: 'PKIM_LOGIN_BACKOFF_MAX_MS',
  forgetAfterMs: 'PKIM_LOGIN_FORGET_AFTER_MS',
};

/**
 * The login throttle's settings: the defaults, then PKIM_LOGIN_* environment variables, then the given
 * options. Throws `input.invalid` for anything that is not a positive integer.
 */
export function resolveLoginThrottle(
  env: Record<string, string | undefined>,
  given: LoginThrottleOptions = {},
): Required<LoginThrottleOptions> {
  const fromEnv: LoginThrottleOptions = {};
  for (const [k, name] of Object.entries(THROTTLE_ENV) as [keyof LoginThrottleOptions, string][]) {
    const v = env[name];
    if (v !== undefined && v !== '') {
      if (!/^\d{1,15}$/.test(v)) throw new PkiError('input.invalid', `${name} must be a positive integer, got '${v}'`);
      fromEnv[k] = Number(v);
    }
  }
  return checkThrottleOptions({ ...LOGIN_THROTTLE_DEFAULTS, ...fromEnv, ...given });
}

function checkThrottleOptions(o: Required<LoginThrottleOptions>): Required<LoginThrottleOptions> {
  for (const [k, v] of Object.entries(o)) {
    if (!Number.isSafeInteger(v) || v < 1)
      throw new PkiError('input.invalid', `login throttle: ${k} must be a positive integer, got ${String(v)}`);
  }
  if (o.maxDelayMs < o.baseDelayMs)
    throw new PkiError('input.invalid', 'login throttle: maxDelayMs must not be below baseDelayMs');
  return o;
}
