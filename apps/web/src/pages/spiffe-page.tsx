import { useState } from 'react';
import { useMutation, useQueryClient, useSuspenseQuery } from '@tanstack/react-query';
import { Ban, Fingerprint, RefreshCw } from 'lucide-react';
import { trpc, type RouterOutputs } from '../lib/trpc';
import { formatDate, formatDateTime } from '../lib/utils';
import { PageHeader } from '../components/page';
import { Button } from '../components/ui/button';
import { Card, CardContent, CardDescription, CardHeader, CardTitle } from '../components/ui/card';
import { Field, Input } from '../components/ui/input';
import { Badge, StatusBadge } from '../components/ui/badge';
import { Table, TBody, TD, TH, THead, TR } from '../components/ui/table';
import { EmptyState } from '../components/ui/empty-state';
import { Alert, ErrorAlert } from '../components/ui/alert';
import { ConfirmDialog } from '../components/ui/dialog';
import { Tabs, TabsContent, TabsList, TabsTrigger } from '../components/ui/tabs';

type Status = RouterOutputs['spiffe']['status'];
type CaInfo = NonNullable<Status['rootCa']>;
const ms = (iso: string | null) => (iso ? Date.parse(iso) : null);

function useRefreshAll() {
  const qc = useQueryClient();
  return async () => {
    await qc.invalidateQueries({ queryKey: trpc.spiffe.status.queryKey() });
    await qc.invalidateQueries({ queryKey: trpc.spiffe.list.queryKey() });
    await qc.invalidateQueries({ queryKey: trpc.spiffe.denied.queryKey() });
  };
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
          <Field label="Trust domain" htmlFor="spiffe-td">
            <Input id="spiffe-td" placeholder="example.org" value={td} onChange={(e) => setTd(e.target.value)} />
          </Field>
          <Button type="submit" disabled={init.isPending || !td.trim()}>
            Initialise
          </Button>
        </form>
        <ErrorAlert error={init.error} className="mt-3" />
      </CardContent>
    </Card>
  );
}

function CaRow({ label, ca }: { label: string; ca: CaInfo | null }) {
  return (
    <TR data-spiffe-ca={label}>
      <TD className="font-medium">{label}</TD>
      <TD>{ca ? ca.name : <Badge variant="destructive">missing</Badge>}</TD>
      <TD className="hidden md:table-cell text-xs">{ca?.algorithm ?? ''}</TD>
      <TD>{ca ? formatDate(ms(ca.notAfter)) : ''}</TD>
      <TD>{ca ? ca.issuedCertCount : ''}</TD>
      <TD>{ca ? <StatusBadge status={ca.status} /> : null}</TD>
    </TR>
  );
}

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
      <Card>
        <CardContent className="p-0">
          <Table data-testid="spiffe-cas-table">
            <THead>
              <TR>
                <TH>Role</TH>
                <TH>CA</TH>
                <TH className="hidden md:table-cell">Key</TH>
                <TH>Valid until</TH>
                <TH>Current SVIDs</TH>
                <TH>Status</TH>
              </TR>
            </THead>
            <TBody>
              <CaRow label="root" ca={status.rootCa} />
              <CaRow label="services" ca={status.servicesCa} />
              <CaRow label="transport" ca={status.transportCa} />
              {status.retiringCas.map((c) => (
                <CaRow key={c.id} label={`${c.role} (until ${formatDate(ms(c.keepUntil))})`} ca={c} />
              ))}
            </TBody>
          </Table>
        </CardContent>
      </Card>
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
      <Card>
        <CardContent className="p-0">
          {data.items.length === 0 ? (
            <EmptyState icon={Fingerprint} title="No SVIDs">
              Workloads get SVIDs from POST /pki/csr/sign with a token (scope spiffe:sign) or their current SVID.
            </EmptyState>
          ) : (
            <Table data-testid="spiffe-svids-table">
              <THead>
                <TR>
                  <TH>SPIFFE ID</TH>
                  <TH className="hidden md:table-cell">Serial</TH>
                  <TH>Expires</TH>
                  <TH>State</TH>
                </TR>
              </THead>
              <TBody>
                {data.items.map((s) => (
                  <TR key={s.certificateId}>
                    <TD className="font-mono text-xs">{s.spiffeId}</TD>
                    <TD className="hidden md:table-cell font-mono text-xs">{s.serial.slice(0, 16)}…</TD>
                    <TD>{formatDateTime(ms(s.expiresAt))}</TD>
                    <TD>
                      <StatusBadge status={s.state === 'current' ? 'active' : s.state} />
                    </TD>
                  </TR>
                ))}
              </TBody>
            </Table>
          )}
        </CardContent>
      </Card>
    </div>
  );
}

function DenyListTab({ trustDomain }: { trustDomain: string | null }) {
  const refresh = useRefreshAll();
  const { data: denied } = useSuspenseQuery(trpc.spiffe.denied.queryOptions(undefined, { staleTime: 0 }));
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
            <Field label="SPIFFE ID" htmlFor="deny-id">
              <Input
                id="deny-id"
                placeholder={`spiffe://${trustDomain ?? 'example.org'}/node/worker-1`}
                value={spiffeId}
                onChange={(e) => setSpiffeId(e.target.value)}
                required
              />
            </Field>
            <Field label="Reason" htmlFor="deny-reason">
              <Input id="deny-reason" value={reason} onChange={(e) => setReason(e.target.value)} required />
            </Field>
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
      <Card>
        <CardContent className="p-0">
          {denied.length === 0 ? (
            <EmptyState icon={Ban} title="Nobody is denied" />
          ) : (
            <Table data-testid="spiffe-denied-table">
              <THead>
                <TR>
                  <TH>SPIFFE ID</TH>
                  <TH>Reason</TH>
                  <TH className="hidden md:table-cell">Since</TH>
                  <TH className="text-right">Actions</TH>
                </TR>
              </THead>
              <TBody>
                {denied.map((d) => (
                  <TR key={d.spiffeId} data-denied={d.spiffeId}>
                    <TD className="font-mono text-xs">{d.spiffeId}</TD>
                    <TD>{d.reason}</TD>
                    <TD className="hidden md:table-cell">{formatDateTime(ms(d.deniedAt))}</TD>
                    <TD className="text-right">
                      <Button
                        size="sm"
                        variant="outline"
                        disabled={allow.isPending}
                        onClick={() => allow.mutate({ spiffeId: d.spiffeId })}
                      >
                        Allow
                      </Button>
                    </TD>
                  </TR>
                ))}
              </TBody>
            </Table>
          )}
        </CardContent>
      </Card>
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
