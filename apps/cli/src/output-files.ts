// The files `pkim` writes (README "Files the CLI writes"): one rule for every file option, local and remote alike.
// A file that holds a private key (`--out-key`, `--keys-zip`, a key/p12/jks/zip export with its key) never replaces
// an existing file unless `--force`; a public file (certificate, chain, CSR, CRL, truststore, KRL, SSH certificate,
// report) replaces one, except a file holding a private key (PEM, PKCS#12 or JKS with a key, a ZIP of keys). Checked
// before the command does anything (nothing issued, nothing exported or audited when refused). Key files are 0600,
// also when they replace a file.
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
/** PKCS#12 keyBag and pkcs8ShroudedKeyBag (1.2.840.113549.1.12.10.1.1 / .2) as DER OIDs */
const P12_KEY_BAGS = [1, 2].map((n) => Buffer.from([6, 11, 42, 134, 72, 134, 247, 13, 1, 12, 10, 1, n]));
/** a ZIP entry that holds a key: what `cert export --format zip` and `cert bulk --keys-zip` put in one */
const ZIP_KEY_ENTRY = /\.(?:key|key\.pem|p12|pfx|jks)$/i;
/** the whole file is read up to this size (a key bundle is far smaller); beyond it only its start, for PEM */
const READ_LIMIT = 64 * 1024 * 1024;

/** whether a JKS keystore (magic FEEDFEED) has a private key entry (tag 1): its entries walked */
function jksHasKeyEntry(b: Buffer): boolean {
  let at = 12; // magic, version, entry count
  const utf = () => (at += 2 + b.readUInt16BE(at));
  const cert = () => {
    utf(); // certificate type
    at += 4 + b.readUInt32BE(at);
  };
  for (let n = b.readUInt32BE(8); n > 0; n--) {
    const tag = b.readUInt32BE(at);
    if (tag === 1) return true;
    if (tag !== 2) return false;
    at += 4;
    utf(); // alias
    at += 8; // timestamp
    cert();
  }
  return false;
}

/** the names of a ZIP's entries (its local file headers) */
function zipEntryNames(b: Buffer): string[] {
  const names: string[] = [];
  for (let at = b.indexOf('PK\x03\x04', 0, 'latin1'); at >= 0 && at + 30 <= b.length;) {
    const nameLength = b.readUInt16LE(at + 26);
    names.push(b.toString('utf8', at + 30, at + 30 + nameLength));
    at = b.indexOf('PK\x03\x04', at + 30 + nameLength, 'latin1');
  }
  return names;
}

/**
 * whether a regular file holds a private key: a PEM private key (in its first 64 KiB), a PKCS#12 file with a key
 * bag, a JKS keystore with a key entry, a ZIP with a key, PKCS#12 or JKS entry — a public file never replaces it
 * silently. An unreadable or malformed file counts as none (the write says why, or replaces it).
 */
export function holdsPrivateKey(path: string): boolean {
  let b: Buffer;
  try {
    const fd = openSync(path, 'r');
    try {
      const size = fstatSync(fd).size;
      b = Buffer.alloc(size <= READ_LIMIT ? size : 65_536);
      b = b.subarray(0, readSync(fd, b, 0, b.length, 0));
    } finally {
      closeSync(fd);
    }
  } catch {
    return false;
  }
  if (PEM_PRIVATE_KEY.test(b.subarray(0, 65_536).toString('latin1'))) return true;
  try {
    if (b.length > 12 && b.readUInt32BE(0) === 0xfeedfeed) return jksHasKeyEntry(b);
    if (b.length > 4 && b.readUInt32LE(0) === 0x04034b50) return zipEntryNames(b).some((n) => ZIP_KEY_ENTRY.test(n));
    if (b[0] === 0x30) return P12_KEY_BAGS.some((oid) => b.includes(oid));
  } catch {
    return false; // a truncated keystore or archive
  }
  return false;
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
  if (holdsPrivateKey(path))
    throw new PkiError(
      'output.key_file_exists',
      `'${path}' holds a private key: not replaced by a public file (--force replaces it)`,
    );
}

/** a directory the command writes into (`ssh host bundle --out DIR`): refused when it exists and is not one */
function assertDirectoryOrFree(dir: string): void {
  let isDirectory = true;
  try {
    isDirectory = statSync(dir).isDirectory();
  } catch {
    return; // missing: made when the files are written
  }
  if (!isDirectory) throw new PkiError('input.invalid', `cannot write the bundle to '${dir}': not a directory`);
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
  const o = command.opts<Record<string, unknown>>();
  if (path === 'ssh host bundle' && typeof o.out === 'string') assertDirectoryOrFree(o.out);
  if (OWN_RULE.has(path)) return;
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
