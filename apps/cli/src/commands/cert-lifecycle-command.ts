import { readFileSync } from 'node:fs';
import type { Command } from 'commander';
import { PkiError } from '@pkim/shared';
import type { CertificateExportFormat, ExportFile, TruststoreExportFormat } from '@pkim/authority';
import type { CliContext } from '../cli-context';
import { durationOption, keyTypeOption, parseSans, collect, readInputFile, writeOutputFile } from '../cli-parsers';
import { offering } from '../option-values';
import type { KeyType } from '@pkim/shared';
import { registerCertBatchCommands, registerCertBulkCommand } from './cert-bulk-command';

const CERT_FORMATS = ['pem', 'der', 'chain', 'p7b', 'p7b-pem', 'p12', 'jks', 'key', 'zip'];
const TRUST_FORMATS = ['pem', 'p7b', 'p7b-pem', 'p12', 'jks'];

/** The password in a file (first line, trailing newline removed); never a command-line argument. */
export function readPasswordFile(path: string | undefined): string | undefined {
  if (path === undefined) return undefined;
  let text: string;
  try {
    text = readFileSync(path === '-' ? 0 : path, 'utf8');
  } catch (e) {
    throw new PkiError(
      'input.invalid',
      `cannot read password file '${path}': ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`,
    );
  }
  return text.split(/\r?\n/)[0] ?? '';
}

function formatOption(allowed: string[]) {
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
function writeExport(ctx: CliContext, f: ExportFile, out: string | undefined): void {
  const path = out ?? f.fileName;
  writeOutputFile(path, f.body, f.containsPrivateKey ? 0o600 : 0o644);
  if (f.warning) process.stderr.write(`warning: ${f.warning}\n`);
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

/** `pkim cert export`, `pkim ca truststore` (issue #16: everyday certificate work). */
export function registerCertLifecycleCommands(program: Command, ctx: CliContext): void {
  const cert = program.commands.find((c) => c.name() === 'cert') ?? program.command('cert');
  const ca = program.commands.find((c) => c.name() === 'ca') ?? program.command('ca');

  cert
    .command('export <ref>')
    .description(
      'export a certificate: pem, der (.cer), chain, p7b (DER) / p7b-pem, p12, jks, key (encrypted PKCS#8), zip ' +
        '(all); p12/jks/zip include the private key when the server kept it (--keep-key)',
    )
    .requiredOption('--format <format>', CERT_FORMATS.join('|'), formatOption(CERT_FORMATS))
    .option('--password-file <file>', 'file holding the export password (p12, jks, key; zip: adds p12/jks/key)')
    .option('--legacy', 'PKCS#12/PKCS#8 with 3DES + SHA-1 for old appliances (default AES-256-CBC + PBKDF2-SHA256)')
    .option('--no-root', 'chain / p7b: leave out the self-signed root')
    .option('--no-key', 'p12 / jks / zip: leave out the private key even when the server holds it')
    .option('--out <file>', 'output file (default: the suggested file name in the current directory)')
    .action(
      async (
        ref: string,
        o: { format: string; passwordFile?: string; legacy?: boolean; root: boolean; key: boolean; out?: string },
      ) => {
        const a = await ctx.openAuthority();
        const f = await a.exports.certificate(
          ref,
          {
            format: o.format as CertificateExportFormat,
            password: readPasswordFile(o.passwordFile),
            legacy: o.legacy,
            includeRoot: o.root,
            includeKey: o.key,
          },
          ctx.actor,
        );
        writeExport(ctx, f, o.out);
      },
    );

  cert
    .command('renew <ref>')
    .description(
      'renew a certificate: same subject, SANs, profile and CA; a new server-generated key by default (or --csr), ' +
        'the old key only with --reuse-key where the profile allows it',
    )
    .option(
      '--validity <duration>',
      'lifetime of the new certificate, e.g. 90d (default: the profile default)',
      durationOption,
    )
    .option('--ttl <duration>', 'same as --validity', durationOption)
    .option('--san <san>', 'new SANs (repeatable; default: those of the old certificate)', collect)
    .option('--revoke-old', 'revoke the old certificate as superseded, in the same transaction')
    .option('--csr <file>', 'the new key as a CSR (PEM; - for stdin): its subject is replaced by the old one')
    .option('--reuse-key', 'keep the old key (profile allowKeyReuse, and the server kept the key)')
    .option('--key-type <type>', 'type of the new key (default: the old key type)', keyTypeOption)
    .option('--keep-key', 'keep the new key on the server for exports (default: when the old one was kept)')
    .option('--out-cert <file>', 'write the new certificate PEM here')
    .option('--out-key <file>', 'write the new private key PEM here (mode 0600)')
    .action(
      async (
        ref: string,
        o: {
          validity?: number;
          ttl?: number;
          san?: string[];
          revokeOld?: boolean;
          csr?: string;
          reuseKey?: boolean;
          keyType?: KeyType;
          keepKey?: boolean;
          outCert?: string;
          outKey?: string;
        },
      ) => {
        const a = await ctx.openAuthority();
        const r = await a.renewal.renew(
          ref,
          {
            validityMs: o.validity ?? o.ttl,
            sans: parseSans(o.san),
            revokeOld: o.revokeOld,
            csrPem: o.csr !== undefined ? readInputFile(o.csr, 'CSR') : undefined,
            reuseKey: o.reuseKey,
            keyType: o.keyType,
            keepKey: o.keepKey,
          },
          ctx.actor,
        );
        if (o.outCert) writeOutputFile(o.outCert, r.issued.certificatePem);
        if (o.outKey && r.issued.privateKeyPem) writeOutputFile(o.outKey, r.issued.privateKeyPem, 0o600);
        const { toRenewalDto } = await ctx.contract();
        const dto = toRenewalDto(r);
        ctx.output(
          o.outKey ? { ...dto, privateKeyPem: undefined } : dto,
          () =>
            `renewed ${r.previous.serialHex} → ${r.issued.certificate.serialHex} (${r.issued.certificate.id})` +
            (r.previousRevoked ? `; ${r.previous.serialHex} revoked (superseded)` : ''),
        );
      },
    );

  registerCertBulkCommand(cert, ctx);
  registerCertBatchCommands(cert, ctx);

  ca.command('truststore <ca>')
    .description('export the chain of a CA (the CA up to its root) as a truststore: pem, p7b, p7b-pem, p12, jks')
    .requiredOption('--format <format>', TRUST_FORMATS.join('|'), formatOption(TRUST_FORMATS))
    .option('--password-file <file>', 'file holding the keystore password (p12, jks)')
    .option('--legacy', 'PKCS#12 with 3DES + SHA-1 for old Java versions')
    .option('--out <file>', 'output file (default: the suggested file name)')
    .action(async (caRef: string, o: { format: string; passwordFile?: string; legacy?: boolean; out?: string }) => {
      const a = await ctx.openAuthority();
      const f = await a.exports.truststore(
        caRef,
        { format: o.format as TruststoreExportFormat, password: readPasswordFile(o.passwordFile), legacy: o.legacy },
        ctx.actor,
      );
      writeExport(ctx, f, o.out);
    });
}
