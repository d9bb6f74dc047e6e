import { useState } from 'react';
import { useMutation, useSuspenseQuery } from '@tanstack/react-query';
import { Ban, Fingerprint, RefreshCw } from 'lucide-react';
import { trpc, type RouterOutputs } from '../lib/trpc';
import { formatDate, formatDateTime } from '../lib/utils';
import { PageHeader } from '../components/page';
import { Button } from '../components/ui/button';
import { Card, CardContent, CardDescription, CardHeader, CardTitle } from '../components/ui/card';
import { Badge, StatusBadge } from '../components/ui/badge';
import { Alert, ErrorAlert } from '../components/ui/alert';
import { ConfirmDialog } from '../components/ui/dialog';
import { Tabs, TabsContent, TabsList, TabsTrigger } from '../components/ui/tabs';
import { DataTable, type Column } from '../components/data-table';
import { TextField } from '../components/form-fields';
import { useInvalidate, pageItems } from '../lib/hooks';

type Status = RouterOutputs['spiffe']['status'];
type CaInfo = NonNullable<Status['rootCa']>;
const ms = (iso: string | null) => (iso ? Date.parse(iso) : null);

function useRefreshAll() {
  const invalidate = useInvalidate();
  return () => invalidate(trpc.spiffe.status.queryKey(), trpc.spiffe.list.queryKey(), trpc.spiffe.denied.queryKey());
}

function InitCard() {
  const refresh = useRefreshAll();
  const [td, setTd] = useState('');
  const init = useMutation(trpc.spiffe.init.mutationOptions({ onSuccess: refresh }));
  return (
    <Card>
      <CardHeader>
        <CardTitle>Initialise SPIFFE</CardTitle>
        <CardDescription>
          Creates the root CA (P-384, 10 years), the services CA and the transport CA for one trust domain.
        </CardDescription>
      </CardHeader>
      <CardContent>
        <form
          className="flex flex-wrap items-end gap-3"
          onSubmit={(e) => {
            e.preventDefault();
            init.mutate({ trustDomain: td.trim() });
          }}
        >
          <TextField id="spiffe-td" label="Trust domain" placeholder="example.org" value={td} onChange={setTd} />
          <Button type="submit" disabled={init.isPending || !td.trim()}>
            Initialise
          </Button>
        </form>
        <ErrorAlert error={init.error} className="mt-3" />
      </CardContent>
    </Card>
  );
}

interface CaLine {
  label: string;
  ca: CaInfo | null;
}

const CA_COLUMNS: Column<CaLine>[] = [
  { header: 'Role', cell: (r) => r.label, className: 'font-medium' },
  { header: 'CA', cell: (r) => (r.ca ? r.ca.name : <Badge variant="destructive">missing</Badge>) },
  { header: 'Key', cell: (r) => r.ca?.algorithm ?? '', from: 'md', className: 'text-xs' },
  { header: 'Valid until', cell: (r) => (r.ca ? formatDate(ms(r.ca.notAfter)) : '') },
  { header: 'Unexpired SVIDs', cell: (r) => (r.ca ? r.ca.issuedCertCount : '') },
  {
    header: 'Status',
    cell: (r) => (r.ca ? <StatusBadge status={r.ca.state === 'current' ? 'active' : r.ca.state} /> : null),
  },
];

