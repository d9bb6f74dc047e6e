// Remote forms of `pkim cert bulk` and the batch commands: the server runs them as jobs (bulk.issueCsv, bulk.revoke,
// bulk.renew, bulk.download → a job id), polled with bulk.job until they end — the progress bar shows the job's
// progress — and their files (keys ZIP, certificates ZIP) fetched with bulk.jobFile. The `--json` output has the
// local command's fields; failed rows end in the same `bulk.rows_failed` error and exit code.
import { setTimeout as sleep } from 'node:timers/promises';
import { PkiError } from '@pkim/shared';
import type { CliContext } from '../cli-context';
import { readInputFile } from '../cli-parsers';
import { writeOutputFile } from '../output-files';
import { createProgressBar } from '../progress-bar';
import { readPasswordFile } from '../export-output';
import { batchRefs } from '../commands/cert-bulk-command';
import { duration } from './remote-commands';
import type { Dto, Opts, RemoteCall, RemoteCommand } from './remote-commands';

const POLL_MS = 250;

interface Job {
  id: string;
  state: 'running' | 'succeeded' | 'failed';
  phase: string;
  done: number;
  total: number;
  error: { code: string; message: string } | null;
  batchId: string | null;
  dryRun: boolean;
  succeeded: number;
  failed: number;
  rows: Dto[];
  items: (Dto & { ref: string; status: string; error?: { code: string; message: string } })[];
}

/** polls the job until it ends, with the progress bar on a terminal; a job that failed as a whole throws */
async function finished(ctx: CliContext, call: RemoteCall, started: Dto): Promise<Job> {
  const bar = createProgressBar({
    enabled: !ctx.options().json,
    stream: ctx.io.stderr,
    delayMs: ctx.config().progressDelayMs,
  });
  let job = started as unknown as Job;
  try {
    while (job.state === 'running') {
      bar.update(job.phase, job.done, job.total);
      await sleep(POLL_MS);
      job = (await call('bulk.job', { id: job.id })) as unknown as Job;
    }
  } finally {
    bar.finish();
  }
  if (job.state === 'failed' && job.error) throw new PkiError(job.error.code, job.error.message);
  return job;
}

/** a finished job's file, written where the command was told */
async function saveFile(ctx: CliContext, call: RemoteCall, job: Job, file: string, path: string): Promise<void> {
  const f = await call('bulk.jobFile', { id: job.id, file });
  writeOutputFile(path, Buffer.from(String(f.contentBase64), 'base64'), f.containsPrivateKey ? 0o600 : 0o644);
  if (typeof f.warning === 'string') ctx.io.stderr.write(`warning: ${f.warning}\n`);
}

/** the certificates of a batch: references (arguments, --serials-file) or a filter */
function selection(refs: string[], o: Opts): Record<string, unknown> {
  const all = batchRefs(refs, o.serialsFile as string | undefined);
  return {
    refs: all.length ? all : undefined,
    ca: o.ca,
    profile: o.profile,
    expiringWithin: duration(o.expiringWithin),
    search: o.search,
  };
}

/** prints a batch's outcome as the local command does; failed items end in `bulk.rows_failed` */
function batchReport(ctx: CliContext, job: Job, action: string, verb: string, extra: Dto = {}): void {
  const r = { batchId: job.batchId, action, total: job.total, succeeded: job.succeeded, failed: job.failed };
  ctx.output({ ...r, items: job.items, ...extra, ok: job.failed === 0 }, () =>
    [
      `${job.succeeded} of ${job.total} certificates ${verb}${job.failed ? `, ${job.failed} failed` : ''}`,
      ...job.items
        .filter((i) => i.status === 'failed')
        .map((i) => `  ${i.ref}: ${i.error?.code ?? ''}: ${i.error?.message ?? ''}`),
    ].join('\n'),
  );
  if (job.failed > 0) {
    throw new PkiError(
      'bulk.rows_failed',
      `${job.failed} of ${job.total} certificates failed (the others were ${verb})`,
    );
  }
}

/** variadic `[refs...]` arrives as one array argument */
const refsOf = (args: readonly unknown[]): string[] => (Array.isArray(args[0]) ? (args[0] as string[]) : []);

