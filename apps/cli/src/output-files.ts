// The files `pkim` writes (README "Files the CLI writes"): one rule for every file option, local and remote alike.
// A file that holds a private key (`--out-key`, `--keys-zip`, a key/p12/jks/zip export with its key) never replaces
// an existing file unless `--force`; a public file (certificate, chain, CSR, CRL, truststore, KRL, SSH certificate,
// report) replaces one, except a file holding a PEM private key. Checked before the command does anything (nothing
// issued, nothing exported or audited when refused). Key files are 0600, also when they replace a file.
import { closeSync, fchmodSync, fstatSync, openSync, readSync, statSync, writeSync } from 'node:fs';
import type { Command } from 'commander';
import { PkiError } from '@pkim/shared';
import { fileErrorReason } from './cli-parsers';

/** what a file will hold: a private key (or a bundle with keys), or public material */
export type OutputKind = 'key' | 'public';

/** the options that name a file a command writes, by commander's attribute name (`--out-key`: outKey) */
const FILE_OPTIONS: Readonly<Record<string, OutputKind>> = {
  outKey: 'key',
  keysZip: 'key',
  out: 'public',
  outCert: 'public',
  outChain: 'public',
  csrOut: 'public',
  crossOut: 'public',
};

/** commands whose file options follow a rule of their own: a directory (`ssh host bundle`), `backup` (--force) */
const OWN_RULE = new Set(['ssh host bundle', 'backup']);

/** the formats of `cert export` that carry the private key (with a password, unless --no-key; `key` always) */
export function certExportHoldsKey(o: { format?: unknown; passwordFile?: unknown; key?: unknown }): boolean {
  if (o.format === 'key') return true;
  return ['p12', 'jks', 'zip'].includes(String(o.format)) && o.passwordFile !== undefined && o.key !== false;
}

const PEM_PRIVATE_KEY = /-----BEGIN (?:[A-Z0-9]+ )*PRIVATE KEY-----/;

/** whether a regular file holds a PEM private key (its first 64 KiB): a public file never replaces it silently */
function holdsPemKey(path: string): boolean {
  let fd: number | undefined;
  try {
    fd = openSync(path, 'r');
    const buf = Buffer.alloc(65_536);
    const n = readSync(fd, buf, 0, buf.length, 0);
    return PEM_PRIVATE_KEY.test(buf.subarray(0, n).toString('latin1'));
  } catch {
    return false; // unreadable: the write says why
  } finally {
    if (fd !== undefined) closeSync(fd);
  }
}

/**
 * refuses a file the command may not replace: one holding a key (`kind` key) or a PEM private key (any kind) that
 * exists, unless `force`; a directory is refused always. A missing file, a device or a FIFO (`/dev/stdout`) is fine.
 */
export function assertOutputFree(path: string | undefined, kind: OutputKind, force: boolean | undefined): void {
  if (path === undefined) return;
  let isFile: boolean;
  try {
    const st = statSync(path);
    if (st.isDirectory()) throw new PkiError('input.invalid', `cannot write '${path}': it is a directory`);
    isFile = st.isFile();
  } catch (e) {
    if (e instanceof PkiError) throw e;
    return; // missing (or not reachable: the write says why)
  }
  if (!isFile || force === true) return;
  if (kind === 'key')
    throw new PkiError(
      'output.key_file_exists',
      `'${path}' already exists: a private key file is not replaced (--force replaces it)`,
    );
  if (holdsPemKey(path))
    throw new PkiError(
      'output.key_file_exists',
      `'${path}' holds a private key: not replaced by a public file (--force replaces it)`,
    );
}

/** `ca create` for the command `pkim ca create` */
function pathOf(command: Command): string {
  const names: string[] = [];
  for (let c: Command | null = command; c?.parent; c = c.parent) names.unshift(c.name());
  return names.join(' ');
}

/** checks every file option of the command about to run (main.ts, before the action, in both modes) */
export function checkOutputFiles(command: Command): void {
  const path = pathOf(command);
  if (OWN_RULE.has(path)) return;
  const o = command.opts<Record<string, unknown>>();
  for (const [name, kind] of Object.entries(FILE_OPTIONS)) {
    const file = o[name];
    if (typeof file !== 'string') continue;
    const k = path === 'cert export' && name === 'out' && certExportHoldsKey(o) ? 'key' : kind;
    assertOutputFree(file, k, o.force === true);
  }
}

/** adds `--force` to every command with a file option that has none (walks the registered tree) */
export function addForceOptions(program: Command): void {
  for (const c of program.commands) {
    const names = new Set(c.options.map((opt) => opt.attributeName()));
    const writes = Object.keys(FILE_OPTIONS).some((n) => names.has(n)) || names.has('outDir');
    if (writes && !names.has('force') && !OWN_RULE.has(pathOf(c)))
      c.option('--force', 'replace an existing output file that holds a private key (README: Files the CLI writes)');
    addForceOptions(c);
  }
}

/**
 * writes a file the command makes: `mode` for a new file; a key file (0600) replacing one takes 0600 before a byte is
 * written (writeFileSync keeps an existing file's mode); a device or FIFO (`/dev/stdout`) is written as it is
 */
export function writeOutputFile(path: string, content: string | Uint8Array, mode = 0o644): void {
  let fd: number | undefined;
  try {
    fd = openSync(path, 'w', mode);
    if (mode === 0o600 && fstatSync(fd).isFile()) fchmodSync(fd, 0o600);
    const bytes = typeof content === 'string' ? Buffer.from(content, 'utf8') : content;
    for (let off = 0; off < bytes.length;) off += writeSync(fd, bytes, off, bytes.length - off);
  } catch (e) {
    throw new PkiError('input.invalid', `cannot write '${path}': ${fileErrorReason(e)}`);
  } finally {
    if (fd !== undefined) closeSync(fd);
  }
}
