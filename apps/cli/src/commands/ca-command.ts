import type { Command } from 'commander';
import { PkiError, type KeyType, type LeafNotAfterBehavior } from '@pkim/shared';
import type { CaRow, TruststoreExportFormat } from '@pkim/authority';
import type { CliContext } from '../cli-context';
import {
  collect,
  durationOption,
  intOption,
  keyTypeOption,
  readInputFile,
  reasonOption,
  backendOption,
} from '../cli-parsers';
import { writeOutputFile } from '../output-files';
import { casTable, date, keyValues } from '../format';
import {
  caDeletedText,
  caRenewedText,
  caRotatedText,
  crossRevokedText,
  defaultName,
  leafNotAfterText,
  writeCaFiles,
} from '../command-outputs';
import {
  TRUST_FORMATS,
  checkedDefaultTruststorePath,
  formatOption,
  readPasswordFile,
  writeExport,
} from '../export-output';

function caDetails(ca: CaRow): string {
  const nc = ca.nameConstraints;
  const ncText = nc
    ? Object.entries(nc)
        .filter((e): e is [string, string[]] => Array.isArray(e[1]) && e[1].length > 0)
        .map(([k, v]) => `${k}=${v.join(' ')}`)
        .join('; ')
    : '';
  return keyValues([
    ['id', ca.id],
    ['name', ca.name],
    ['status', ca.status],
    ['subject', ca.subjectDn],
    ['issuer', ca.issuerDn],
    ['parent', ca.parentId],
    ['serial', ca.serialHex],
    ['key', `${ca.keyType} (${ca.keyBackend}) ${ca.keyUri}`],
    ['path length', ca.pathLen ?? 'unlimited'],
    ['name constraints', ncText],
    ['valid', `${date(ca.notBefore)} → ${date(ca.notAfter)}`],
    ['sha256', ca.fingerprintSha256],
    ['crl number', ca.crlNumber],
    ['leaf past CA end', ca.leafNotAfterBehavior],
    ['CRL URL', ca.urls?.crlDistributionPoints.join(' ')],
    ['OCSP URL', ca.urls?.ocspUrls.join(' ')],
    ['AIA URL', ca.urls?.caIssuersUrls.join(' ')],
    ['revoked', ca.revokedAt ? `${date(ca.revokedAt)} (${ca.revocationReason})` : ''],
    ['predecessor', ca.predecessorId],
    [
      'history',
      (ca.certificateHistory ?? [])
        .map((h) => `${h.kind} ${h.serialHex} (${date(h.notBefore)} → ${date(h.notAfter)})`)
        .join('; '),
    ],
  ]);
}

interface CreateOpts {
  name?: string;
  subject: string;
  keyType: KeyType;
  parent?: string;
  validity?: number;
  pathLen?: number;
  backend?: string;
  permitDns?: string[];
  excludeDns?: string[];
  permitIp?: string[];
  excludeIp?: string[];
  permitUri?: string[];
  excludeUri?: string[];
  permitEmail?: string[];
  excludeEmail?: string[];
  external?: boolean;
  csrOut?: string;
  out?: string;
}

