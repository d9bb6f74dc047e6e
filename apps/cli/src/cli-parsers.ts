import {
  PkiError,
  normalizeKeyType,
  normalizeRevocationReason,
  ACCEPTED_REVOCATION_REASONS,
  assertAcceptedRevocationReason,
  parseDuration,
  classifySans,
  KEY_TYPES,
  type KeyType,
  type SanLists,
  type RevocationReason,
} from '@pkim/shared';
import { CERTIFICATE_SORTS, CERTIFICATE_STATUSES, KEY_BACKENDS } from '@pkim/contract/vocabulary';
import { offering } from './option-values';
import { readFileOrStdin } from './cli-io';

export function collect(value: string, previous: string[] = []): string[] {
  return [...previous, value];
}

export const keyTypeOption = offering(KEY_TYPES, (v: string): KeyType => {
  const k = normalizeKeyType(v);
  if (!k)
    throw new PkiError(
      'input.invalid',
      `unknown key type '${v}' (use rsa-2048, rsa-3072, rsa-4096, ec-p256, ec-p384, ed25519)`,
    );
  return k;
});

export function durationOption(v: string): number {
  return parseDuration(v);
}

export const reasonOption = offering(ACCEPTED_REVOCATION_REASONS, (v: string): RevocationReason => {
  const r = normalizeRevocationReason(v);
  if (!r) {
    throw new PkiError(
      'revocation.invalid_reason',
      `unknown revocation reason '${v}' (use ${ACCEPTED_REVOCATION_REASONS.join(', ')})`,
    );
  }
  assertAcceptedRevocationReason(r);
  return r;
});

/** a parser for an option with fixed values: `unknown <what> 'x' (use a, b or c)` otherwise */
export function choiceOption<T extends string>(what: string, values: readonly T[]): (v: string) => T {
  const list = `${values.slice(0, -1).join(', ')} or ${values[values.length - 1]!}`;
  return offering(values, (v: string): T => {
    if (!(values as readonly string[]).includes(v))
      throw new PkiError('input.invalid', `unknown ${what} '${v}' (use ${list})`);
    return v as T;
  });
}

/** `--backend`: the key backends a CA key (X.509 or SSH) may live in */
export const backendOption = choiceOption('key backend', KEY_BACKENDS);

/** `--status` of the certificate lists and selections */
export const certificateStatusOption = choiceOption('status', CERTIFICATE_STATUSES);

/** `--sort` of `cert list`: the orders the API's certificate list takes */
export const certificateSortOption = choiceOption('sort', CERTIFICATE_SORTS);

export function intOption(v: string): number {
  if (!/^\d+$/.test(v)) throw new PkiError('input.invalid', `expected a non-negative integer, got '${v}'`);
  return Number(v);
}

/** `--san dns:x`, `ip:…`, `uri:…`, `email:…`, or a bare value (type guessed). */
export function parseSans(values: string[] | undefined): SanLists | undefined {
  if (!values || values.length === 0) return undefined;
  return classifySans(values.flatMap((v) => v.split(','))) ?? {};
}

const FILE_ERRORS: Record<string, string> = {
  ENOENT: 'no such file or directory',
  EACCES: 'permission denied',
  EPERM: 'operation not permitted',
  EISDIR: 'is a directory',
  ENOTDIR: 'a part of the path is not a directory',
  EROFS: 'read-only file system',
  ENOSPC: 'no space left on the device',
};

/** a file error in words, its code kept for searching (`no such file or directory (ENOENT)`) */
export function fileErrorReason(e: unknown): string {
  const code = (e as NodeJS.ErrnoException).code;
  const words = code === undefined ? undefined : FILE_ERRORS[code];
  if (words !== undefined) return `${words} (${code})`;
  return code ?? (e as Error).message;
}

export function readInputFile(path: string, what: string): string {
  try {
    return readFileOrStdin(path);
  } catch (e) {
    throw new PkiError('input.invalid', `cannot read ${what} file '${path}': ${fileErrorReason(e)}`);
  }
}

/**
 * `pkim cert revoke`'s input checked before anything opens (both modes: remote-commands.ts): a <ref> or --pem, not
 * both, --ca only with --pem; the PEM text read from the file (or stdin), else undefined
 */
export function revokedPem(ref: string | undefined, o: { pem?: string; ca?: string }): string | undefined {
  if (ref !== undefined && o.pem !== undefined) {
    throw new PkiError('input.invalid', 'give a certificate <ref> or --pem <file>, not both');
  }
  if (ref === undefined && o.pem === undefined) {
    throw new PkiError('input.invalid', 'give the certificate to revoke: <ref> (id, serial or fingerprint) or --pem');
  }
  if (o.pem === undefined) {
    if (o.ca !== undefined) throw new PkiError('input.invalid', '--ca names the issuer of a --pem certificate only');
    return undefined;
  }
  return readInputFile(o.pem, 'certificate');
}

/** a profile file of `pkim profile create|update --file` (`-`: stdin): one JSON object of the profile's fields */
export function readProfileFile(path: string): Record<string, unknown> {
  const raw = readInputFile(path, 'profile');
  let data: unknown;
  try {
    data = JSON.parse(raw);
  } catch (e) {
    // one line: JSON.parse quotes the text it failed on, newlines and all
    throw new PkiError('profile.invalid', `${path}: not JSON: ${(e as Error).message.replace(/\s+/g, ' ')}`);
  }
  if (data === null || typeof data !== 'object' || Array.isArray(data)) {
    throw new PkiError('profile.invalid', `${path} must hold one JSON object: the profile's fields (docs/profiles.md)`);
  }
  return data as Record<string, unknown>;
}

/**
 * `cert renew --csr F --out-key K`: the key is the CSR's and stays with its holder; `--reuse-key --out-key K`: the key
 * is the old certificate's, the holder has it — nothing to write either way (a usage error, not a silent no-op)
 */
export function assertNoKeyOutWithCsr(o: { csr?: unknown; reuseKey?: unknown; outKey?: unknown }): void {
  if (o.outKey === undefined) return;
  if (o.csr !== undefined)
    throw new PkiError(
      'input.invalid',
      "--out-key with --csr: the new key is the CSR's, not made here (drop --out-key)",
    );
  if (o.reuseKey === true)
    throw new PkiError(
      'input.invalid',
      "--out-key with --reuse-key: the key is the old certificate's, not made here (drop --out-key)",
    );
}
