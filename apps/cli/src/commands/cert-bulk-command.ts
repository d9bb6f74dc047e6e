import type { Command } from 'commander';
import { PkiError, type KeyType } from '@pkim/shared';
import type { BulkMode, BulkResult } from '@pkim/authority';
import type { CliContext } from '../cli-context';
import { durationOption, keyTypeOption, readInputFile, writeOutputFile } from '../cli-parsers';
import { createProgressBar } from '../progress-bar';
import { readPasswordFile } from './cert-lifecycle-command';

const MODES = ['per-row', 'all-or-nothing'];

function modeOption(v: string): string {
  if (!MODES.includes(v)) throw new PkiError('input.invalid', `unknown mode '${v}' (use ${MODES.join(' or ')})`);
  return v;
}

/** the batch without the keys ZIP bytes (written to their own file) */
function summary(r: BulkResult, keysZipPath: string | undefined) {
  const { keysZip, ...rest } = r;
  return { ...rest, ...(keysZip && keysZipPath ? { keysZip: keysZipPath } : {}), ok: r.failed === 0 };
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
        const a = await ctx.openAuthority();
        const bar = createProgressBar({ enabled: !ctx.options().json });
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
          if (r.keysZip.warning) process.stderr.write(`warning: ${r.keysZip.warning}\n`);
        }
        const data = summary(r, o.keysZip);
        if (o.out) {
          const { bulkResultsCsv } = await import('../lazy/authority-runtime');
          writeOutputFile(
            o.out,
            o.out.toLowerCase().endsWith('.json') ? `${JSON.stringify(data, null, 2)}\n` : bulkResultsCsv(r.rows),
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
