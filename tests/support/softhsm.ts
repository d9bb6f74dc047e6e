// Test helper: a throw-away SoftHSM2 token in a private temp directory.
//
// SoftHSM2 reads SOFTHSM2_CONF when the module is initialised (C_Initialize), so this helper sets
// process.env.SOFTHSM2_CONF before returning; create the token before initialising any module in
// the process. One process (Vitest fork) uses one SoftHSM2 configuration: call this once per test
// file and put all the file's tokens in it (`addToken`), or clean up before creating the next.
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, readdirSync, statSync } from 'node:fs';
import { mkdtemp, mkdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import * as graphene from 'graphene-pk11';

const execFileAsync = promisify(execFile);

const INSTALL_HINT = 'install it with scripts/install-test-peers.sh (Debian packages softhsm2 and opensc)';

export interface SoftHsmTokenOptions {
  label?: string;
  pin?: string;
  soPin?: string;
}

export interface SoftHsmToken {
  modulePath: string;
  tokenLabel: string;
  pin: string;
  soPin: string;
  confPath: string;
  /** Directory holding the token files. */
  tokenDir: string;
  /** Initialises another token in the same SoftHSM2 configuration (same module, same process). */
  addToken(opts?: SoftHsmTokenOptions): Promise<{ tokenLabel: string; pin: string; soPin: string }>;
  /** Removes the temp dir; restores the previous SOFTHSM2_CONF. */
  cleanup(): Promise<void>;
}

/** Path of libsofthsm2.so; throws with install instructions when it is missing. */
export function findSoftHsmModule(): string {
  const candidates = [
    process.env.PKIM_TEST_SOFTHSM_MODULE,
    '/usr/lib/softhsm/libsofthsm2.so',
    '/usr/lib/x86_64-linux-gnu/softhsm/libsofthsm2.so',
    '/usr/lib/aarch64-linux-gnu/softhsm/libsofthsm2.so',
    '/usr/local/lib/softhsm/libsofthsm2.so',
  ].filter((p): p is string => !!p);
  for (const p of candidates) if (existsSync(p)) return p;
  const found = searchFile('/usr/lib', 'libsofthsm2.so', 4);
  if (found) return found;
  throw new Error(
    `SoftHSM2 module libsofthsm2.so not found (looked in ${candidates.join(', ')} and under /usr/lib): ${INSTALL_HINT}`,
  );
}

function searchFile(dir: string, name: string, depth: number): string | undefined {
  if (depth < 0) return undefined;
  let entries: string[];
  try {
    entries = readdirSync(dir);
  } catch {
    return undefined;
  }
  if (entries.includes(name)) return join(dir, name);
  for (const e of entries) {
    const p = join(dir, e);
    try {
      if (statSync(p).isDirectory()) {
        const hit = searchFile(p, name, depth - 1);
        if (hit) return hit;
      }
    } catch {
      // unreadable entry: skip
    }
  }
  return undefined;
}

async function initToken(confPath: string, label: string, pin: string, soPin: string): Promise<void> {
  try {
    await execFileAsync(
      'softhsm2-util',
      ['--init-token', '--free', '--label', label, '--pin', pin, '--so-pin', soPin],
      {
        env: { ...process.env, SOFTHSM2_CONF: confPath },
      },
    );
  } catch (e) {
    const err = e as NodeJS.ErrnoException & { stderr?: string };
    if (err.code === 'ENOENT') throw new Error(`softhsm2-util not found: ${INSTALL_HINT}`);
    // never echo the command line: it carries the PINs
    throw new Error(
      `softhsm2-util --init-token failed for token '${label}': ${String(err.stderr ?? err.message).trim()}`,
    );
  }
}

export async function createSoftHsmToken(opts: SoftHsmTokenOptions = {}): Promise<SoftHsmToken> {
  const modulePath = findSoftHsmModule();
  const dir = await mkdtemp(join(tmpdir(), 'pkim-softhsm-'));
  const tokenDir = join(dir, 'tokens');
  await mkdir(tokenDir, { mode: 0o700 });
  const confPath = join(dir, 'softhsm2.conf');
  await writeFile(
    confPath,
    [
      `directories.tokendir = ${tokenDir}`,
      'objectstore.backend = file',
      'log.level = ERROR',
      'slots.removable = false',
      '',
    ].join('\n'),
    { mode: 0o600 },
  );
  const tokenLabel = opts.label ?? `pkim-test-${randomBytes(4).toString('hex')}`;
  const pin = opts.pin ?? randomBytes(8).toString('hex');
  const soPin = opts.soPin ?? randomBytes(8).toString('hex');
  try {
    await initToken(confPath, tokenLabel, pin, soPin);
  } catch (e) {
    await rm(dir, { recursive: true, force: true });
    throw e;
  }
  const previousConf = process.env.SOFTHSM2_CONF;
  process.env.SOFTHSM2_CONF = confPath;
  return {
    modulePath,
    tokenLabel,
    pin,
    soPin,
    confPath,
    tokenDir,
    async addToken(more: SoftHsmTokenOptions = {}) {
      const label = more.label ?? `pkim-test-${randomBytes(4).toString('hex')}`;
      const p = more.pin ?? randomBytes(8).toString('hex');
      const so = more.soPin ?? randomBytes(8).toString('hex');
      await initToken(confPath, label, p, so);
      return { tokenLabel: label, pin: p, soPin: so };
    },
    async cleanup() {
      if (process.env.SOFTHSM2_CONF === confPath) {
        if (previousConf === undefined) delete process.env.SOFTHSM2_CONF;
        else process.env.SOFTHSM2_CONF = previousConf;
      }
      await rm(dir, { recursive: true, force: true });
    },
  };
}

/**
 * Runs `fn` with a read-write session on the token labelled `hsm.tokenLabel`, a second view of it through graphene
 * beside the backend under test; closes the session after. The module is the backend's, already initialised in this
 * process (initialize is then a no-op; never finalize it here: shared). The backend's login holds for every session
 * of the process; `login` also logs this session in with `hsm.pin` when the token is not logged in yet.
 */
export function withTokenSession<T>(
  hsm: Pick<SoftHsmToken, 'modulePath' | 'tokenLabel' | 'pin'>,
  fn: (session: graphene.Session) => T,
  opts: { login?: boolean } = {},
): T {
  const mod = graphene.Module.load(hsm.modulePath, 'token-view');
  mod.initialize();
  const slots = mod.getSlots(true);
  for (let i = 0; i < slots.length; i++) {
    const slot = slots.items(i);
    if (slot.getToken().label.trim() !== hsm.tokenLabel) continue;
    const session = slot.open(graphene.SessionFlag.SERIAL_SESSION | graphene.SessionFlag.RW_SESSION);
    try {
      if (opts.login) {
        try {
          session.login(hsm.pin);
        } catch {
          // already logged in by the backend (CKR_USER_ALREADY_LOGGED_IN)
        }
      }
      return fn(session);
    } finally {
      session.close();
    }
  }
  throw new Error(`token ${hsm.tokenLabel} not visible`);
}
