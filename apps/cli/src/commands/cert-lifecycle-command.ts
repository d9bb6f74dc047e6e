import type { Command } from 'commander';
import type { CertificateExportFormat } from '@pkim/authority';
import type { CliContext } from '../cli-context';
import {
  assertNoKeyOutWithCsr,
  durationOption,
  keyTypeOption,
  parseSans,
  collect,
  readInputFile,
} from '../cli-parsers';
import { writeOutputFile } from '../output-files';
import { CERT_FORMATS, checkedDefaultExportPath, formatOption, readPasswordFile, writeExport } from '../export-output';
import type { KeyType } from '@pkim/shared';
import { registerCertBatchCommands, registerCertBulkCommand } from './cert-bulk-command';

/** `pkim cert export`, `renew`, `bulk`, `batch…` (issue #16: everyday certificate work). */
export function registerCertLifecycleCommands(program: Command, ctx: CliContext): void {
  const cert = program.commands.find((c) => c.name() === 'cert') ?? program.command('cert');

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
        o: {
          format: string;
          passwordFile?: string;
          legacy?: boolean;
          root: boolean;
          key: boolean;
          out?: string;
          force?: boolean;
        },
      ) => {
        const a = await ctx.openAuthority({ printsWarnings: ['keyExport'] });
        let out = o.out;
        if (out === undefined) {
          const { certificate } = await a.certificates.get(ref);
          out = checkedDefaultExportPath(o, { commonName: certificate.commonName, serial: certificate.serialHex });
        }
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
        writeExport(ctx, f, out);
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
    .option('--out-key <file>', 'write the new private key PEM here (mode 0600; an existing file: refused)')
    .option('--force', 'replace an existing --out-key file (a renewal in place)')
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
          force?: boolean;
        },
      ) => {
        assertNoKeyOutWithCsr(o);
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
}
