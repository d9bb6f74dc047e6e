// The profile `pkim login` writes and `pkim logout` removes: `$XDG_CONFIG_HOME/pkim/config.json` (default
// `~/.config/pkim/config.json`), the server, its API token and an optional CA file. The token is a secret: the
// directory is created 0700 and the file 0600, and a profile other users could read is refused, as ssh does.
import { chmodSync, existsSync, mkdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { dirname, isAbsolute, join } from 'node:path';
import { PkiError } from '@pkim/shared';

export interface LoginProfile {
  server: string;
  token: string;
  /** PEM CA certificate(s) trusted for the server (absolute path) */
  caFile?: string;
}

/** `$XDG_CONFIG_HOME/pkim/config.json`; XDG_CONFIG_HOME only when absolute (the XDG rule), else `~/.config`. */
export function loginProfilePath(env: Record<string, string | undefined>): string {
  const xdg = env.XDG_CONFIG_HOME;
  const base = xdg && isAbsolute(xdg) ? xdg : join(env.HOME || homedir(), '.config');
  return join(base, 'pkim', 'config.json');
}

/** The profile, or null when there is none. Refuses a malformed one, or one that others may read. */
export function readLoginProfile(path: string): LoginProfile | null {
  if (!existsSync(path)) return null;
  if (process.platform !== 'win32' && (statSync(path).mode & 0o077) !== 0) {
    throw new PkiError(
      'config.invalid',
      `login profile ${path} is readable by other users (it holds an API token): chmod 600 it, or pkim logout`,
    );
  }
  let data: unknown;
  try {
    data = JSON.parse(readFileSync(path, 'utf8'));
  } catch {
    throw new PkiError('config.invalid', `login profile ${path} is not valid JSON: pkim logout, then pkim login`);
  }
  const p = data as Partial<LoginProfile> | null;
  if (!p || typeof p.server !== 'string' || typeof p.token !== 'string' || !p.server || !p.token) {
    throw new PkiError('config.invalid', `login profile ${path} has no server and token: pkim login again`);
  }
  return { server: p.server, token: p.token, ...(typeof p.caFile === 'string' ? { caFile: p.caFile } : {}) };
}

/** Writes the profile: directory 0700, file 0600 (written beside and renamed, never readable by others). */
export function writeLoginProfile(path: string, profile: LoginProfile): void {
  const dir = dirname(path);
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  chmodSync(dir, 0o700);
  const tmp = `${path}.${process.pid}.tmp`;
  writeFileSync(tmp, `${JSON.stringify(profile, null, 2)}\n`, { mode: 0o600 });
  chmodSync(tmp, 0o600);
  renameSync(tmp, path);
}

/** Removes the profile; false when there was none. */
export function removeLoginProfile(path: string): boolean {
  if (!existsSync(path)) return false;
  rmSync(path, { force: true });
  return true;
}
