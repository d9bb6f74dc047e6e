import { useQuery } from '@tanstack/react-query';
import { Link } from '@tanstack/react-router';
import { Download, Layers } from 'lucide-react';
import { trpc, type RouterOutputs } from '../lib/trpc';
import { Button } from './ui/button';
import { Card, CardContent, CardHeader, CardTitle } from './ui/card';
import { StatusBadge } from './ui/badge';
import { Alert } from './ui/alert';
import { DataTable } from './data-table';

export type BulkJob = RouterOutputs['bulk']['job'];

/** a job's file, downloaded over REST with the session cookie (the browser saves it) */
export const bulkFileUrl = (id: string, name: string) => `/api/v1/bulk/jobs/${encodeURIComponent(id)}/files/${name}`;

/** A bulk or batch job, polled every second while it runs (its progress fields), then once more for its results. */
export function useBulkJob(id: string | null) {
  return useQuery({
    ...trpc.bulk.job.queryOptions({ id: id ?? '' }),
    enabled: id !== null,
    refetchInterval: (q) => (q.state.data?.state === 'running' ? 1000 : false),
    staleTime: 0,
  });
}

const TITLE: Record<BulkJob['kind'], string> = {
  'issue-csv': 'Issuance',
  revoke: 'Batch revocation',
  renew: 'Batch renewal',
  download: 'Batch download',
};
const DONE: Record<BulkJob['kind'], string> = {
  'issue-csv': 'issued',
  revoke: 'revoked',
  renew: 'renewed',
  download: 'exported',
};

/**
 * A job's progress bar and counts, its error, its files (results CSV/JSON, keys or certificates ZIP) and its
 * per-row outcomes: the CSV rows of an issuance, the certificates of a batch.
 */
export function BulkJobCard({ job }: { job: BulkJob }) {
  const pct = job.total ? Math.round((100 * job.done) / job.total) : 0;
  const what = job.dryRun ? 'valid' : DONE[job.kind];
  const unit = job.kind === 'issue-csv' ? 'rows' : 'certificates';
  return (
    <Card data-bulk-job={job.id} data-state={job.state}>
      <CardHeader>
        <CardTitle>
          {job.dryRun ? 'Dry run' : TITLE[job.kind]} — {job.state === 'running' ? `${job.phase}…` : job.state}
        </CardTitle>
      </CardHeader>
      <CardContent className="space-y-4">
        <div>
          <div
            role="progressbar"
            aria-label="Bulk progress"
            aria-valuemin={0}
            aria-valuemax={job.total}
            aria-valuenow={job.done}
            className="h-2 w-full overflow-hidden rounded bg-muted"
          >
            <div className="h-full bg-primary transition-all" style={{ width: `${pct}%` }} />
          </div>
          <p className="mt-1 text-sm text-muted-foreground" data-testid="bulk-counts">
            {job.done} / {job.total} {unit}
            {job.state !== 'running' ? ` — ${job.succeeded} ${what}, ${job.failed} failed` : ''}
          </p>
        </div>
        {job.error ? (
          <Alert level="critical" title={job.error.code}>
            {job.error.message}
          </Alert>
        ) : null}
        {job.files.length ? (
          <div className="flex flex-wrap gap-2">
            {job.files.map((f) => (
              <Button key={f.name} variant="outline" asChild>
                <a href={bulkFileUrl(job.id, f.name)} download={f.name}>
                  <Download /> {f.name}
                </a>
              </Button>
            ))}
          </div>
        ) : null}
        {job.state === 'running' ? null : job.kind === 'issue-csv' ? <RowsTable job={job} /> : <ItemsTable job={job} />}
      </CardContent>
    </Card>
  );
}

const CertLink = ({ id, label }: { id: string | undefined; label: string | null | undefined }) =>
  id ? (
    <Link to="/certificates/$certId" params={{ certId: id }} className="hover:underline">
      {label ?? id}
    </Link>
  ) : (
    <>{label ?? '—'}</>
  );

const ErrorCell = ({ error, at }: { error: { code: string; message: string } | undefined; at: string }) =>
  error ? (
    <span data-row-error={at}>
      <code>{error.code}</code> {error.message}
    </span>
  ) : (
    ''
  );

function RowsTable({ job }: { job: BulkJob }) {
  return (
    <DataTable
      testId="bulk-rows"
      rows={job.rows}
      rowKey={(r) => String(r.row)}
      empty={{ icon: Layers, title: 'No rows', body: 'The CSV had no data rows.' }}
      columns={[
        { header: 'Row', cell: (r) => r.row },
        { header: 'Status', cell: (r) => <StatusBadge status={r.status} /> },
        { header: 'Common name', cell: (r) => <CertLink id={r.certificateId} label={r.commonName} /> },
        { header: 'Error', cell: (r) => <ErrorCell error={r.error} at={String(r.row)} /> },
      ]}
    />
  );
}

function ItemsTable({ job }: { job: BulkJob }) {
  return (
    <DataTable
      testId="batch-items"
      rows={job.items}
      rowKey={(r) => r.ref}
      rowAttributes={(r) => ({ 'data-batch-item': r.serial ?? r.ref, 'data-outcome': r.status })}
      empty={{ icon: Layers, title: 'No certificates', body: 'Nothing matched the selection.' }}
      columns={[
        { header: 'Certificate', cell: (r) => <CertLink id={r.certificateId ?? r.ref} label={r.serial ?? r.ref} /> },
        { header: 'Outcome', cell: (r) => <StatusBadge status={r.status} /> },
        job.kind === 'renew' && {
          header: 'New certificate',
          cell: (r) => <CertLink id={r.newCertificateId} label={r.newSerial} />,
        },
        { header: 'Error', cell: (r) => <ErrorCell error={r.error} at={r.ref} /> },
      ]}
    />
  );
}