export function registerCaCommand(program: Command, ctx: CliContext): void {
  const ca = program.command('ca').description('certificate authorities');

  ca.command('create')
    .description(
      'create a root CA, an intermediate signed by --parent, or (--external) an intermediate CSR for an outside CA',
    )
    .requiredOption('--subject <dn>', 'subject DN, e.g. "CN=Example Root CA,O=Example,C=US"')
    .option('--name <name>', 'unique CA name (default: from the CN)')
    .option(
      '--key-type <type>',
      'rsa-2048|rsa-3072|rsa-4096|ec-p256|ec-p384|ed25519',
      keyTypeOption,
      'ec-p384' as KeyType,
    )
    .option('--parent <ca>', 'parent CA id or name (creates an intermediate signed here)')
    .option(
      '--validity <duration>',
      'lifetime, e.g. 10y, 1825d (default: profile default); refused with --external (the outside CA sets it)',
      durationOption,
    )
    .option('--path-len <n>', 'basicConstraints pathLenConstraint', intOption)
    .option('--backend <name>', 'key backend: software|pkcs11|kmip', backendOption, 'software')
    .option('--permit-dns <domain>', 'permitted DNS subtree (repeatable), e.g. .example.com', collect)
    .option('--exclude-dns <domain>', 'excluded DNS subtree (repeatable)', collect)
    .option('--permit-ip <cidr>', 'permitted IP range (repeatable), e.g. 10.0.0.0/8', collect)
    .option('--exclude-ip <cidr>', 'excluded IP range (repeatable)', collect)
    .option('--permit-uri <host>', 'permitted URI host subtree (repeatable)', collect)
    .option('--exclude-uri <host>', 'excluded URI host subtree (repeatable)', collect)
    .option('--permit-email <domain>', 'permitted email domain/mailbox (repeatable)', collect)
    .option('--exclude-email <domain>', 'excluded email domain/mailbox (repeatable)', collect)
    .option('--external', 'generate the key here and export a CSR for an external CA (import with `ca import`)')
    .option('--csr-out <file>', 'with --external: write the CSR here')
    .option('--out <file>', 'write the CA certificate PEM here')
    .action(async (o: CreateOpts) => {
      const a = await ctx.openAuthority();
      const nameConstraints = {
        permittedDns: o.permitDns,
        excludedDns: o.excludeDns,
        permittedIp: o.permitIp,
        excludedIp: o.excludeIp,
        permittedUri: o.permitUri,
        excludedUri: o.excludeUri,
        permittedEmail: o.permitEmail,
        excludedEmail: o.excludeEmail,
      };
      const input = {
        name: o.name ?? defaultName(o.subject),
        subject: o.subject,
        keyType: o.keyType,
        validityMs: o.validity,
        pathLen: o.pathLen,
        backend: o.backend as 'software' | 'pkcs11' | 'kmip',
        nameConstraints,
      };
      if (o.external) {
        if (o.parent) throw new PkiError('input.invalid', '--external and --parent exclude each other');
        const r = await a.cas.createExternalIntermediate(input, ctx.actor);
        if (o.csrOut) writeOutputFile(o.csrOut, r.csrPem);
        const { toCaExternalDto } = await ctx.contract();
        ctx.output(
          toCaExternalDto(r),
          () => `${caDetails(r.ca)}\n\n${o.csrOut ? `CSR written to ${o.csrOut}` : r.csrPem}`,
        );
        return;
      }
      const v = await a.cas.create({ ...input, parentId: o.parent }, ctx.actor);
      if (o.out && v.certificatePem) writeOutputFile(o.out, v.certificatePem);
      const { toCaViewDto } = await ctx.contract();
      ctx.output(toCaViewDto(v), () => caDetails(v.ca));
    });

  ca.command('list')
    .description('list CAs')
    .option(
      '--expiring-within <duration>',
      'only CAs ending within, e.g. 30d or 720h, soonest first; those already expired are listed too',
      durationOption,
    )
    .action(async (o: { expiringWithin?: number }) => {
      const a = await ctx.openAuthority();
      const rows = await a.cas.list(
        o.expiringWithin === undefined ? undefined : { expiringWithinMs: o.expiringWithin },
      );
      // the contract's mappers (and zod) load only for --json
      const { toCaDto } = ctx.options().json ? await ctx.contract() : { toCaDto: () => null };
      ctx.output({ items: rows.map(toCaDto), nextCursor: null }, () => casTable(rows, a.clock.now()));
    });

  ca.command('show <ca>')
    .description('show a CA (id or name)')
    .action(async (ref: string) => {
      const a = await ctx.openAuthority();
      const v = await a.cas.get(ref, ctx.actor);
      const { toCaViewDto } = await ctx.contract();
      ctx.output(toCaViewDto(v), () => caDetails(v.ca));
    });

  ca.command('export <ca>')
    .description('print the CA certificate PEM (--chain: up to the root)')
    .option('--chain', 'include the issuer chain up to the root')
    .option('--out <file>', 'write to a file instead of stdout')
    .action(async (ref: string, o: { chain?: boolean; out?: string }) => {
      const a = await ctx.openAuthority();
      const v = await a.cas.get(ref, ctx.actor);
      const pem = o.chain ? v.chainPem : (v.certificatePem ?? '');
      if (!pem) throw new PkiError('ca.not_active', `CA ${v.ca.name} has no certificate yet`);
      if (o.out) writeOutputFile(o.out, pem);
      ctx.output({ id: v.ca.id, pem }, () => (o.out ? `written to ${o.out}` : pem));
    });

  ca.command('import <ca>')
    .description(
      'import the certificate an external CA signed for a pending (--external) CA: its key, the CSR subject and ' +
        'CA:TRUE are checked, and its signature with a CA here (it becomes the parent) or with --issuer-cert',
    )
    .requiredOption('--cert <file>', 'PEM certificate file')
    .option(
      '--issuer-cert <file>',
      "the outside issuer's CA certificate, or its chain up to the outside root (PEM), when it is not a CA here: " +
        'each link is verified, and the chain is stored and served after the CA',
    )
    .action(async (ref: string, o: { cert: string; issuerCert?: string }) => {
      const a = await ctx.openAuthority();
      const issuerCertificatePem = o.issuerCert ? readInputFile(o.issuerCert, 'issuer certificate') : undefined;
      const v = await a.cas.importCertificate(ref, readInputFile(o.cert, 'certificate'), ctx.actor, {
        issuerCertificatePem,
      });
      const { toCaViewDto } = await ctx.contract();
      ctx.output(toCaViewDto(v), () => caDetails(v.ca));
    });

  ca.command('import-existing')
    .description(
      'bring an existing CA (Vault, step-ca, openssl scripts) with its private key: the key must be the ' +
        "certificate's, CA:TRUE, keyCertSign, not expired; its issuer itself (a root), a CA here (its parent) or " +
        '--issuer-cert. The key goes to --backend: software (encrypted under the KEK), pkcs11 (created on the ' +
        'token, non-extractable) or kmip (registered)',
    )
    .requiredOption('--cert <file>', 'the CA certificate (PEM)')
    .requiredOption('--key <file>', 'its private key: PEM PKCS#8 (optionally encrypted), PKCS#1 or SEC1')
    .option('--key-password-file <file>', 'the password of an encrypted key (its first line)')
    .option(
      '--issuer-cert <file>',
      "the outside issuer's CA certificate, or its chain up to the outside root (PEM), when it is not a CA here",
    )
    .option('--name <name>', 'unique CA name (default: from the CN)')
    .option('--backend <name>', 'key backend keeping the key: software (default), pkcs11 or kmip', backendOption)
    .option(
      '--allow-missing-key-usage',
      'accept a CA certificate without a keyUsage extension (strict verifiers refuse the certificates it signs)',
    )
    .action(
      async (o: {
        cert: string;
        key: string;
        keyPasswordFile?: string;
        issuerCert?: string;
        name?: string;
        backend?: string;
        allowMissingKeyUsage?: boolean;
      }) => {
        const a = await ctx.openAuthority();
        const v = await a.cas.importExisting(
          {
            certificatePem: readInputFile(o.cert, 'certificate'),
            keyPem: readInputFile(o.key, 'private key'),
            keyPassword: readPasswordFile(o.keyPasswordFile),
            issuerCertificatePem: o.issuerCert ? readInputFile(o.issuerCert, 'issuer certificate') : undefined,
            name: o.name,
            backend: o.backend as 'software' | 'pkcs11' | 'kmip' | undefined,
            ...(o.allowMissingKeyUsage === true ? { allowMissingKeyUsage: true } : {}),
          },
          ctx.actor,
        );
        const { toCaViewDto } = await ctx.contract();
        ctx.output(toCaViewDto(v), () => caDetails(v.ca));
      },
    );

  for (const [cmd, status] of [
    ['disable', 'disabled'],
    ['enable', 'active'],
  ] as const) {
    ca.command(`${cmd} <ca>`)
      .description(`${cmd} a CA (a disabled CA signs nothing)`)
      .action(async (ref: string) => {
        const a = await ctx.openAuthority();
        const row = await a.cas.setStatus(ref, status, ctx.actor);
        const { toCaDto } = await ctx.contract();
        ctx.output(toCaDto(row), () => `CA ${row.name} (${row.id}) is now ${row.status}`);
      });
  }

  ca.command('rename <ca> <new-name>')
    .description(
      'give a CA a new name (its id, certificate, keys and everything bound to it by id stay; a name taken: refused)',
    )
    .action(async (ref: string, name: string) => {
      const a = await ctx.openAuthority();
      const row = await a.cas.rename(ref, name, ctx.actor);
      const { toCaDto } = await ctx.contract();
      ctx.output(toCaDto(row), () => `CA ${row.id} is now named ${row.name}`);
    });

  ca.command('set-leaf-not-after <ca> <behavior>')
    .description(
      "what a leaf asked past the CA's notAfter gets, on every channel: err (refused, lint.lifetime_beyond_issuer), " +
        "truncate (cut at the CA's notAfter) or permit (signed as asked); shown by ca show",
    )
    .action(async (ref: string, behavior: string) => {
      const a = await ctx.openAuthority();
      const row = await a.cas.setLeafNotAfterBehavior(ref, behavior as LeafNotAfterBehavior, ctx.actor);
      const { toCaDto } = await ctx.contract();
      ctx.output(toCaDto(row), () => leafNotAfterText(row.name, row.id, row.leafNotAfterBehavior));
    });

  ca.command('set-urls <ca>')
    .description(
      'set the CRL, OCSP and CA-issuer URLs of the certificates the CA issues from now on (stored with the CA: ' +
        'every process that signs for it uses them: a server on the same SQLite at once, on PostgreSQL within 1 s)',
    )
    .option('--base <url>', 'derive all three: <url>/crl/<caId>.crl, <url>/ocsp, <url>/aia/<caId>.crt')
    .option('--crl <url>', 'CRL distribution point (repeatable; replaces the derived one)', collect)
    .option('--ocsp <url>', 'OCSP responder URL (repeatable)', collect)
    .option('--aia <url>', 'CA issuers URL (repeatable)', collect)
    .option('--clear', 'remove them (certificates then carry none)')
    .action(
      async (ref: string, o: { base?: string; crl?: string[]; ocsp?: string[]; aia?: string[]; clear?: boolean }) => {
        if (o.clear && (o.base || o.crl || o.ocsp || o.aia)) {
          throw new PkiError('input.invalid', '--clear excludes --base, --crl, --ocsp and --aia');
        }
        const a = await ctx.openAuthority();
        const row = await a.cas.setUrls(
          ref,
          { base: o.base, crlDistributionPoints: o.crl, ocspUrls: o.ocsp, caIssuersUrls: o.aia, clear: o.clear },
          ctx.actor,
        );
        const { toCaDto } = await ctx.contract();
        ctx.output(toCaDto(row), () =>
          row.urls
            ? keyValues([
                ['CA', `${row.name} (${row.id})`],
                ['CRL', row.urls.crlDistributionPoints.join(' ')],
                ['OCSP', row.urls.ocspUrls.join(' ')],
                ['CA issuers', row.urls.caIssuersUrls.join(' ')],
              ])
            : `CA ${row.name} (${row.id}): URLs removed`,
        );
      },
    );

  ca.command('revoke <ca>')
    .description('revoke a CA and everything it issued')
    .option('--reason <reason>', 'RFC 5280 reason', reasonOption, 'cACompromise')
    .action(async (ref: string, o: { reason: ReturnType<typeof reasonOption> }) => {
      const a = await ctx.openAuthority();
      const r = await a.cas.revokeCa(ref, o.reason, ctx.actor);
      const { toCaDto } = await ctx.contract();
      ctx.output(
        { ca: toCaDto(r.ca), revokedCertificates: r.revokedCertificates, revokedCas: r.revokedCas },
        () =>
          `CA ${r.ca.name} (${r.ca.id}) revoked (${o.reason}); also revoked ${r.revokedCertificates} ` +
          `certificate(s) and ${r.revokedCas} subordinate CA(s)`,
      );
    });

  ca.command('revoke-cross <ca>')
    .description(
      "revoke a rotated root's cross certificate on its own (<ca>: the successor, which stays valid): the old " +
        "root's CRL lists it and its OCSP answers revoked, so relying parties that trust only the old root stop " +
        'reaching the new one through it',
    )
    .option('--reason <reason>', 'RFC 5280 reason', reasonOption, 'superseded')
    .action(async (ref: string, o: { reason: ReturnType<typeof reasonOption> }) => {
      const a = await ctx.openAuthority();
      const v = await a.cas.revokeCross(ref, o.reason, ctx.actor);
      const { toCaViewDto } = await ctx.contract();
      const dto = toCaViewDto(v);
      ctx.output(dto, () => crossRevokedText(dto));
    });

  ca.command('renew <ca>')
    .description(
      "a new certificate for the CA's own key: same subject, key and SKI, a new serial and validity (signed by its " +
        'parent, which must be active, or self-signed for a root; an expired CA too); what it issued before ' +
        'verifies under both',
    )
    .option(
      '--validity <duration>',
      "lifetime, e.g. 10y, 1825d (default: profile default; an intermediate's cut at its parent's end)",
      durationOption,
    )
    .option('--out <file>', 'write the new CA certificate PEM here')
    .action(async (ref: string, o: { validity?: number; out?: string }) => {
      const a = await ctx.openAuthority();
      const v = await a.cas.renew(ref, { validityMs: o.validity }, ctx.actor);
      const { toCaViewDto } = await ctx.contract();
      const dto = toCaViewDto(v);
      writeCaFiles(dto, o.out);
      ctx.output(dto, () => caRenewedText(dto, o.out));
    });

  ca.command('rotate <ca>')
    .description(
      'a successor CA with a new key and the same subject (or --subject), named --name (default <name>-2): a ' +
        "root's is self-signed with a cross certificate signed by the old root; an intermediate's signed by its " +
        'parent. The old CA stays active (its CRL and OCSP too) until disabled (--disable-old)',
    )
    .option('--name <name>', 'the successor CA name (default: <name>-2, -3, … the first free)')
    .option('--subject <dn>', "the successor's subject DN (default: the old CA's)")
    .option(
      '--key-type <type>',
      "rsa-2048|rsa-3072|rsa-4096|ec-p256|ec-p384|ed25519 (default: the old CA's)",
      keyTypeOption,
    )
    .option('--backend <name>', "key backend: software|pkcs11|kmip (default: the old CA's)", backendOption)
    .option('--validity <duration>', 'lifetime, e.g. 10y, 1825d (default: profile default)', durationOption)
    .option('--disable-old', 'disable the old CA in the same transaction')
    .option('--out <file>', "write the successor's certificate PEM here")
    .option('--cross-out <file>', "write a root's cross certificate (the new key signed by the old root) PEM here")
    .action(
      async (
        ref: string,
        o: {
          name?: string;
          subject?: string;
          keyType?: KeyType;
          backend?: string;
          validity?: number;
          disableOld?: boolean;
          out?: string;
          crossOut?: string;
        },
      ) => {
        const a = await ctx.openAuthority();
        const r = await a.cas.rotate(
          ref,
          {
            name: o.name,
            subject: o.subject,
            keyType: o.keyType,
            backend: o.backend as 'software' | 'pkcs11' | 'kmip' | undefined,
            validityMs: o.validity,
            disableOld: o.disableOld,
          },
          ctx.actor,
        );
        const { toCaRotateOutputDto } = await ctx.contract();
        const dto = toCaRotateOutputDto(r);
        writeCaFiles(dto, o.out, o.crossOut);
        ctx.output(dto, () => caRotatedText(dto, o.out, o.crossOut));
      },
    );

  ca.command('delete <ca>')
    .description('delete a revoked or expired CA, or a pending one (never imported)')
    .option('--destroy-key', 'also destroy its private key in the key backend')
    .action(async (ref: string, o: { destroyKey?: boolean }) => {
      const a = await ctx.openAuthority();
      const { keyDestroyed, keyInUseBy } = await a.cas.delete(ref, { destroyKey: o.destroyKey }, ctx.actor);
      ctx.output({ deleted: ref, keyDestroyed, ...(keyInUseBy && { keyInUseBy }) }, () =>
        caDeletedText(ref, !!o.destroyKey, keyDestroyed, keyInUseBy),
      );
    });

  ca.command('truststore <ca>')
    .description('export the chain of a CA (the CA up to its root) as a truststore: pem, p7b, p7b-pem, p12, jks')
    .requiredOption('--format <format>', TRUST_FORMATS.join('|'), formatOption(TRUST_FORMATS))
    .option('--password-file <file>', 'file holding the keystore password (p12, jks)')
    .option('--legacy', 'PKCS#12 with 3DES + SHA-1 for old Java versions')
    .option('--out <file>', 'output file (default: the suggested file name)')
    .action(
      async (
        caRef: string,
        o: { format: string; passwordFile?: string; legacy?: boolean; out?: string; force?: boolean },
      ) => {
        const a = await ctx.openAuthority();
        // without --out: the suggested name, checked (as --out is, in main.ts) before the export does anything
        const out = o.out ?? checkedDefaultTruststorePath(o, (await a.cas.get(caRef, ctx.actor)).ca);
        const f = await a.exports.truststore(
          caRef,
          { format: o.format as TruststoreExportFormat, password: readPasswordFile(o.passwordFile), legacy: o.legacy },
          ctx.actor,
        );
        writeExport(ctx, f, out);
      },
    );
}
