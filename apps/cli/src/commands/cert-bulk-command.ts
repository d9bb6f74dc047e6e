import type { Command } from 'commander';
import { PkiError, type KeyType } from '@pkim/shared';
import type { BatchOutcome, BatchSelection, BulkMode, BulkResult } from '@pkim/authority';
import type { CliContext } from '../cli-context';
import {
  certificateStatusOption,
  choiceOption,
  durationOption,
  keyTypeOption,
  readInputFile,
  reasonOption,
} from '../cli-parsers';
import { writeOutputFile } from '../output-files';
import { createProgressBar } from '../progress-bar';
import { readPasswordFile } from '../export-output';

const modeOption = choiceOption('mode', ['per-row', 'all-or-nothing']);

/** the batch without the keys ZIP bytes (written to their own file) */
function summary(r: BulkResult, keysZipPath: string | undefined) {
  const { keysZip, rows, ...rest } = r;
  // times as RFC 3339, as the API's job rows
  const timed = rows.map((x) =>
    x.notAfter === undefined ? x : { ...x, notAfter: new Date(x.notAfter).toISOString() },
  );
  return { ...rest, rows: timed, ...(keysZip && keysZipPath ? { keysZip: keysZipPath } : {}), ok: r.failed === 0 };
}

function humanSummary(r: BulkResult): string {
  const lines = [
    r.dryRun
      ? `dry run: ${r.total - r.failed} of ${r.total} rows would be issued, ${r.failed} failed (nothing signed)`
      : `${r.issued} of ${r.total} certificates issued (${r.mode})${r.failed ? `, ${r.failed} rows failed` : ''}`,
  ];
  for (const row of r.rows.filter((x) => x.status === 'failed')) {
    lines.push(`  row ${row.row} (line ${row.line}): ${row.error?.code}: ${row.error?.message}`);
  }
  return lines.join('\n');
}

