// Errors about what an input file holds name the file (`pkim ssh sign --public-key id.pub` with a bad id.pub):
// the authority parses the text it is given and cannot know where it came from, so the CLI adds the file's name to
// the one line it prints — locally and for the server's answer alike (main.ts, when the command fails).
import type { Command } from 'commander';
import { PkiError } from '@pkim/shared';

/** the error codes about an input's content, and the options whose file holds that input */
const CONTENT_ERRORS: Readonly<Record<string, readonly [option: string, what: string][]>> = {
  'ssh.invalid_public_key': [['publicKey', 'public key']],
  'csr.invalid': [['csr', 'CSR']],
  'csr.invalid_signature': [['csr', 'CSR']],
  'certificate.invalid': [
    ['cert', 'certificate'],
    ['issuerCert', 'issuer certificate'],
    ['pem', 'certificate'],
  ],
  'key.invalid': [['key', 'key']],
  'bulk.invalid_csv': [['csv', 'CSV']],
  'profile.invalid': [['file', 'profile']],
};

/**
 * `error` with the input file named (`public key file 'id.pub': expected …`; `- `: `… from stdin`) when its code is
 * about an input's content and exactly one file option of `command` can hold it; else `error` unchanged
 */
export function nameInputFile(error: unknown, command: Command | undefined): unknown {
  if (!(error instanceof PkiError) || command === undefined) return error;
  const o = command.opts<Record<string, unknown>>();
  const given = (CONTENT_ERRORS[error.code] ?? []).filter(([option]) => typeof o[option] === 'string');
  if (given.length !== 1) return error;
  const [option, what] = given[0]!;
  const path = o[option] as string;
  if (error.message.includes(`'${path}'`) || error.message.startsWith(`${path}:`)) return error;
  const where = path === '-' ? `${what} from stdin` : `${what} file '${path}'`;
  return new PkiError(error.code, `${where}: ${error.message}`, {
    kind: error.kind,
    retryable: error.retryable,
    details: error.details,
    cause: error,
  });
}
