import { randomBytes } from 'node:crypto';
import { chmod, mkdir, open, readFile, rename, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import { PkiError } from '@pkim/shared';

/**
 * Where the software backend keeps its encrypted key blobs (opaque strings, keyed by id).
 * The store package provides a database-backed implementation of the same shape.
 */
export interface KeyBlobStorage {
  get(id: string): Promise<string | undefined>;
  put(id: string, data: string): Promise<void>;
  /** True when something was deleted. */
  delete(id: string): Promise<boolean>;
}

const ID_PATTERN = /^[A-Za-z0-9_-]{1,128}$/;

function checkId(id: string): void {
  if (!ID_PATTERN.test(id)) {
    throw new PkiError('input.invalid', 'a key blob id may only contain letters, digits, "_" and "-"', {
      details: { id: id.slice(0, 140) },
    });
  }
}

/** In-memory storage for tests and ephemeral use. */
export function createMemoryKeyBlobStorage(): KeyBlobStorage & { ids(): string[] } {
  const blobs = new Map<string, string>();
  return {
    async get(id) {
      checkId(id);
      return blobs.get(id);
    },
    async put(id, data) {
      checkId(id);
      blobs.set(id, data);
    },
    async delete(id) {
      checkId(id);
      return blobs.delete(id);
    },
    ids: () => [...blobs.keys()],
  };
}

/**
 * One file per blob (`<dir>/<id>.json`, mode 0600) in a directory created with mode 0700.
 * Writes are atomic: temp file in the same directory, fsync, rename.
 */
export function createFileKeyBlobStorage(dir: string): KeyBlobStorage {
  let ready: Promise<void> | undefined;
  const ensureDir = (): Promise<void> =>
    (ready ??= (async () => {
      const created = await mkdir(dir, { recursive: true, mode: 0o700 });
      // mkdir only applies the mode to directories it created; also tighten the leaf we created
      if (created !== undefined) await chmod(dir, 0o700);
    })().catch((e: unknown) => {
      ready = undefined;
      throw storageError(`cannot create the key directory ${dir}`, e);
    }));
  const fileOf = (id: string): string => join(dir, `${id}.json`);

  return {
    async get(id) {
      checkId(id);
      await ensureDir();
      try {
        return await readFile(fileOf(id), 'utf8');
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
        throw storageError(`cannot read key blob ${id}`, e);
      }
    },
    async put(id, data) {
      checkId(id);
      await ensureDir();
      const tmp = join(dir, `.${id}.${randomBytes(6).toString('hex')}.tmp`);
      try {
        const fh = await open(tmp, 'wx', 0o600);
        try {
          await fh.writeFile(data, 'utf8');
          await fh.sync();
        } finally {
          await fh.close();
        }
        await rename(tmp, fileOf(id));
      } catch (e) {
        await unlink(tmp).catch(() => undefined);
        throw storageError(`cannot write key blob ${id}`, e);
      }
      await syncDir(dir);
    },
    async delete(id) {
      checkId(id);
      await ensureDir();
      try {
        await unlink(fileOf(id));
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code === 'ENOENT') return false;
        throw storageError(`cannot delete key blob ${id}`, e);
      }
      await syncDir(dir);
      return true;
    },
  };
}

async function syncDir(dir: string): Promise<void> {
  try {
    const fh = await open(dir, 'r');
    try {
      await fh.sync();
    } finally {
      await fh.close();
    }
  } catch {
    // fsync of a directory is not supported everywhere; the rename is still atomic
  }
}

function storageError(message: string, cause: unknown): PkiError {
  const reason = cause instanceof Error ? cause.message : String(cause);
  return new PkiError('kms.operation_failed', `${message}: ${reason}`, { cause });
}
