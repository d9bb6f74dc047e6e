import { randomBytes } from 'node:crypto';
import { chmod, link, mkdir, open, readFile, stat, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import { PkiError } from '@pkim/shared';

export const MASTER_KEY_FILE = 'master.key';
export const MASTER_KEY_ENV = 'PKIM_MASTER_KEY';
const KEK_BYTES = 32;

export interface LoadKeyEncryptionKeyOptions {
  /**
   * Value of PKIM_MASTER_KEY: base64 of 32 bytes; undefined means "not set" (the data dir's master.key). Set but
   * empty (or blank) is refused: `kms.master_key_empty` (refuseEmptyMasterKey).
   */
  envValue?: string;
  /** Data directory holding `master.key` when the environment does not provide the key. */
  dataDir: string;
}

export interface LoadedKeyEncryptionKey {
  kek: Uint8Array;
  source: 'env' | 'file';
  /** True when the file was created by this call. */
  created: boolean;
}

/**
 * Loads the key-encryption key of the software backend: PKIM_MASTER_KEY when set, otherwise
 * `<dataDir>/master.key` (base64), created with mode 0600 on first use. An existing file that
 * group or others can read is refused.
 */
export async function loadKeyEncryptionKey(opts: LoadKeyEncryptionKeyOptions): Promise<LoadedKeyEncryptionKey> {
  refuseEmptyMasterKey(opts.envValue, opts.dataDir);
  const env = opts.envValue?.trim();
  if (env) {
    return { kek: decodeKek(env, MASTER_KEY_ENV), source: 'env', created: false };
  }
  const file = join(opts.dataDir, MASTER_KEY_FILE);
  await ensureDataDir(opts.dataDir);

  const existing = await readExisting(file);
  if (existing !== undefined) return { kek: existing, source: 'file', created: false };

  // Create atomically: write a private temp file, then link() it into place, which fails if
  // another process created master.key in the meantime (we then use theirs).
  const kek = randomBytes(KEK_BYTES);
  const tmp = join(opts.dataDir, `.${MASTER_KEY_FILE}.${randomBytes(6).toString('hex')}.tmp`);
  try {
    const fh = await open(tmp, 'wx', 0o600);
    try {
      await fh.writeFile(`${kek.toString('base64')}\n`, 'utf8');
      await fh.sync();
    } finally {
      await fh.close();
    }
    try {
      await link(tmp, file);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
      kek.fill(0);
      const theirs = await readExisting(file);
      if (theirs === undefined) throw e;
      return { kek: theirs, source: 'file', created: false };
    }
  } catch (e) {
    if (e instanceof PkiError) throw e;
    throw new PkiError('kms.config_invalid', `cannot create the master key file ${file}: ${(e as Error).message}`, {
      cause: e,
      details: { path: file },
    });
  } finally {
    await unlink(tmp).catch(() => undefined);
  }
  return { kek: new Uint8Array(kek), source: 'file', created: true };
}

/**
 * PKIM_MASTER_KEY set but empty or blank — what `export PKIM_MASTER_KEY="$(cat FILE)"` leaves when FILE is missing —
 * is refused (`kms.master_key_empty`), not taken as unset: read as unset, a server would seal new CA keys under a
 * `<dataDir>/master.key` made for the occasion, which the intended key does not open. Call it before anything is
 * created.
 */
export function refuseEmptyMasterKey(value: string | undefined, dataDir: string): void {
  if (value?.trim() !== '') return;
  throw new PkiError(
    'kms.master_key_empty',
    `${MASTER_KEY_ENV} is set but empty (as \`export ${MASTER_KEY_ENV}="$(cat FILE)"\` leaves it when FILE is ` +
      `missing): set it to the master key (base64 of 32 bytes), or unset it to use ${join(dataDir, MASTER_KEY_FILE)}`,
    { details: { source: MASTER_KEY_ENV } },
  );
}

function decodeKek(value: string, where: string): Uint8Array {
  const hint = 'generate one with `openssl rand -base64 32`';
  if (!/^[A-Za-z0-9+/]+={0,2}$/.test(value) || value.length % 4 !== 0) {
    throw new PkiError(
      'kms.config_invalid',
      `${where} is not valid base64; it must encode exactly ${KEK_BYTES} random bytes (${hint})`,
      {
        details: { source: where },
      },
    );
  }
  const bytes = Buffer.from(value, 'base64');
  if (bytes.length !== KEK_BYTES) {
    const n = bytes.length;
    bytes.fill(0);
    throw new PkiError(
      'kms.config_invalid',
      `${where} decodes to ${n} bytes; it must be the base64 encoding of exactly ${KEK_BYTES} bytes (${hint})`,
      { details: { source: where, length: n } },
    );
  }
  return new Uint8Array(bytes);
}

async function ensureDataDir(dir: string): Promise<void> {
  try {
    const created = await mkdir(dir, { recursive: true, mode: 0o700 });
    if (created !== undefined) await chmod(dir, 0o700);
  } catch (e) {
    throw new PkiError('kms.config_invalid', `cannot create the data directory ${dir}: ${(e as Error).message}`, {
      cause: e,
      details: { path: dir },
    });
  }
}

async function readExisting(file: string): Promise<Uint8Array | undefined> {
  let st;
  try {
    st = await stat(file);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw new PkiError('kms.config_invalid', `cannot read the master key file ${file}: ${(e as Error).message}`, {
      cause: e,
      details: { path: file },
    });
  }
  if (!st.isFile()) {
    throw new PkiError('kms.config_invalid', `the master key path ${file} is not a regular file`, {
      details: { path: file },
    });
  }
  const mode = st.mode & 0o777;
  if (mode & 0o077) {
    throw new PkiError(
      'kms.config_invalid',
      `the master key file ${file} is readable by group or others (mode ${mode.toString(8).padStart(4, '0')}); ` +
        `restrict it with \`chmod 600 ${file}\``,
      { details: { path: file, mode: mode.toString(8) } },
    );
  }
  const text = await readFile(file, 'utf8');
  return decodeKek(text.trim(), `the master key file ${file}`);
}