/** `pkim cert bulk`: many certificates from a CSV through the signing pipeline (issue #16). */
export function registerCertBulkCommand(cert: Command, ctx: CliContext): void {
  cert
    .command('bulk')
    .description(
      'issue one certificate per CSV row (header: profile, cn, o, ou, c, st, l, dn, sans (";"-separated), keyType, ' +
        'validity, csr); --dry-run checks every row with the policy and lint of a real issuance',
    )
    .requiredOption('--ca <ca>', 'issuing CA (id or name)')
    .requiredOption('--csv <file>', 'the CSV file (RFC 4180, header row; - for stdin)')
    .option('--dry-run', 'check every row, sign nothing')
    .option(
      '--mode <mode>',
      'per-row (issue the good rows) | all-or-nothing (none unless every row passes)',
      modeOption,
    )
    .option('--profile <name>', 'profile of rows with an empty profile column')
    .option('--key-type <type>', 'key type of rows with an empty keyType column (default ec-p256)', keyTypeOption)
    .option('--validity <duration>', 'lifetime of rows with an empty validity column, e.g. 90d', durationOption)
    .option('--keep-key', 'keep the generated keys on the server (sealed) for later exports')
    .option('--keys-zip <file>', 'write the generated keys as one ZIP of PKCS#12 files (needs --password-file)')
    .option('--password-file <file>', 'file holding the PKCS#12 password of --keys-zip')
    .option('--legacy', 'PKCS#12 with 3DES + SHA-1 for old appliances')
    .option('--out <file>', 'write the results per row: .json as JSON, otherwise CSV')
    .action(
      async (o: {
        ca: string;
        csv: string;
        dryRun?: boolean;
        mode?: string;
        profile?: string;
        keyType?: KeyType;
        validity?: number;
        keepKey?: boolean;
        keysZip?: string;
        passwordFile?: string;
        legacy?: boolean;
        out?: string;
      }) => {
        if (o.keysZip && !o.passwordFile) {
          throw new PkiError('export.password_required', '--keys-zip needs --password-file (the PKCS#12 password)');
        }
        const csv = readInputFile(o.csv, 'CSV');
        const password = readPasswordFile(o.passwordFile);
        const a = await ctx.openAuthority({ printsWarnings: ['keyExport'] });
        const bar = createProgressBar({
          enabled: !ctx.options().json,
          stream: ctx.io.stderr,
          delayMs: ctx.config().progressDelayMs,
        });
        let r: BulkResult;
        try {
          r = await a.bulk.issueCsv(
            {
              ca: o.ca,
              csv,
              dryRun: o.dryRun,
              mode: o.mode as BulkMode | undefined,
              defaults: { profile: o.profile, keyType: o.keyType, validityMs: o.validity },
              keepKeys: o.keepKey,
              keysZip: o.keysZip && password !== undefined ? { password, legacy: o.legacy } : undefined,
              onProgress: (p) => bar.update(p.phase === 'validate' ? 'check' : 'issue', p.done, p.total),
            },
            ctx.actor,
          );
        } finally {
          bar.finish();
        }
        if (r.keysZip && o.keysZip) {
          writeOutputFile(o.keysZip, r.keysZip.body, 0o600);
          if (r.keysZip.warning) ctx.io.stderr.write(`warning: ${r.keysZip.warning}\n`);
        }
        const data = summary(r, o.keysZip);
        if (o.out) {
          const { bulkResultsCsv } = await import('../lazy/bulk-runtime');
          writeOutputFile(
            o.out,
            o.out.toLowerCase().endsWith('.json') ? `${JSON.stringify(data, null, 2)}\n` : await bulkResultsCsv(r.rows),
          );
        }
        ctx.output(data, () => humanSummary(r));
        if (r.failed > 0) {
          const what = r.dryRun
            ? 'nothing was signed (dry run)'
            : r.mode === 'all-or-nothing'
              ? 'nothing was issued (all-or-nothing)'
              : `the other ${r.issued} were issued`;
          throw new PkiError('bulk.rows_failed', `${r.failed} of ${r.total} rows failed: ${what}`);
        }
      },
    );
}

interface SelectionOptions {
  serialsFile?: string;
  ca?: string;
  profile?: string;
  expiringWithin?: number;
  search?: string;
}

/** the options that select the certificates of a batch: serials (arguments or a file) or a filter */
function withSelection(c: Command): Command {
  return c
    .option('--serials-file <file>', 'certificates to act on, one id/serial/fingerprint a line (- for stdin)')
    .option('--ca <ca>', 'filter: certificates of this CA (id or name)')
    .option('--profile <profile>', 'filter: this profile')
    .option('--expiring-within <duration>', 'filter: expiring within, e.g. 30d', durationOption)
    .option('--search <text>', 'filter: common name, SAN or serial (as cert list --search)');
}

/** the references of a batch: the arguments and the lines of --serials-file (`#` comments and blanks skipped) */
export function batchRefs(refs: string[], serialsFile: string | undefined): string[] {
  const fromFile = serialsFile
    ? readInputFile(serialsFile, 'serials')
        .split(/\r?\n/)
        .map((l) => l.trim())
        .filter((l) => l && !l.startsWith('#'))
    : [];
  return [...refs, ...fromFile];
}

function selectionOf(refs: string[], o: SelectionOptions, now: number): BatchSelection {
  const all = batchRefs(refs, o.serialsFile);
  return {
    refs: all.length ? all : undefined,
    ca: o.ca,
    profile: o.profile,
    expiringBefore: o.expiringWithin !== undefined ? now + o.expiringWithin : undefined,
    search: o.search,
  };
}

