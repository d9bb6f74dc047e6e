import { useState } from 'react';
import { useMutation, useQuery } from '@tanstack/react-query';
import { FileCheck2, Upload } from 'lucide-react';
import { trpc } from '../lib/trpc';
import { PageHeader } from '../components/page';
import { Button } from '../components/ui/button';
import { Card, CardContent, CardHeader, CardTitle } from '../components/ui/card';
import { ErrorAlert } from '../components/ui/alert';
import { Field, Input, NativeSelect } from '../components/ui/input';
import { BulkJobCard, useBulkJob } from '../components/bulk-job';
import { LeafProfileOptions } from '../components/form-fields';

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
  const job = useBulkJob(jobId);
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
      {j ? <BulkJobCard job={j} /> : null}
    </div>
  );
}