function OverviewTab({ status }: { status: Status }) {
  const refresh = useRefreshAll();
  const [rotating, setRotating] = useState<'services' | 'transport' | null>(null);
  const rotate = useMutation(
    trpc.spiffe.rotate.mutationOptions({
      onSuccess: async () => {
        setRotating(null);
        await refresh();
      },
    }),
  );
  const purge = useMutation(trpc.spiffe.purge.mutationOptions({ onSuccess: refresh }));
  return (
    <div className="space-y-4">
      {status.warnings.length ? (
        <Alert level="warning" title="Warnings">
          <ul className="list-disc pl-4" data-testid="spiffe-warnings">
            {status.warnings.map((w) => (
              <li key={w}>{w}</li>
            ))}
          </ul>
        </Alert>
      ) : null}
      <div className="grid gap-4 md:grid-cols-4">
        {(
          [
            ['Current SVIDs', status.activeCertCount],
            ['Superseded', status.supersededCertCount],
            ['Expired (not purged)', status.expiredCertCount],
            ['Denied identities', status.deniedIdentityCount],
          ] as const
        ).map(([label, n]) => (
          <Card key={label}>
            <CardHeader>
              <CardDescription>{label}</CardDescription>
              <CardTitle className="text-2xl">{n}</CardTitle>
            </CardHeader>
          </Card>
        ))}
      </div>
      <DataTable
        testId="spiffe-cas-table"
        rows={[
          { label: 'root', ca: status.rootCa },
          { label: 'services', ca: status.servicesCa },
          { label: 'transport', ca: status.transportCa },
          ...status.bundleCas
            .filter((c) => c.state === 'superseded')
            .map((c) => ({ label: `${c.role} (superseded, until ${formatDate(ms(c.inBundleUntil))})`, ca: c })),
        ]}
        rowKey={(r) => r.label}
        rowAttributes={(r) => ({ 'data-spiffe-ca': r.label })}
        empty={{ icon: Fingerprint, title: 'No SPIFFE CA' }}
        columns={CA_COLUMNS}
      />
      <ErrorAlert error={rotate.error ?? purge.error} />
      {purge.data ? <Alert level="success" title={`Purged ${purge.data.purged} expired SVID record(s)`} /> : null}
      <div className="flex flex-wrap justify-end gap-2">
        <Button variant="outline" onClick={() => purge.mutate()} disabled={purge.isPending}>
          Purge expired SVIDs
        </Button>
        <Button variant="outline" onClick={() => setRotating('services')}>
          <RefreshCw /> Rotate services CA
        </Button>
        <Button variant="outline" onClick={() => setRotating('transport')}>
          <RefreshCw /> Rotate transport CA
        </Button>
      </div>
      <ConfirmDialog
        open={!!rotating}
        onOpenChange={(o) => !o && setRotating(null)}
        title={`Rotate the ${rotating ?? ''} CA?`}
        description={
          'A new intermediate signs from now on; the current one stays in the bundle until its last SVID expires.'
        }
        confirmLabel="Rotate"
        pending={rotate.isPending}
        onConfirm={() => rotating && rotate.mutate({ role: rotating })}
      />
    </div>
  );
}

function SvidsTab() {
  const [current, setCurrent] = useState(false);
  const { data } = useSuspenseQuery(trpc.spiffe.list.queryOptions({ current, limit: 200 }, { staleTime: 0 }));
  return (
    <div className="space-y-4">
      <label className="flex items-center justify-end gap-2 text-sm">
        <input type="checkbox" checked={current} onChange={(e) => setCurrent(e.target.checked)} /> current only
      </label>
      <DataTable
        testId="spiffe-svids-table"
        rows={data.items}
        rowKey={(s) => s.certificateId}
        empty={{
          icon: Fingerprint,
          title: 'No SVIDs',
          body: 'Workloads get SVIDs from POST /pki/csr/sign with a token (scope spiffe:sign) or their current SVID.',
        }}
        columns={[
          { header: 'SPIFFE ID', cell: (s) => s.spiffeId, className: 'font-mono text-xs' },
          { header: 'Serial', cell: (s) => `${s.serial.slice(0, 16)}…`, from: 'md', className: 'font-mono text-xs' },
          { header: 'Expires', cell: (s) => formatDateTime(ms(s.expiresAt)) },
          { header: 'State', cell: (s) => <StatusBadge status={s.state === 'current' ? 'active' : s.state} /> },
        ]}
      />
    </div>
  );
}