export const BULK_REMOTE_COMMANDS: Readonly<Record<string, RemoteCommand>> = {
  'cert bulk': {
    procedure: 'bulk.issueCsv',
    input(_args, o) {
      if (o.keysZip && !o.passwordFile) {
        throw new PkiError('export.password_required', '--keys-zip needs --password-file (the PKCS#12 password)');
      }
      return {
        ca: o.ca,
        csv: readInputFile(o.csv as string, 'CSV'),
        dryRun: o.dryRun,
        mode: o.mode,
        profile: o.profile,
        keyType: o.keyType,
        ttl: duration(o.validity),
        keepKeys: o.keepKey,
        keysZipPassword: o.keysZip ? readPasswordFile(o.passwordFile as string) : undefined,
        legacy: o.legacy,
      };
    },
    async print(ctx, out, o, _args, call) {
      const job = await finished(ctx, call, out);
      const keysZip = typeof o.keysZip === 'string' ? o.keysZip : undefined;
      const issued = job.dryRun ? 0 : job.succeeded;
      if (keysZip && issued > 0) await saveFile(ctx, call, job, 'keys.zip', keysZip);
      const data = {
        batchId: job.batchId,
        caId: (await call('ca.get', { ref: o.ca })).id,
        mode: o.mode ?? 'per-row',
        dryRun: job.dryRun,
        total: job.total,
        issued,
        failed: job.failed,
        rows: job.rows,
        ...(keysZip && issued > 0 ? { keysZip } : {}),
        ok: job.failed === 0,
      };
      if (typeof o.out === 'string') {
        const json = o.out.toLowerCase().endsWith('.json');
        if (json) writeOutputFile(o.out, `${JSON.stringify(data, null, 2)}\n`);
        else await saveFile(ctx, call, job, 'results.csv', o.out);
      }
      ctx.output(data, () =>
        [
          job.dryRun
            ? `dry run: ${job.total - job.failed} of ${job.total} rows would be issued, ${job.failed} failed ` +
              '(nothing signed)'
            : `${issued} of ${job.total} certificates issued${job.failed ? `, ${job.failed} rows failed` : ''}`,
          ...job.rows
            .filter((r) => r.status === 'failed')
            .map((r) => {
              const e = r.error as { code: string; message: string };
              return `  row ${String(r.row)} (line ${String(r.line)}): ${e.code}: ${e.message}`;
            }),
        ].join('\n'),
      );
      if (job.failed > 0) {
        const what = job.dryRun
          ? 'nothing was signed (dry run)'
          : o.mode === 'all-or-nothing'
            ? 'nothing was issued (all-or-nothing)'
            : `the other ${issued} were issued`;
        throw new PkiError('bulk.rows_failed', `${job.failed} of ${job.total} rows failed: ${what}`);
      }
    },
  },
  'cert revoke-batch': {
    procedure: 'bulk.revoke',
    input: (args, o) => ({ ...selection(refsOf(args), o), reason: o.reason }),
    print: async (ctx, out, _o, _args, call) => batchReport(ctx, await finished(ctx, call, out), 'revoke', 'revoked'),
  },
  'cert renew-batch': {
    procedure: 'bulk.renew',
    input: (args, o) => ({
      ...selection(refsOf(args), o),
      ttl: duration(o.validity),
      revokeOld: o.revokeOld,
      keepKey: o.keepKey,
      reuseKey: o.reuseKey,
    }),
    print: async (ctx, out, _o, _args, call) => batchReport(ctx, await finished(ctx, call, out), 'renew', 'renewed'),
  },
  'cert download-batch': {
    procedure: 'bulk.download',
    input(args, o) {
      // --status was checked by its parser (certificateStatusOption), in both modes
      return { ...selection(refsOf(args), o), status: o.status, includeRoot: o.root };
    },
    async print(ctx, out, o, _args, call) {
      const job = await finished(ctx, call, out);
      if (job.succeeded > 0) await saveFile(ctx, call, job, 'certificates.zip', o.out as string);
      batchReport(ctx, job, 'download', 'written', { file: o.out });
    },
  },
};
