import type { Command } from 'commander';
import type { CertificateRequestRow } from '@pkim/authority';
import type { CliContext } from '../cli-context';
import { choiceOption, durationOption, intOption, readInputFile } from '../cli-parsers';
import { writeOutputFile } from '../output-files';
import { date, keyValues, requestsTable, sansText } from '../format';

function requestDetails(r: CertificateRequestRow): string {
  return keyValues([
    ['id', r.id],
    ['status', r.status],
    ['CA', r.caId],
    ['profile', r.profile],
    ['subject', r.subjectDn],
    ['SANs', sansText(r.sans)],
    ['requester', r.requester],
    ['submitted', date(r.createdAt)],
    ['reviewer', r.reviewer],
    ['reviewed', date(r.reviewedAt)],
    ['reason', r.reason],
    ['certificate', r.certificateId],
  ]);
}

export function registerRequestCommand(program: Command, ctx: CliContext): void {
  const req = program.command('request').description('certificate requests with approval');

  req
    .command('submit')
    .description('submit a CSR for approval')
    .requiredOption('--ca <ca>', 'CA id or name')
    .requiredOption('--csr <file>', 'PKCS#10 CSR (PEM or DER; - for stdin)')
    .option('--profile <profile>', 'certificate profile', 'tls-server')
    .option('--ttl <duration>', 'requested lifetime, e.g. 90d', durationOption)
    .option('--validity <duration>', 'same as --ttl', durationOption)
    .action(async (o: { ca: string; csr: string; profile: string; ttl?: number; validity?: number }) => {
      const a = await ctx.openAuthority();
      const r = await a.requests.submit(
        { caId: o.ca, csrPem: readInputFile(o.csr, 'CSR'), profile: o.profile, validityMs: o.ttl ?? o.validity },
        ctx.actor,
      );
      const { toRequestDto } = await ctx.contract();
      ctx.output(toRequestDto(r), () => requestDetails(r));
    });

  req
    .command('list')
    .description('list requests')
    .option(
      '--status <status>',
      'pending|approved|rejected|issued',
      choiceOption('status', ['pending', 'approved', 'rejected', 'issued']),
    )
    .option('--limit <n>', 'page size', intOption, 100)
    .option('--cursor <cursor>', 'continue after this page cursor')
    .action(async (o: { status?: string; limit: number; cursor?: string }) => {
      const a = await ctx.openAuthority();
      const page = await a.requests.list(
        { status: o.status as CertificateRequestRow['status'] | undefined, limit: o.limit, cursor: o.cursor },
        ctx.actor,
      );
      const { pageOf, toRequestDto } = await ctx.contract();
      ctx.output(pageOf(page, toRequestDto), () => requestsTable(page.items, page.nextCursor));
    });

  req
    .command('show <id>')
    .description('show a request')
    .action(async (id: string) => {
      const a = await ctx.openAuthority();
      const r = await a.requests.get(id, ctx.actor);
      const { toRequestDto } = await ctx.contract();
      ctx.output(toRequestDto(r), () => requestDetails(r));
    });

  req
    .command('certificate <id>')
    .description('print the certificate issued from a request (PEM with its chain; --json: the object)')
    .option('--out-cert <file>', 'write the certificate PEM here')
    .option('--out-chain <file>', 'write the issuer chain PEM here')
    .action(async (id: string, o: { outCert?: string; outChain?: string }) => {
      const a = await ctx.openAuthority();
      const v = await a.requests.certificate(id, ctx.actor);
      if (o.outCert) writeOutputFile(o.outCert, v.certificatePem);
      if (o.outChain) writeOutputFile(o.outChain, v.chainPem);
      const { toIssuedCertificateDto } = await ctx.contract();
      ctx.output(toIssuedCertificateDto(v), () =>
        o.outCert || o.outChain
          ? `written: ${[o.outCert, o.outChain].filter(Boolean).join(', ')}`
          : `${v.certificatePem.trim()}\n${v.chainPem}`,
      );
    });

  req
    .command('approve <id>')
    .description('approve a pending request (issues the certificate)')
    .option('--out <file>', 'write the certificate PEM here')
    .action(async (id: string, o: { out?: string }) => {
      const a = await ctx.openAuthority({ printsWarnings: ['issuance'] });
      const r = await a.requests.approve(id, ctx.actor);
      ctx.warn(r.issued.warnings);
      if (o.out) writeOutputFile(o.out, r.issued.certificatePem);
      const { toIssuedCertificateDto, toRequestDto } = await ctx.contract();
      ctx.output(
        { request: toRequestDto(r.request), certificate: toIssuedCertificateDto(r.issued) },
        () =>
          `request ${id} approved; certificate ${r.issued.certificate.id} serial ` +
          `${r.issued.certificate.serialHex}${o.out ? ` written to ${o.out}` : ''}`,
      );
    });

  req
    .command('reject <id>')
    .description('reject a pending request')
    .requiredOption('--reason <text>', 'why')
    .action(async (id: string, o: { reason: string }) => {
      const a = await ctx.openAuthority();
      const r = await a.requests.reject(id, o.reason, ctx.actor);
      const { toRequestDto } = await ctx.contract();
      ctx.output(toRequestDto(r), () => `request ${id} rejected: ${r.reason}`);
    });
}
