import { createWriteStream } from 'node:fs';
import { once } from 'node:events';
import { finished } from 'node:stream/promises';
import type { Command } from 'commander';
import { PkiError, type KeyType } from '@pkim/shared';
import type { CertificateRow } from '@pkim/authority';
import type { CliWriter } from '../cli-io';
import type { CliContext } from '../cli-context';
import {
  collect,
  durationOption,
  intOption,
  keyTypeOption,
  parseSans,
  readInputFile,
  reasonOption,
  choiceOption,
  certificateStatusOption,
  certificateSortOption,
  fileErrorReason,
  revokedPem,
} from '../cli-parsers';
import { certDetails, certificateDeletedLine, certificatesTable, date } from '../format';
import { writeIssued, type IssueOutputs } from '../command-outputs';

interface RevokeOptions {
  reason: ReturnType<typeof reasonOption>;
  pem?: string;
  ca?: string;
}

/** the presented certificate revoked as REST/tRPC do (expired ones too, a revoked one refused): its record's id */
async function revokePresentedId(
  a: Awaited<ReturnType<CliContext['openAuthority']>>,
  input: { certificatePem: string; reason: RevokeOptions['reason']; ca?: string },
  actor: CliContext['actor'],
): Promise<string> {
  const r = await a.certificates.revokePresented({ ...input, allowExpired: true, refuseRevoked: true }, actor);
  if ('expired' in r) throw new Error('unreachable: allowExpired');
  return r.certificate.id;
}

