import { readFileOrStdin } from './cli-io';
import {
  PkiError,
  certificateBaseName,
  certificateExportFileName,
  safeBaseName,
  truststoreExportFileName,
  type CertificateExportFormat,
  type TruststoreExportFormat,
} from '@pkim/shared';
import type { ExportFile } from '@pkim/authority';
import type { CliContext } from './cli-context';
import { fileErrorReason } from './cli-parsers';
import { assertOutputFree, certExportHoldsKey, writeOutputFile } from './output-files';
import { offering } from './option-values';

// What the export commands share (`pkim cert export`, `pkim ca truststore`, bulk keys, notification secrets): a
// module of its own, so `pkim ca …` does not load the certificate lifecycle commands.

export const CERT_FORMATS = ['pem', 'der', 'chain', 'p7b', 'p7b-pem', 'p12', 'jks', 'key', 'zip'];
export const TRUST_FORMATS = ['pem', 'p7b', 'p7b-pem', 'p12', 'jks'];

/** The password in a file (first line, trailing newline removed); never a command-line argument. */
export function readPasswordFile(path: string | undefined): string | undefined {
  if (path === undefined) return undefined;
  let text: string;
  try {
    text = readFileOrStdin(path);
  } catch (e) {
    throw new PkiError('input.invalid', `cannot read password file '${path}': ${fileErrorReason(e)}`);
  }
  return text.split(/\r?\n/)[0] ?? '';
}

export function formatOption(allowed: string[]) {
  return offering(allowed, (v: string): string => {
    const f = v.toLowerCase();
    const alias: Record<string, string> = {
      crt: 'der',
      cer: 'der',
      pfx: 'p12',
      pkcs12: 'p12',
      pkcs7: 'p7b',
      pkcs8: 'key',
    };
    const out = alias[f] ?? f;
    if (!allowed.includes(out))
      throw new PkiError('input.invalid', `unknown format '${v}' (use ${allowed.join(', ')})`);
    return out;
  });
}

/** writes an export file (0600 when it holds a key) and reports it; the key warning goes to stderr */
export function writeExport(ctx: CliContext, f: ExportFile, out: string | undefined): void {
  const path = out ?? f.fileName;
  writeOutputFile(path, f.body, f.containsPrivateKey ? 0o600 : 0o644);
  if (f.warning) ctx.io.stderr.write(`warning: ${f.warning}\n`);
  ctx.output(
    {
      file: path,
      fileName: f.fileName,
      mediaType: f.mediaType,
      bytes: f.body.length,
      containsPrivateKey: f.containsPrivateKey,
      ...(f.warning ? { warning: f.warning } : {}),
    },
    () => `written: ${path} (${f.mediaType}, ${f.body.length} bytes${f.containsPrivateKey ? ', PRIVATE KEY' : ''})`,
  );
}

/**
 * `cert export` without --out writes the suggested file name (`<cn>.p12`…) in the current directory: the name is known
 * before the export (from the certificate), so the file is checked before anything is exported or audited
 */
export function checkedDefaultExportPath(
  o: { format: string; passwordFile?: string; root?: boolean; key?: boolean; force?: boolean },
  certificate: { commonName: string | null; serial: string },
): string {
  const base = certificateBaseName(certificate.commonName, certificate.serial);
  const path = certificateExportFileName(o.format as CertificateExportFormat, base, o.root !== false);
  assertOutputFree(path, certExportHoldsKey(o) ? 'key' : 'public', o.force);
  return path;
}

/**
 * `ca truststore` without --out writes the suggested file name (`<ca name>.pem`, `.truststore.p12`…) in the current
 * directory: known from the CA alone, so the file is checked before the password file is read or anything exported
 */
export function checkedDefaultTruststorePath(
  o: { format: string; force?: boolean },
  ca: { id: string; name: string },
): string {
  const path = truststoreExportFileName(o.format as TruststoreExportFormat, safeBaseName(ca.name, ca.id));
  assertOutputFree(path, 'public', o.force);
  return path;
}
