import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import type { Logger } from 'pino';
import { PkiError, checkDurationMs, checkTimestampMs, newId, type Clock } from '@pkim/shared';
import type { NewAuditEvent, Store, UnitOfWork, UserRole, UserRow } from '@pkim/store';
import {
  hashPassword,
  verifyPassword,
  generatePassword,
  DEFAULT_SCRYPT_PARAMS,
  type ScryptParams,
} from './password-hashing';
import { assertCanGrant, authorize, hasPermission, isValidScope, USER_ROLES } from './permissions';
import type { ResourceLimits } from './signing/provisioner';
import { validateResourceLimits } from './signing/provisioner-registry';
import type { Actor, AuditService, AuthService } from './types';

export interface AuthServiceDeps {
  store: Store;
  clock: Clock;
  logger: Logger;
  audit: AuditService;
}

export interface AuthServiceOptions {
  /** failed logins in a row before the account is locked (default 5) */
  maxFailedLogins?: number;
  /** lockout duration (default 15 min) */
  lockoutMs?: number;
  /** session lifetime (default 12 h) */
  sessionTtlMs?: number;
  /** failed logins per client IP within `ipWindowMs` before further attempts are refused (default 20 / 15 min) */
  maxFailuresPerIp?: number;
  ipWindowMs?: number;
  /** minimum time between `lastUsedAt` writes for one token (default 60 s) */
  tokenTouchIntervalMs?: number;
  /** scrypt cost (tests may lower it) */
  scrypt?: ScryptParams;
}

/** settings key that marks the first-boot admin as created (never recreated afterwards) */
export const BOOTSTRAP_SETTING = 'auth.bootstrap_admin_created';
export const BOOTSTRAP_USERNAME = 'admin';
export const TOKEN_PREFIX = 'pkim_';
export const MIN_PASSWORD_LENGTH = 12;
const USERNAME_RE = /^[a-z0-9][a-z0-9._@-]{1,63}$/i;

export function sha256Hex(value: string): string {
  return createHash('sha256').update(value, 'utf8').digest('hex');
}

function randomSecret(bytes = 32): string {
  return randomBytes(bytes).toString('base64url');
}

function constantTimeEqual(a: string, b: string): boolean {
  const ab = Buffer.from(a);
  const bb = Buffer.from(b);
  return ab.length === bb.length && timingSafeEqual(ab, bb);
}

