/**
 * The connection of one PKCS#11 backend to its token: one module reference, one login, and a small
 * pool of sessions (default 2), each used by one operation at a time.
 *
 * - Wrong PIN → kms.auth_failed: exactly one C_Login attempt is ever made; the failure is kept and
 *   returned by every later call (fatal), so a retry cannot lock the token.
 * - Token not found → kms.unavailable (retryable: an HSM partition or smart card may come back);
 *   each operation tries to connect once.
 * - Token removed / session lost → kms.unavailable; the connection is marked broken, torn down once
 *   its sessions are back, and the next operation reconnects.
 * - Login state is per (process, token) in PKCS#11: pools of one process that share a token share the
 *   login (see pkcs11-module.ts).
 */
import { randomBytes, timingSafeEqual } from 'node:crypto';
import * as graphene from 'graphene-pk11';
import { PkiError } from '@pkim/shared';
import { acquireModule, pinDigest, releaseModule, slotId, type SharedModule } from './pkcs11-module';
import { ckrName, isUnavailableCkr, isWrongPinCkr, toPkcs11PkiError } from './pkcs11-errors';

export interface Pkcs11Connection {
  shared: SharedModule;
  slot: graphene.Slot;
  slotId: string;
  tokenLabel: string;
  sessions: graphene.Session[];
  idle: graphene.Session[];
  broken: boolean;
  loggedIn: boolean;
}

export interface Pkcs11SessionPoolOptions {
  modulePath: string;
  tokenLabel?: string;
  slot?: number;
  pin: string;
  /** Where the PIN came from (a setting's name), for a wrong PIN's message. */
  pinSource?: string;
  sessions: number;
  /** Reports the login attempt (success or failure) for auditing. */
  onLogin(outcome: 'success' | 'failure', started: number, attempt: number, error?: PkiError): void;
  /** Called when the connection is lost or closed: object handles cached elsewhere are stale. */
  onReset(): void;
}

export interface Pkcs11SessionPool {
  /** `token 'label'` or `slot N`, for messages. */
  readonly tokenWanted: string;
  ensureConnected(): Promise<Pkcs11Connection>;
  /** Runs `fn` with an idle session (waiting for one); maps failures to kms.* and marks a lost token broken. */
  withSession<T>(what: string, fn: (s: graphene.Session, c: Pkcs11Connection) => Promise<T> | T): Promise<T>;
  /** Waits for in-flight operations, then logs out (when last) and closes the sessions. */
  close(): Promise<void>;
}

function closedError(): PkiError {
  return new PkiError('kms.unavailable', 'the PKCS#11 backend is closed', { retryable: false });
}