const HOST_NAME = /^(\*\.)?([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)*[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$/i;

/** `--cn x` without `--san` on a TLS profile: the CN also becomes the DNS SAN when it is a host name */
export function defaultSans(
  profile: string,
  cn: string | undefined,
  sans: ReturnType<typeof parseSans>,
): ReturnType<typeof parseSans> {
  if (sans || !cn || !profile.startsWith('tls-') || !HOST_NAME.test(cn) || !cn.includes('.')) return sans;
  return { dns: [cn] };
}

/** writes a streamed report to a file or stdout, one chunk at a time (waits for 'drain': bounded memory) */
async function writeStream(body: AsyncIterable<string>, path: string | undefined, stdout: CliWriter): Promise<void> {
  const out: CliWriter = path ? createWriteStream(path, { mode: 0o644 }) : stdout;
  const failed = new Promise<never>((_, reject) =>
    out.once('error', (e: NodeJS.ErrnoException) =>
      reject(new PkiError('input.invalid', `cannot write '${path ?? 'stdout'}': ${fileErrorReason(e)}`)),
    ),
  );
  failed.catch(() => undefined); // observed below; no unhandled rejection when nothing waits on it
  for await (const chunk of body) {
    if (!out.write(chunk)) await Promise.race([once(out, 'drain'), failed]);
  }
  if (path) await Promise.race([finished(out.end()), failed]);
}

/** the CN of a DN written `CN=x,O=y` or `/CN=x/O=y` */
export function cnOf(subject: string): string | undefined {
  return /(?:^|[,/])\s*CN=([^,/]+)/i.exec(subject)?.[1]?.trim();
}

export function registerCertCommand(program: Command, ctx: CliContext): void {
  const cert = program.command('cert').description('certificates');

  cert
    .command('issue')
    .description('issue a certificate with a server-generated key (returned once; kept sealed only with --keep-key)')
    .requiredOption('--ca <ca>', 'issuing CA id or name')
    .option('--subject <dn>', 'subject DN, e.g. CN=www.example.com')
    .option('--cn <name>', 'common name (instead of --subject); a host name also becomes the DNS SAN of TLS profiles')
    .option('--profile <profile>', 'certificate profile', 'tls-server')
    .option('--san <san>', 'subject alternative name (repeatable): dns:…, ip:…, uri:…, email:… or bare', collect)
    .option('--key-type <type>', 'key type of the new key', keyTypeOption, 'ec-p256' as KeyType)
    .option('--ttl <duration>', 'lifetime, e.g. 90d, 24h (default: profile default)', durationOption)
    .option('--validity <duration>', 'same as --ttl', durationOption)
    .option('--keep-key', 'keep the key on the server (sealed) so `pkim cert export` can write PKCS#12/JKS later')
    .option('--out-cert <file>', 'write the certificate PEM here')
    .option('--out-key <file>', 'write the private key PEM here (mode 0600; an existing file: refused)')
    .option('--out-chain <file>', 'write the issuer chain PEM here')
    .option('--force', 'replace an existing --out-key file')
    .action(
      async (
        o: {
          ca: string;
          subject?: string;
          cn?: string;
          profile: string;
          san?: string[];
          keyType: KeyType;
          ttl?: number;
          validity?: number;
          keepKey?: boolean;
          force?: boolean;
        } & IssueOutputs,
      ) => {
        if (!o.subject && !o.cn) throw new PkiError('input.invalid', 'give --cn NAME or --subject DN');
        if (o.subject && o.cn) throw new PkiError('input.invalid', '--cn and --subject exclude each other');
        const subject = o.subject ?? `CN=${o.cn ?? ''}`;
        const a = await ctx.openAuthority({ printsWarnings: ['issuance'] });
        const issued = await a.issuance.issueWithKey(
          {
            caId: o.ca,
            subject,
            profile: o.profile,
            sans: defaultSans(o.profile, o.cn ?? cnOf(subject), parseSans(o.san)),
            keyType: o.keyType,
            validityMs: o.ttl ?? o.validity,
            keepKey: o.keepKey,
          },
          ctx.actor,
        );
        ctx.warn(issued.warnings);
        const written = writeIssued(o, issued);
        const keyShown = !o.outKey;
        const { toIssuedCertificateDto } = await ctx.contract();
        const dto = toIssuedCertificateDto(issued);
        ctx.output(
          { ...dto, privateKeyPem: keyShown ? issued.privateKeyPem : undefined, written },
          () =>
            certDetails(issued.certificate) +
            (written.length ? `\nwritten: ${written.join(', ')}` : '') +
            (keyShown ? `\n\n${issued.certificatePem}${issued.privateKeyPem}` : ''),
        );
      },
    );

  cert
    .command('sign')
    .description('issue a certificate from a CSR (proof of possession is checked)')
    .requiredOption('--ca <ca>', 'issuing CA id or name')
    .requiredOption('--csr <file>', 'PKCS#10 CSR (PEM or DER; - for stdin)')
    .option('--profile <profile>', 'certificate profile', 'tls-server')
    .option('--san <san>', 'override the SANs of the CSR (repeatable)', collect)
    .option('--subject <dn>', 'override the subject of the CSR')
    .option('--ttl <duration>', 'lifetime, e.g. 90d, 24h (default: profile default)', durationOption)
    .option('--validity <duration>', 'same as --ttl', durationOption)
    .option('--out-cert <file>', 'write the certificate PEM here')
    .option('--out <file>', 'same as --out-cert')
    .option('--out-chain <file>', 'write the issuer chain PEM here')
    .action(
      async (
        o: {
          ca: string;
          csr: string;
          profile: string;
          san?: string[];
          subject?: string;
          ttl?: number;
          validity?: number;
        } & IssueOutputs,
      ) => {
        const a = await ctx.openAuthority({ printsWarnings: ['issuance'] });
        const issued = await a.issuance.issueFromCsr(
          {
            caId: o.ca,
            csrPem: readInputFile(o.csr, 'CSR'),
            profile: o.profile,
            sans: parseSans(o.san),
            subject: o.subject,
            validityMs: o.ttl ?? o.validity,
          },
          ctx.actor,
        );
        ctx.warn(issued.warnings);
        const written = writeIssued(o, issued);
        const { toIssuedCertificateDto } = await ctx.contract();
        ctx.output(
          { ...toIssuedCertificateDto(issued), written },
          () =>
            certDetails(issued.certificate) +
            (written.length ? `\nwritten: ${written.join(', ')}` : `\n\n${issued.certificatePem}`),
        );
      },
    );

  cert
    .command('list')
    .description('list certificates')
    .option('--ca <ca>', 'only this CA (id or name)')
    .option('--status <status>', 'active|revoked|expired', certificateStatusOption)
    .option('--profile <profile>', 'only this profile')
    .option('--expiring-within <duration>', 'active certificates expiring within, e.g. 30d', durationOption)
    .option('--search <text>', 'common name, SAN (DNS, IP, email, URI) or serial, from the start of any label or part')
    .option(
      '--sort <order>',
      'issued_desc (newest first, the default), expiry_asc, expiry_desc, or revoked_desc: the revoked certificates ' +
        'only, the latest revocation first',
      certificateSortOption,
    )
    .option('--limit <n>', 'page size (max 1000)', intOption, 100)
    .option('--cursor <cursor>', 'continue after this page cursor')
    .option('--wide', 'more columns: id, full serial, profile, validity, subject, every SAN')
    .option(
      '--format <format>',
      'table (a page, default), or csv|json: an inventory report of EVERY matching certificate, all columns, ' +
        'streamed (--limit/--cursor do not apply)',
      choiceOption('format', ['table', 'csv', 'json']),
      'table',
    )
    .option('--out <file>', 'csv/json: write the report to this file instead of stdout')
    .action(
      async (o: {
        wide?: boolean;
        ca?: string;
        status?: string;
        profile?: string;
        expiringWithin?: number;
        search?: string;
        sort?: ReturnType<typeof certificateSortOption>;
        limit: number;
        cursor?: string;
        format: string;
        out?: string;
      }) => {
        const a = await ctx.openAuthority();
        await a.maintenance.markExpired();
        const filter = {
          caId: o.ca,
          status: o.status as CertificateRow['status'] | undefined,
          profile: o.profile,
          search: o.search,
          expiringBefore: o.expiringWithin !== undefined ? a.clock.now() + o.expiringWithin : undefined,
          sort: o.sort,
        };
        if (o.format === 'csv' || o.format === 'json') {
          const report = await a.inventory.report(filter, o.format, ctx.actor);
          await writeStream(report.body, o.out, ctx.io.stdout);
          if (o.out) ctx.output({ written: o.out }, () => `written: ${o.out}`);
          return;
        }
        const page = await a.certificates.list({ ...filter, limit: o.limit, cursor: o.cursor });
        const { pageOf, toCertificateDto } = await ctx.contract();
        const caNames = new Map((await a.cas.list()).map((c) => [c.id, c.name]));
        const now = a.clock.now();
        ctx.output(pageOf(page, toCertificateDto), () =>
          certificatesTable(page.items, { caNames, now, wide: o.wide, nextCursor: page.nextCursor }),
        );
      },
    );

  cert
    .command('show <ref>')
    .description('show a certificate (id, serial or SHA-256 fingerprint)')
    .option('--pem', 'print only the PEM')
    .action(async (ref: string, o: { pem?: boolean }) => {
      const a = await ctx.openAuthority();
      const view = await a.certificates.get(ref);
      const { certificate, certificatePem } = view;
      const { toCertificateDetailDto } = await ctx.contract();
      ctx.output(toCertificateDetailDto(view), () =>
        o.pem ? certificatePem : certDetails(certificate, view.renewedBy, view),
      );
    });

  cert
    .command('revoke [ref]')
    .description(
      'revoke a certificate (id, serial or fingerprint), or one given as PEM with --pem (stored here or not: a ' +
        "Vault no_store role's gets its record)",
    )
    .option(
      '--reason <reason>',
      'RFC 5280 reason: unspecified, keyCompromise, cACompromise, affiliationChanged, superseded, ' +
        'cessationOfOperation, privilegeWithdrawn',
      reasonOption,
      'unspecified',
    )
    .option('--pem <file>', "the certificate's PEM file instead of <ref> (- reads stdin)")
    .option('--ca <ca>', "with --pem: the issuer's id or name (default: the CAs named as its issuer)")
    .action(async (ref: string | undefined, o: RevokeOptions) => {
      const pem = revokedPem(ref, o);
      const a = await ctx.openAuthority();
      const id = pem
        ? await revokePresentedId(a, { certificatePem: pem, reason: o.reason, ca: o.ca }, ctx.actor)
        : (await a.certificates.revoke(ref!, o.reason, ctx.actor)).id;
      const view = await a.certificates.get(id);
      const row = view.certificate;
      const { toCertificateDetailDto } = await ctx.contract();
      ctx.output(
        toCertificateDetailDto(view),
        () => `certificate ${row.serialHex} revoked (${row.revocationReason}) at ${date(row.revokedAt)}`,
      );
    });

  cert
    .command('delete <ref>')
    .description('delete an expired certificate record (revoked ones stay until they expire; admin)')
    .action(async (ref: string) => {
      const a = await ctx.openAuthority();
      const row = await a.certificates.delete(ref, ctx.actor);
      const { toCertificateDeletedDto } = await ctx.contract();
      ctx.output(toCertificateDeletedDto(row), () => certificateDeletedLine(row.serialHex));
    });
}