/** Users, passwords, sessions and API tokens. Every change and every login attempt is audited. */
export function createAuthService(deps: AuthServiceDeps, options: AuthServiceOptions = {}): AuthService {
  const { store, clock, logger, audit } = deps;
  const maxFailed = options.maxFailedLogins ?? 5;
  const lockoutMs = options.lockoutMs ?? 15 * 60_000;
  const sessionTtlMs = options.sessionTtlMs ?? 12 * 3_600_000;
  const maxFailuresPerIp = options.maxFailuresPerIp ?? 20;
  const ipWindowMs = options.ipWindowMs ?? 15 * 60_000;
  const touchInterval = options.tokenTouchIntervalMs ?? 60_000;
  const scryptParams = options.scrypt ?? DEFAULT_SCRYPT_PARAMS;
  /** per-IP failure timestamps (in memory: one process; the per-account lockout is in the database) */
  const ipFailures = new Map<string, number[]>();
  const lastTouch = new Map<string, number>();
  // a real hash so unknown users cost the same time as known ones
  const dummyHash = hashPassword(randomSecret(), scryptParams);

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

  const recordIpFailure = (ip: string | undefined): void => {
    if (!ip) return;
    const now = clock.now();
    const list = (ipFailures.get(ip) ?? []).filter((t) => now - t < ipWindowMs);
    list.push(now);
    ipFailures.set(ip, list);
    if (ipFailures.size > 10_000) ipFailures.delete(ipFailures.keys().next().value!);
  };

  const ipBlocked = (ip: string | undefined): boolean => {
    if (!ip) return false;
    const now = clock.now();
    const list = (ipFailures.get(ip) ?? []).filter((t) => now - t < ipWindowMs);
    if (list.length === 0) ipFailures.delete(ip);
    return list.length >= maxFailuresPerIp;
  };

  const insertUser = async (
    input: { username: string; password: string; role: UserRole; mustChangePassword: boolean },
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
      createdAt: now,
      updatedAt: now,
    };
    await store.commit({
      ...extra,
      insertUsers: [row],
      audit: [event(actor, 'user.created', row.id, { username: row.username, role: row.role, ...details })],
    });
    return row;
  };

  return {
    async ensureBootstrapAdmin() {
      if (await store.settings.get(BOOTSTRAP_SETTING)) return { created: false };
      if ((await store.users.count()) > 0) {
        await store.commit({ setSettings: { [BOOTSTRAP_SETTING]: String(clock.now()) } });
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
      checkPassword(input.password);
      if (await store.users.findByUsername(input.username))
        throw new PkiError('user.name_taken', `user '${input.username}' already exists`);
      const row = await insertUser({ ...input, mustChangePassword: false }, actor);
      return { id: row.id, username: row.username, role: row.role };
    },

    async listUsers() {
      return (await store.users.list()).map((u) => ({
        id: u.id,
        username: u.username,
        role: u.role,
        disabled: u.disabled,
        lockedUntil: u.lockedUntil,
        resources: u.resources ?? undefined,
        createdAt: u.createdAt,
      }));
    },

    async setUserRole(userId, role, actor) {
      authorize(actor, 'user:manage');
      checkRole(role);
      const user = await requireUser(userId);
      // the actor must hold everything of both roles: no promoting past itself, no demoting its betters
      assertCanGrant(actor, user.role, undefined, `change the role of a ${user.role}`);
      assertCanGrant(actor, role, undefined, `give the role ${role}`);
      if (user.role === role) return;
      if (user.role === 'admin') await ensureAnotherAdmin(user.id);
      await store.commit({
        updateUsers: [{ id: user.id, patch: { role, updatedAt: clock.now() } }],
        audit: [event(actor, 'user.role_changed', user.id, { username: user.username, from: user.role, to: role })],
      });
    },

    async setUserResources(userId, resources, actor) {
      authorize(actor, 'user:manage');
      const user = await requireUser(userId);
      const clean = resources === null ? undefined : validateResourceLimits(resources);
      await store.commit({
        updateUsers: [{ id: user.id, patch: { resources: clean ?? null, updatedAt: clock.now() } }],
        audit: [event(actor, 'user.resources_changed', user.id, { username: user.username, resources: clean ?? null })],
      });
    },

    async setUserDisabled(userId, disabled, actor) {
      authorize(actor, 'user:manage');
      const user = await requireUser(userId);
      assertCanGrant(actor, user.role, undefined, `${disabled ? 'disable' : 'enable'} a ${user.role}`);
      if (user.disabled === disabled) return;
      if (disabled && user.role === 'admin') await ensureAnotherAdmin(user.id);
      await store.commit({
        updateUsers: [{ id: user.id, patch: { disabled, updatedAt: clock.now() } }],
        deleteSessionsOfUsers: disabled ? [user.id] : undefined,
        audit: [event(actor, disabled ? 'user.disabled' : 'user.enabled', user.id, { username: user.username })],
      });
    },

    async changePassword(userId, oldPassword, newPassword, actor) {
      const self = actor.id === userId;
      if (self) authorize(actor, 'account:self');
      else authorize(actor, 'user:manage');
      const user = await requireUser(userId);
      // resetting someone's password is taking over their account: only for accounts the actor could create
      if (!self) assertCanGrant(actor, user.role, undefined, `reset the password of a ${user.role}`);
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
      await store.commit({
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
        audit: [
          event(actor, self ? 'user.password_changed' : 'user.password_reset', user.id, { username: user.username }),
        ],
      });
    },

    async login(username, password, meta) {
      const ip = meta.ip;
      if (ipBlocked(ip)) {
        await audit.record({
          actor: `ip:${ip}`,
          action: 'auth.login_failed',
          target: null,
          outcome: 'failure',
          details: { username, ip, reason: 'ip_rate_limited' },
        });
        throw new PkiError('rate.limited', 'too many failed logins from this address; try again later');
      }
      const user = typeof username === 'string' ? await store.users.findByUsername(username) : undefined;
      const now = clock.now();
      if (!user) {
        await verifyPassword(String(password ?? ''), await dummyHash);
        recordIpFailure(ip);
        await audit.record({
          actor: `ip:${ip ?? 'unknown'}`,
          action: 'auth.login_failed',
          target: null,
          outcome: 'failure',
          details: { username: String(username).slice(0, 64), ip, reason: 'unknown_user' },
        });
        throw new PkiError('auth.invalid_credentials', 'wrong user name or password');
      }
      if (user.lockedUntil !== null && user.lockedUntil > now) {
        recordIpFailure(ip);
        await audit.record({
          actor: user.id,
          action: 'auth.login_failed',
          target: user.id,
          outcome: 'failure',
          details: { username, ip, reason: 'locked' },
        });
        throw new PkiError('auth.locked', 'too many failed logins; the account is locked', {
          details: { lockedUntil: user.lockedUntil },
        });
      }
      const ok = await verifyPassword(String(password ?? ''), user.passwordHash);
      if (!ok || user.disabled) {
        recordIpFailure(ip);
        // a lock that has run out starts a fresh count
        const failed = (user.lockedUntil !== null ? 0 : user.failedLogins) + 1;
        const lock = failed >= maxFailed;
        const events = [
          event(
            user.id,
            'auth.login_failed',
            user.id,
            { username, ip, reason: user.disabled ? 'disabled' : 'wrong_password', failedLogins: failed },
            'failure',
          ),
        ];
        if (lock)
          events.push(
            event(
              'system',
              'auth.locked',
              user.id,
              { username, ip, lockedUntil: now + lockoutMs, failedLogins: failed },
              'failure',
            ),
          );
        await store.commit({
          updateUsers: [
            {
              id: user.id,
              patch: { failedLogins: lock ? 0 : failed, lockedUntil: lock ? now + lockoutMs : null, updatedAt: now },
            },
          ],
          audit: events,
        });
        if (lock) logger.warn({ userId: user.id, ip }, 'account locked after failed logins');
        throw new PkiError('auth.invalid_credentials', 'wrong user name or password');
      }
      const sessionToken = randomSecret(32);
      const csrfToken = randomSecret(24);
      const expiresAt = now + sessionTtlMs;
      const sessionId = newId('ses');
      await store.commit({
        insertSessions: [
          { id: sessionId, tokenHash: sha256Hex(sessionToken), userId: user.id, csrfToken, expiresAt, createdAt: now },
        ],
        updateUsers: [{ id: user.id, patch: { failedLogins: 0, lockedUntil: null, updatedAt: now } }],
        audit: [event(user.id, 'auth.login', user.id, { username, ip, sessionId })],
      });
      return { sessionToken, csrfToken, expiresAt, actor: userActor(user) };
    },

    async logout(sessionToken) {
      if (typeof sessionToken !== 'string' || sessionToken.length === 0) return;
      const session = await store.sessions.findByHash(sha256Hex(sessionToken));
      if (!session) return;
      await store.commit({
        deleteSessions: [session.id],
        audit: [event(session.userId, 'auth.logout', session.userId, { sessionId: session.id })],
      });
    },

    async authenticateSession(sessionToken) {
      if (typeof sessionToken !== 'string' || sessionToken.length < 16 || sessionToken.length > 256) return undefined;
      const session = await store.sessions.findByHash(sha256Hex(sessionToken));
      if (!session) return undefined;
      if (session.expiresAt <= clock.now()) {
        await store.commit({ deleteSessions: [session.id] });
        return undefined;
      }
      const user = await store.users.findById(session.userId);
      if (!user || user.disabled) return undefined;
      return { actor: userActor(user), csrfToken: session.csrfToken };
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
      // nobody mints a token stronger than themselves (a scoped token included)
      assertCanGrant(actor, input.role, scopes.length > 0 ? scopes : undefined, `create a ${input.role} token`);
      if (input.expiresInMs !== undefined) checkDurationMs(input.expiresInMs, 'token expiry');
      // a limited actor mints tokens limited at least as much (its own limits when none are given)
      const asked = validateResourceLimits(input.resources);
      const resources = asked && actor.resources ? { ...actor.resources, ...asked } : (asked ?? actor.resources);
      if (actor.resources && resources && !withinLimits(resources, actor.resources)) {
        throw new PkiError(
          'auth.forbidden',
          "a token cannot reach CAs, profiles, names or lifetimes beyond its creator's own limits",
        );
      }
      const now = clock.now();
      // a token minted by a user dies with that user (disabled owner → token refused)
      const ownerId = actor.id.startsWith('usr_') && (await store.users.findById(actor.id)) ? actor.id : null;
      const token = `${TOKEN_PREFIX}${randomSecret(32)}`;
      const id = newId('tok');
      const expiresAt = input.expiresInMs !== undefined ? checkTimestampMs(now + input.expiresInMs, 'expiresAt') : null;
      await store.commit({
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
      await store.commit({
        updateTokens: [{ id, patch: { revokedAt: clock.now() } }],
        audit: [event(actor, 'token.revoked', id, { name: row.name })],
      });
    },

    async authenticateToken(token) {
      if (typeof token !== 'string' || !token.startsWith(TOKEN_PREFIX) || token.length > 256) return undefined;
      const row = await store.tokens.findByHash(sha256Hex(token));
      if (!row || !constantTimeEqual(row.tokenHash, sha256Hex(token))) return undefined;
      const now = clock.now();
      if (row.revokedAt !== null || (row.expiresAt !== null && row.expiresAt <= now)) return undefined;
      if (row.userId) {
        const owner = await store.users.findById(row.userId);
        if (!owner || owner.disabled) return undefined;
      }
      const last = Math.max(lastTouch.get(row.id) ?? 0, row.lastUsedAt ?? 0);
      if (now - last >= touchInterval) {
        lastTouch.set(row.id, now);
        store.tokens
          .touch(row.id, now)
          .catch((e: unknown) => logger.warn({ err: e, tokenId: row.id }, 'could not record token use'));
      }
      return {
        id: row.id,
        name: row.name,
        role: row.role,
        scopes: row.scopes.length > 0 ? row.scopes : undefined,
        resources: row.resources ?? undefined,
      };
    },
  };
}

function userActor(user: { id: string; username: string; role: UserRole; resources?: ResourceLimits | null }): Actor {
  return { id: user.id, name: user.username, role: user.role, resources: user.resources ?? undefined };
}

/** Is `inner` at most as wide as `outer` (lists are subsets, pattern by pattern; lifetime not longer)? */
function withinLimits(inner: ResourceLimits, outer: ResourceLimits): boolean {
  const sub = (a?: string[], b?: string[]) => b === undefined || (a !== undefined && a.every((x) => b.includes(x)));
  const life =
    outer.maxLifetimeMs === undefined ||
    (inner.maxLifetimeMs !== undefined && inner.maxLifetimeMs <= outer.maxLifetimeMs);
  return sub(inner.cas, outer.cas) && sub(inner.profiles, outer.profiles) && sub(inner.names, outer.names) && life;
}