export function createPkcs11SessionPool(opts: Pkcs11SessionPoolOptions): Pkcs11SessionPool {
  const poolSize = opts.sessions;
  const tokenWanted = opts.tokenLabel !== undefined ? `token '${opts.tokenLabel}'` : `slot ${opts.slot}`;

  let conn: Pkcs11Connection | undefined;
  /** A final failure (wrong PIN): every later call fails with it, C_Login is not called again. */
  let fatal: PkiError | undefined;
  let closed = false;
  let loginAttempts = 0;
  /** A refused PIN, naming the token and where the PIN came from, so the reader knows which setting to correct. */
  const wrongPin = (ckr: string | undefined, cause?: unknown): PkiError =>
    new PkiError(
      'kms.auth_failed',
      `PKCS#11 login to ${tokenWanted} refused: wrong PIN${ckr ? ` (${ckr})` : ''}` +
        `${opts.pinSource ? ` from ${opts.pinSource}` : ''}; not retried (correct it and restart)`,
      { details: { ...(ckr ? { ckr } : {}) }, ...(cause !== undefined ? { cause } : {}) },
    );
  const waiters: ((handed: { c: Pkcs11Connection; session: graphene.Session } | null) => void)[] = [];
  const drainListeners: (() => void)[] = [];

  function findSlot(module: graphene.Module): graphene.Slot {
    const slots = module.getSlots(true);
    const seen: string[] = [];
    for (let i = 0; i < slots.length; i++) {
      const slot = slots.items(i);
      const id = slotId(slot);
      let label: string;
      try {
        label = slot.getToken().label.trim();
      } catch {
        continue; // token vanished while listing
      }
      seen.push(`'${label}' (slot ${id})`);
      if (opts.tokenLabel !== undefined ? label === opts.tokenLabel : id === String(opts.slot)) return slot;
    }
    throw new PkiError(
      'kms.unavailable',
      `PKCS#11 ${tokenWanted} not found in module '${opts.modulePath}'; tokens present: ` +
        (seen.length ? seen.join(', ') : 'none'),
      { details: { modulePath: opts.modulePath, tokenLabel: opts.tokenLabel, slot: opts.slot } },
    );
  }

  /**
   * Closes the connection's sessions, drops its login hold (logging out when it was the last) and the module
   * reference.
   */
  function teardown(c: Pkcs11Connection, logout: boolean): void {
    c.broken = true;
    const login = c.loggedIn ? c.shared.logins.get(c.slotId) : undefined;
    c.loggedIn = false;
    if (login) {
      login.holders--;
      if (login.holders <= 0) {
        c.shared.logins.delete(c.slotId);
        const first = c.sessions[0];
        if (logout && first) {
          try {
            first.logout();
          } catch {
            // session already gone
          }
        }
      }
    }
    for (const s of c.sessions) {
      try {
        s.close();
      } catch {
        // session already gone
      }
    }
    c.sessions = [];
    c.idle = [];
    releaseModule(opts.modulePath, c.shared);
  }

  function connectNow(): Pkcs11Connection {
    const shared = acquireModule(opts.modulePath);
    const c: Pkcs11Connection = {
      shared,
      slot: undefined as unknown as graphene.Slot,
      slotId: '',
      tokenLabel: '',
      sessions: [],
      idle: [],
      broken: false,
      loggedIn: false,
    };
    try {
      c.slot = findSlot(shared.module);
      c.slotId = slotId(c.slot);
      c.tokenLabel = c.slot.getToken().label.trim();
      for (let i = 0; i < poolSize; i++) {
        c.sessions.push(c.slot.open(graphene.SessionFlag.SERIAL_SESSION | graphene.SessionFlag.RW_SESSION));
      }
    } catch (e) {
      teardown(c, false);
      throw toPkcs11PkiError(e, `opening ${tokenWanted}`, { modulePath: opts.modulePath });
    }
    // Login: once per token per process (PKCS#11 login state is per application and token).
    // A token already logged in by another backend of this process is shared only when our PIN
    // is the one that logged in; otherwise we fail without calling C_Login.
    const existing = shared.logins.get(c.slotId);
    const started = performance.now();
    const attempt = ++loginAttempts;
    let failure: PkiError | undefined;
    if (existing) {
      if (timingSafeEqual(pinDigest(existing.salt, opts.pin), existing.pinDigest)) existing.holders++;
      else failure = wrongPin(undefined);
    } else {
      try {
        c.sessions[0]!.login(opts.pin, graphene.UserType.USER); // poolSize >= 1 sessions were opened above
        const salt = randomBytes(16);
        shared.logins.set(c.slotId, { salt, pinDigest: pinDigest(salt, opts.pin), holders: 1 });
      } catch (e) {
        const ckr = ckrName(e);
        failure = isWrongPinCkr(ckr)
          ? wrongPin(ckr, e)
          : ckr === 'CKR_USER_ALREADY_LOGGED_IN'
            ? new PkiError(
                'kms.auth_failed',
                `PKCS#11 ${tokenWanted} is already logged in by another component of this process; cannot ` +
                  `verify the PIN`,
              )
            : toPkcs11PkiError(e, `login to ${tokenWanted}`);
      }
    }
    if (failure) {
      opts.onLogin('failure', started, attempt, failure);
      teardown(c, false);
      throw failure;
    }
    c.loggedIn = true;
    opts.onLogin('success', started, attempt);
    c.idle = [...c.sessions];
    return c;
  }

  /**
   * The live connection, connecting (synchronously: C_Initialize, C_OpenSession, C_Login) when there is
   * none or it broke. A wrong PIN or an unloadable module is kept as `fatal` and never retried.
   */
  async function ensureConnected(): Promise<Pkcs11Connection> {
    if (closed) throw closedError();
    if (fatal) throw fatal;
    if (conn && !conn.broken) return conn;
    try {
      conn = connectNow();
      return conn;
    } catch (e) {
      const err = toPkcs11PkiError(e, `connecting to ${tokenWanted}`);
      if (err.code === 'kms.auth_failed' || err.code === 'kms.config_invalid') fatal = err;
      throw err;
    }
  }

  /** Wakes every operation waiting for a session: they re-acquire (reconnect, or fail when closed). */
  function wakeAllWaiters(): void {
    for (const w of waiters.splice(0)) w(null);
  }

  function markBroken(c: Pkcs11Connection): void {
    if (c.broken) return;
    c.broken = true;
    opts.onReset();
    if (c.idle.length === c.sessions.length) teardown(c, false);
    wakeAllWaiters();
  }

  async function acquire(): Promise<{ c: Pkcs11Connection; session: graphene.Session }> {
    for (;;) {
      const c = await ensureConnected();
      const idle = c.idle.pop();
      if (idle) return { c, session: idle };
      const handed = await new Promise<{ c: Pkcs11Connection; session: graphene.Session } | null>((resolve) =>
        waiters.push(resolve),
      );
      if (handed) return handed;
    }
  }

  function release(c: Pkcs11Connection, session: graphene.Session): void {
    if (c.broken || closed) {
      c.idle.push(session);
      if (c.broken && c.idle.length === c.sessions.length && c.sessions.length > 0) teardown(c, false);
      wakeAllWaiters();
      for (const l of drainListeners.splice(0)) l();
      return;
    }
    const next = waiters.shift();
    if (next) next({ c, session });
    else c.idle.push(session);
  }

  async function withSession<T>(
    what: string,
    fn: (s: graphene.Session, c: Pkcs11Connection) => Promise<T> | T,
  ): Promise<T> {
    const { c, session } = await acquire();
    try {
      return await fn(session, c);
    } catch (e) {
      const err = toPkcs11PkiError(e, what);
      if (err.code === 'kms.unavailable' && isUnavailableCkr(ckrName(e))) markBroken(c);
      throw err;
    } finally {
      release(c, session);
    }
  }

  async function close(): Promise<void> {
    if (closed) return;
    closed = true;
    const c = conn;
    conn = undefined;
    opts.onReset();
    wakeAllWaiters();
    if (!c || c.broken || c.sessions.length === 0) return;
    // wait for in-flight operations to hand their sessions back
    while (c.idle.length < c.sessions.length) await new Promise<void>((resolve) => drainListeners.push(resolve));
    teardown(c, true);
  }

  return { tokenWanted, ensureConnected, withSession, close };
}