function DenyListTab({ trustDomain }: { trustDomain: string | null }) {
  const refresh = useRefreshAll();
  const { data: denied } = useSuspenseQuery(
    trpc.spiffe.denied.queryOptions(undefined, { staleTime: 0, select: pageItems }),
  );
  const [spiffeId, setSpiffeId] = useState('');
  const [reason, setReason] = useState('');
  const deny = useMutation(
    trpc.spiffe.deny.mutationOptions({
      onSuccess: async () => {
        setSpiffeId('');
        setReason('');
        await refresh();
      },
    }),
  );
  const allow = useMutation(trpc.spiffe.allow.mutationOptions({ onSuccess: refresh }));
  return (
    <div className="space-y-4">
      <Card>
        <CardHeader>
          <CardTitle>Deny an identity</CardTitle>
          <CardDescription>
            No further SVID is issued for it (passive revocation: its current SVIDs expire within their short lifetime;
            nothing goes on a CRL).
          </CardDescription>
        </CardHeader>
        <CardContent>
          <form
            className="grid gap-3 md:grid-cols-[2fr_2fr_auto] md:items-end"
            onSubmit={(e) => {
              e.preventDefault();
              deny.mutate({ spiffeId: spiffeId.trim(), reason: reason.trim() });
            }}
          >
            <TextField
              id="deny-id"
              label="SPIFFE ID"
              placeholder={`spiffe://${trustDomain ?? 'example.org'}/node/worker-1`}
              value={spiffeId}
              onChange={setSpiffeId}
              required
            />
            <TextField id="deny-reason" label="Reason" value={reason} onChange={setReason} required />
            <Button type="submit" variant="destructive" disabled={deny.isPending}>
              <Ban /> Deny
            </Button>
          </form>
          <ErrorAlert error={deny.error ?? allow.error} className="mt-3" />
          {deny.data ? (
            <Alert level="success" className="mt-3" title={`Denied ${deny.data.spiffeId}`}>
              {deny.data.currentCertificates.length
                ? `${deny.data.currentCertificates.length} SVID(s) stay valid until they expire, at the latest ${
                    deny.data.currentCertificates
                      .map((c) => c.expiresAt)
                      .sort()
                      .at(-1) ?? ''
                  }.`
                : 'It has no current SVID.'}
            </Alert>
          ) : null}
        </CardContent>
      </Card>
      <DataTable
        testId="spiffe-denied-table"
        rows={denied}
        rowKey={(d) => d.spiffeId}
        rowAttributes={(d) => ({ 'data-denied': d.spiffeId })}
        empty={{ icon: Ban, title: 'Nobody is denied' }}
        columns={[
          { header: 'SPIFFE ID', cell: (d) => d.spiffeId, className: 'font-mono text-xs' },
          { header: 'Reason', cell: (d) => d.reason },
          { header: 'Since', cell: (d) => formatDateTime(ms(d.deniedAt)), from: 'md' },
          {
            header: 'Actions',
            align: 'right',
            cell: (d) => (
              <Button
                size="sm"
                variant="outline"
                disabled={allow.isPending}
                onClick={() => allow.mutate({ spiffeId: d.spiffeId })}
              >
                Allow
              </Button>
            ),
          },
        ]}
      />
    </div>
  );
}

export function SpiffePage() {
  const { data: status } = useSuspenseQuery(trpc.spiffe.status.queryOptions(undefined, { staleTime: 0 }));
  return (
    <div>
      <PageHeader
        title="Workload identity (SPIFFE)"
        description={
          status.trustDomain ? (
            <span>
              Trust domain <span className="font-mono">{status.trustDomain}</span> ·{' '}
              <StatusBadge status={status.status} /> · bundle at <span className="font-mono">/pki/ca/bundle</span>
            </span>
          ) : (
            'Short-lived X.509-SVIDs for workloads, from a root, a services CA and a transport CA'
          )
        }
      />
      {status.status === 'uninitialized' ? (
        <InitCard />
      ) : (
        <Tabs defaultValue="overview">
          <TabsList>
            <TabsTrigger value="overview">Overview</TabsTrigger>
            <TabsTrigger value="svids">SVIDs</TabsTrigger>
            <TabsTrigger value="denied">Deny list</TabsTrigger>
          </TabsList>
          <TabsContent value="overview">
            <OverviewTab status={status} />
          </TabsContent>
          <TabsContent value="svids">
            <SvidsTab />
          </TabsContent>
          <TabsContent value="denied">
            <DenyListTab trustDomain={status.trustDomain} />
          </TabsContent>
        </Tabs>
      )}
    </div>
  );
}