function batchReport(ctx: CliContext, r: BatchOutcome, verb: string, extra: Record<string, unknown> = {}): void {
  ctx.output({ ...r, ...extra, ok: r.failed === 0 }, () =>
    [
      `${r.succeeded} of ${r.total} certificates ${verb}${r.failed ? `, ${r.failed} failed` : ''}`,
      ...r.items.filter((i) => i.status === 'failed').map((i) => `  ${i.ref}: ${i.error?.code}: ${i.error?.message}`),
    ].join('\n'),
  );
  if (r.failed > 0) {
    throw new PkiError('bulk.rows_failed', `${r.failed} of ${r.total} certificates failed (the others were ${verb})`);
  }
}

/** `pkim cert revoke-batch`, `renew-batch`, `download-batch` (issue #16). */
export function registerCertBatchCommands(cert: Command, ctx: CliContext): void {
  withSelection(
    cert
      .command('revoke-batch [refs...]')
      .description('revoke many certificates with one reason: listed (arguments, --serials-file) or by a filter'),
  )
    .requiredOption(
      '--reason <reason>',
      'RFC 5280 reason: unspecified, keyCompromise, cACompromise, affiliationChanged, superseded, ' +
        'cessationOfOperation, privilegeWithdrawn',
      reasonOption,
    )
    .action(async (refs: string[], o: SelectionOptions & { reason: ReturnType<typeof reasonOption> }) => {
      const a = await ctx.openAuthority();
      const bar = createProgressBar({
        enabled: !ctx.options().json,
        stream: ctx.io.stderr,
        delayMs: ctx.config().progressDelayMs,
      });
      const r = await a.batch
        .revoke(selectionOf(refs, o, a.clock.now()), o.reason, ctx.actor, (p) => bar.update('revoke', p.done, p.total))
        .finally(() => bar.finish());
      batchReport(ctx, r, 'revoked');
    });

  withSelection(
    cert
      .command('renew-batch [refs...]')
      .description('renew many certificates (same subject, SANs, profile, CA; new keys): listed or by a filter'),
  )
    .option('--validity <duration>', 'lifetime of the new certificates (default: the profile default)', durationOption)
    .option('--revoke-old', 'revoke each old certificate as superseded with its renewal')
    .option('--keep-key', 'keep the new generated keys on the server for exports')
    .option(
      '--reuse-key',
      'each keeps its old key (profile allowKeyReuse, key kept by the server; all checked before any is renewed)',
    )
    .action(
      async (
        refs: string[],
        o: SelectionOptions & { validity?: number; revokeOld?: boolean; keepKey?: boolean; reuseKey?: boolean },
      ) => {
        const a = await ctx.openAuthority();
        const bar = createProgressBar({
          enabled: !ctx.options().json,
          stream: ctx.io.stderr,
          delayMs: ctx.config().progressDelayMs,
        });
        const r = await a.batch
          .renew(
            selectionOf(refs, o, a.clock.now()),
            { validityMs: o.validity, revokeOld: o.revokeOld, keepKey: o.keepKey, reuseKey: o.reuseKey },
            ctx.actor,
            (p) => bar.update('renew', p.done, p.total),
          )
          .finally(() => bar.finish());
        batchReport(ctx, r, 'renewed');
      },
    );

  withSelection(
    cert
      .command('download-batch [refs...]')
      .description('many certificates as one ZIP (<cn>-<serial>.pem and .chain.pem each): listed or by a filter'),
  )
    .requiredOption('--out <file>', 'the ZIP file')
    .option('--status <status>', 'filter: active|revoked|expired (default any)', certificateStatusOption)
    .option('--no-root', 'chains without the self-signed root')
    .action(async (refs: string[], o: SelectionOptions & { out: string; status?: string; root: boolean }) => {
      const a = await ctx.openAuthority();
      const { outcome, file } = await a.batch.download(
        { ...selectionOf(refs, o, a.clock.now()), status: o.status as BatchSelection['status'] },
        { includeRoot: o.root },
        ctx.actor,
      );
      writeOutputFile(o.out, file.body);
      batchReport(ctx, outcome, 'written', { file: o.out });
    });
}
