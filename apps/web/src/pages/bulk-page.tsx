import { useState } from 'react';
import { useMutation, useQuery } from '@tanstack/react-query';
import { Link } from '@tanstack/react-router';
import { Download, FileCheck2, Layers, Upload } from 'lucide-react';
import { trpc, type RouterOutputs } from '../lib/trpc';
import { PageHeader } from '../components/page';
import { Button } from '../components/ui/button';
import { Card, CardContent, CardHeader, CardTitle } from '../components/ui/card';
import { StatusBadge } from '../components/ui/badge';
import { Alert, ErrorAlert } from '../components/ui/alert';
import { Field, Input, NativeSelect } from '../components/ui/input';
import { DataTable } from '../components/data-table';
import { LeafProfileOptions } from '../components/form-fields';

type BulkJob = RouterOutputs['bulk']['job'];

/** a job's file, downloaded over REST with the session cookie (the browser saves it) */
const fileUrl = (id: string, name: string) => `/api/v1/bulk/jobs/${encodeURIComponent(id)}/files/${name}`;

/**
 * Bulk CSV issuance: a CSV file, a dry run that reports every bad row through the same policy and lint as a real
 * issuance, then the run; the server runs it as a job that this page polls every second for its progress, then
 * shows the per-row results and the files (results CSV/JSON, the generated keys as a password-protected ZIP).
 */
export function BulkPage() {
  const cas = useQuery(trpc.ca.list.queryOptions());
  const profiles = useQuery(trpc.insights.profiles.queryOptions());
  const [ca, setCa] = useState('');
  const [profile, setProfile] = useState('');
  const [mode, setMode] = useState<'per-row' | 'all-or-nothing'>('per-row');
  const [password, setPassword] = useState('');
  const [fileName, setFileName] = useState('');
  const [csv, setCsv] = useState('');
  const [jobId, setJobId] = useState<string | null>(null);

  const start = useMutation(trpc.bulk.issueCsv.mutationOptions({ onSuccess: (j) => setJobId(j.id) }));
  const job = useQuery({
    ...trpc.bulk.job.queryOptions({ id: jobId ?? '' }),
    enabled: jobId !== null,
    refetchInterval: (q) => (q.state.data?.state === 'running' ? 1000 : false),
    staleTime: 0,
  });
  const activeCas = (cas.data?.items ?? []).filter((c) => c.status === 'active');
  const run = (dryRun: boolean) => {
    setJobId(null);
    start.mutate({
      ca: ca || activeCas[0]?.id || '',
      csv,
      dryRun,
      mode,
      ...(profile ? { profile } : {}),
      ...(!dryRun && password ? { keysZipPassword: password } : {}),
    });
  };
  const j = job.data;

  return (
    <div className="space-y-6">
      <PageHeader
        title="Bulk issuance"
        description="Issue certificates from a CSV: one row per certificate, checked first by a dry run"
      />
      <Card>
        <CardHeader>
          <CardTitle>CSV</CardTitle>
        </CardHeader>
        <CardContent className="grid gap-4 md:grid-cols-2">
          <Field
            label="CSV file"
            htmlFor="bulk-csv"
            hint="A header row: cn, o, ou, sans (separated by ;), profile, keyType, validity, csr (docs/everyday.md)"
          >
            <Input
              id="bulk-csv"
              type="file"
              accept=".csv,text/csv"
              onChange={(e) => {
                const f = e.target.files?.[0];
                setFileName(f?.name ?? '');
                setJobId(null);
                void f?.text().then(setCsv);
              }}
            />
          </Field>
          <Field label="Certificate authority" htmlFor="bulk-ca">
            <NativeSelect id="bulk-ca" value={ca} onChange={(e) => setCa(e.target.value)}>
              {activeCas.map((c) => (
                <option key={c.id} value={c.id}>
                  {c.name}
                </option>
              ))}
            </NativeSelect>
          </Field>
          <Field label="Profile for rows without one" htmlFor="bulk-profile">
            <NativeSelect id="bulk-profile" value={profile} onChange={(e) => setProfile(e.target.value)}>
              <option value="">(the CSV's)</option>
              <LeafProfileOptions profiles={profiles.data?.items} />
            </NativeSelect>
          </Field>
          <Field label="Mode" htmlFor="bulk-mode">
            <NativeSelect
              id="bulk-mode"
              value={mode}
              onChange={(e) => setMode(e.target.value as 'per-row' | 'all-or-nothing')}
            >
              <option value="per-row">Per row: issue the good rows</option>
              <option value="all-or-nothing">All or nothing</option>
            </NativeSelect>
          </Field>
          <Field
            label="Password of the keys ZIP"
            htmlFor="bulk-password"
            hint="Rows without a CSR get a generated key, returned once as a PKCS#12 file per row in one ZIP"
          >
            <Input
              id="bulk-password"
              type="password"
              autoComplete="new-password"
              value={password}
              onChange={(e) => setPassword(e.target.value)}
            />
          </Field>
          <div className="flex items-end gap-2">
            <Button variant="outline" disabled={!csv || start.isPending} onClick={() => run(true)}>
              <FileCheck2 /> Dry run
            </Button>
            <Button disabled={!csv || start.isPending} onClick={() => run(false)}>
              <Upload /> Issue
            </Button>
            {fileName ? <span className="text-sm text-muted-foreground">{fileName}</span> : null}
          </div>
        </CardContent>
      </Card>
      <ErrorAlert error={start.error ?? job.error} />
      {j ? <JobCard job={j} /> : null}
    </div>
  );
}

function JobCard({ job }: { job: BulkJob }) {
  const pct = job.total ? Math.round((100 * job.done) / job.total) : 0;
  const what = job.dryRun ? 'valid' : 'issued';
  return (
    <Card data-bulk-job={job.id} data-state={job.state}>
      <CardHeader>
        <CardTitle>
          {job.dryRun ? 'Dry run' : 'Issuance'} — {job.state === 'running' ? `${job.phase}…` : job.state}
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
            {job.done} / {job.total} rows
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
                <a href={fileUrl(job.id, f.name)} download={f.name}>
                  <Download /> {f.name}
                </a>
              </Button>
            ))}
          </div>
        ) : null}
        {job.state !== 'running' ? (
          <DataTable
            testId="bulk-rows"
            rows={job.rows}
            rowKey={(r) => String(r.row)}
            empty={{ icon: Layers, title: 'No rows', body: 'The CSV had no data rows.' }}
            columns={[
              { header: 'Row', cell: (r) => r.row },
              { header: 'Status', cell: (r) => <StatusBadge status={r.status} /> },
              {
                header: 'Common name',
                cell: (r) =>
                  r.certificateId ? (
                    <Link to="/certificates/$certId" params={{ certId: r.certificateId }} className="hover:underline">
                      {r.commonName}
                    </Link>
                  ) : (
                    (r.commonName ?? '—')
                  ),
              },
              {
                header: 'Error',
                cell: (r) =>
                  r.error ? (
                    <span data-row-error={r.row}>
                      <code>{r.error.code}</code> {r.error.message}
                    </span>
                  ) : (
                    ''
                  ),
              },
            ]}
          />
        ) : null}
      </CardContent>
    </Card>
  );
}
