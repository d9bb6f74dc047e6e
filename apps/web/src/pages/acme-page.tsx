import { useState } from 'react';
import { useMutation, useQuery, useSuspenseQuery } from '@tanstack/react-query';
import { Link } from '@tanstack/react-router';
import { Activity, KeySquare, ListOrdered, Server, UserRound } from 'lucide-react';
import { trpc, type RouterOutputs } from '../lib/trpc';
import { useMe } from '../lib/auth';
import { useInvalidate } from '../lib/hooks';
import { formatDateTime } from '../lib/utils';
import { acmeDirectoryUrl } from '../lib/pki';
import { PageHeader } from '../components/page';
import { Button } from '../components/ui/button';
import { ManageAction } from '../components/manage-action';
import { Badge, StatusBadge } from '../components/ui/badge';
import { Alert, ErrorAlert } from '../components/ui/alert';
import { ConfirmDialog } from '../components/ui/dialog';
import { Tabs, TabsContent, TabsList, TabsTrigger } from '../components/ui/tabs';
import { CopyButton } from '../components/ui/copy-button';
import { DataTable } from '../components/data-table';
import { FormDialog, SecretOnce } from '../components/form-dialog';
import { SelectField, SelectInput, TextField } from '../components/form-fields';

type Directory = RouterOutputs['acme']['directories']['items'][number];
type Account = RouterOutputs['acme']['accounts']['items'][number];
type EabKey = RouterOutputs['acme']['eabKeys']['items'][number];

const ms = (iso: string | null) => (iso ? Date.parse(iso) : null);
const list = (text: string) =>
  text
    .split(/[\s,]+/)
    .map((v) => v.trim())
    .filter(Boolean);
const directoryUrl = (d: Pick<Directory, 'directoryPath' | 'directoryUrl'>) =>
  acmeDirectoryUrl(d, window.location.origin);

function useCaNames() {
  const cas = useQuery(trpc.ca.list.queryOptions());
  const names = new Map((cas.data?.items ?? []).map((c) => [c.id, c.name]));
  return { cas: cas.data?.items ?? [], name: (id: string) => names.get(id) ?? id };
}

function useRefresh() {
  const invalidate = useInvalidate();
  return () =>
    invalidate(
      trpc.acme.directories.queryKey(),
      trpc.acme.accounts.queryKey(),
      trpc.acme.eabKeys.queryKey(),
      trpc.acme.orders.queryKey(),
      trpc.acme.events.queryKey(),
    );
}

function EnableDialog({ open, onOpenChange }: { open: boolean; onOpenChange: (o: boolean) => void }) {
  const refresh = useRefresh();
  const { cas } = useCaNames();
  const issuing = cas.filter((c) => c.status === 'active');
  const [ca, setCa] = useState('');
  const [profile, setProfile] = useState('tls-server');
  const [allowDns, setAllowDns] = useState('');
  const [allowIps, setAllowIps] = useState('');
  const [requireEab, setRequireEab] = useState(true);
  const [ordersPerHour, setOrdersPerHour] = useState('300');
  const enable = useMutation(
    trpc.acme.enable.mutationOptions({
      onSuccess: async () => {
        onOpenChange(false);
        await refresh();
      },
    }),
  );
  const selected = ca || issuing[0]?.id || '';
  return (
    <FormDialog
      open={open}
      onOpenChange={onOpenChange}
      title="Enable ACME on a CA"
      description="Clients (certbot, lego, cert-manager, Caddy) get certificates from this CA's directory"
      submitLabel="Enable ACME"
      pending={enable.isPending}
      error={enable.error}
      onSubmit={() =>
        enable.mutate({
          ca: selected,
          profile: profile.trim() || undefined,
          allowDns: allowDns.trim() ? list(allowDns) : undefined,
          allowIps: allowIps.trim() ? list(allowIps) : undefined,
          requireEab,
          ordersPerHour: Number(ordersPerHour) || undefined,
        })
      }
    >
      <SelectField
        id="acme-ca"
        label="Issuing CA"
        value={selected}
        onChange={setCa}
        options={issuing.map((c) => ({ value: c.id, label: c.name }))}
      />
      <TextField id="acme-profile" label="Profile" value={profile} onChange={setProfile} />
      <TextField
        id="acme-allow-dns"
        label="Allowed DNS names"
        hint="patterns, comma separated: *.internal.example.com, localhost (empty: any name)"
        value={allowDns}
        onChange={setAllowDns}
      />
      <TextField
        id="acme-allow-ips"
        label="Allowed IP addresses"
        hint="addresses or CIDRs (empty: none unless DNS is unrestricted)"
        value={allowIps}
        onChange={setAllowIps}
      />
      <TextField
        id="acme-rate"
        label="Orders per hour and account"
        inputMode="numeric"
        value={ordersPerHour}
        onChange={setOrdersPerHour}
      />
      <label className="flex items-center gap-2 text-sm">
        <input type="checkbox" checked={requireEab} onChange={(e) => setRequireEab(e.target.checked)} />
        Require external account binding (accounts need an EAB key created here)
      </label>
    </FormDialog>
  );
}

function DirectoriesTab({ directories }: { directories: Directory[] }) {
  const { can } = useMe();
  const refresh = useRefresh();
  const [open, setOpen] = useState(false);
  const [disabling, setDisabling] = useState<Directory | null>(null);
  const disable = useMutation(
    trpc.acme.disable.mutationOptions({
      onSuccess: async () => {
        setDisabling(null);
        await refresh();
      },
    }),
  );
  return (
    <div className="space-y-4">
      <ManageAction label="Enable ACME" permission="ca:write" onClick={() => setOpen(true)} />
      <ErrorAlert error={disable.error} />
      <DataTable
        testId="acme-directories-table"
        rows={directories}
        rowKey={(d) => d.caId}
        rowAttributes={(d) => ({ 'data-acme-directory': d.caName })}
        empty={{
          icon: Server,
          title: 'No ACME directory',
          body: 'Enable ACME on an issuing CA (or: pkim acme enable --ca <ca> --allow-dns "*.internal")',
        }}
        columns={[
          { header: 'CA', cell: (d) => d.caName, className: 'font-medium' },
          {
            header: 'Directory URL',
            cell: (d) => (
              <span className="inline-flex items-center gap-2">
                <code className="text-xs">{directoryUrl(d)}</code>
                <CopyButton text={directoryUrl(d)} label="Copy" />
              </span>
            ),
          },
          { header: 'Profile', cell: (d) => d.profile, from: 'md' },
          {
            header: 'Allowed names',
            from: 'lg',
            className: 'text-xs',
            cell: (d) => [...(d.allowDns ?? ['any name']), ...(d.allowIps ?? [])].join(', '),
          },
          {
            header: 'EAB',
            cell: (d) =>
              d.requireEab ? <Badge variant="warning">required</Badge> : <Badge variant="outline">optional</Badge>,
          },
          { header: 'Orders/h', cell: (d) => d.ordersPerHour, from: 'md', className: 'tabular-nums' },
          {
            header: 'Actions',
            align: 'right',
            cell: (d) =>
              can('ca:write') ? (
                <Button size="sm" variant="outline" onClick={() => setDisabling(d)}>
                  Disable
                </Button>
              ) : null,
          },
        ]}
      />
      <EnableDialog open={open} onOpenChange={setOpen} />
      <ConfirmDialog
        open={!!disabling}
        onOpenChange={(o) => !o && setDisabling(null)}
        title={`Disable ACME on ${disabling?.caName ?? ''}?`}
        description="Its directory answers 404 from now on; accounts and issued certificates stay."
        confirmLabel="Disable ACME"
        pending={disable.isPending}
        onConfirm={() => disabling && disable.mutate({ ca: disabling.caId })}
      />
    </div>
  );
}

function AccountsTab() {
  const { can } = useMe();
  const { name } = useCaNames();
  const refresh = useRefresh();
  const { data: accounts } = useSuspenseQuery(trpc.acme.accounts.queryOptions(undefined, { staleTime: 0 }));
  const [deactivating, setDeactivating] = useState<Account | null>(null);
  const deactivate = useMutation(
    trpc.acme.deactivateAccount.mutationOptions({
      onSuccess: async () => {
        setDeactivating(null);
        await refresh();
      },
    }),
  );
  return (
    <div className="space-y-4">
      <ErrorAlert error={deactivate.error} />
      <DataTable
        testId="acme-accounts-table"
        rows={accounts.items}
        rowKey={(a) => a.id}
        rowAttributes={(a) => ({ 'data-acme-account': a.id })}
        empty={{ icon: UserRound, title: 'No ACME account yet', body: 'Clients create one on their first run.' }}
        columns={[
          { header: 'Account', cell: (a) => a.id, className: 'font-mono text-xs' },
          { header: 'CA', cell: (a) => name(a.caId) },
          { header: 'Contact', cell: (a) => a.contact.join(', ') || '—', from: 'md', className: 'text-xs' },
          { header: 'EAB key', cell: (a) => a.eabKeyId ?? '—', from: 'lg', className: 'font-mono text-xs' },
          { header: 'Orders (1 y)', cell: (a) => a.orders, className: 'tabular-nums' },
          { header: 'Created', cell: (a) => formatDateTime(ms(a.createdAt)), from: 'md' },
          { header: 'Status', cell: (a) => <StatusBadge status={a.status} /> },
          {
            header: 'Actions',
            align: 'right',
            cell: (a) =>
              a.status === 'valid' && can('ca:write') ? (
                <Button size="sm" variant="outline" onClick={() => setDeactivating(a)}>
                  Deactivate
                </Button>
              ) : null,
          },
        ]}
      />
      <ConfirmDialog
        open={!!deactivating}
        onOpenChange={(o) => !o && setDeactivating(null)}
        title={`Deactivate ACME account ${deactivating?.id ?? ''}?`}
        description="It can no longer order or revoke certificates (RFC 8555 §7.3.6); this cannot be undone."
        confirmLabel="Deactivate account"
        pending={deactivate.isPending}
        onConfirm={() => deactivating && deactivate.mutate({ id: deactivating.id })}
      />
    </div>
  );
}

function OrdersTab() {
  const { name } = useCaNames();
  const { data: orders } = useSuspenseQuery(trpc.acme.orders.queryOptions({ limit: 200 }, { staleTime: 0 }));
  return (
    <DataTable
      testId="acme-orders-table"
      rows={orders.items}
      rowKey={(o) => o.id}
      rowAttributes={(o) => ({ 'data-acme-order': o.id })}
      empty={{ icon: ListOrdered, title: 'No orders yet' }}
      columns={[
        { header: 'Identifiers', cell: (o) => o.identifiers.map((i) => i.value).join(', '), className: 'font-medium' },
        { header: 'Status', cell: (o) => <StatusBadge status={o.status} /> },
        { header: 'CA', cell: (o) => name(o.caId), from: 'md' },
        { header: 'Account', cell: (o) => o.accountId, from: 'lg', className: 'font-mono text-xs' },
        { header: 'Created', cell: (o) => formatDateTime(ms(o.createdAt)), from: 'md' },
        {
          header: 'Result',
          align: 'right',
          cell: (o) =>
            o.certificateId ? (
              <Link
                to="/certificates/$certId"
                params={{ certId: o.certificateId }}
                className="text-sm text-primary hover:underline"
              >
                Certificate →
              </Link>
            ) : o.error ? (
              <span className="text-xs text-destructive" title={o.error.type}>
                {o.error.detail}
              </span>
            ) : null,
        },
      ]}
    />
  );
}

function EabKeysTab({ directories }: { directories: Directory[] }) {
  const { can } = useMe();
  const { name } = useCaNames();
  const refresh = useRefresh();
  const { data: keys } = useSuspenseQuery(trpc.acme.eabKeys.queryOptions(undefined, { staleTime: 0 }));
  const [open, setOpen] = useState(false);
  const [ca, setCa] = useState('');
  const [revoking, setRevoking] = useState<EabKey | null>(null);
  const create = useMutation(trpc.acme.createEabKey.mutationOptions({ onSuccess: refresh }));
  const revoke = useMutation(
    trpc.acme.revokeEabKey.mutationOptions({
      onSuccess: async () => {
        setRevoking(null);
        await refresh();
      },
    }),
  );
  const selected = ca || directories[0]?.caId || '';
  const dir = directories.find((d) => d.caId === (create.data?.caId ?? selected));
  return (
    <div className="space-y-4">
      <ManageAction
        label="Create EAB key"
        permission="ca:write"
        disabled={directories.length === 0}
        onClick={() => {
          create.reset();
          setOpen(true);
        }}
      />
      <ErrorAlert error={revoke.error} />
      {revoke.data ? (
        <Alert level="success" title={`Revoked ${revoke.data.kid}`}>
          {revoke.data.deactivatedAccount
            ? `The account it bound (${revoke.data.deactivatedAccount}) is deactivated.`
            : 'No account can register with it any more.'}
        </Alert>
      ) : null}
      <DataTable
        testId="acme-eab-table"
        rows={keys.items}
        rowKey={(k) => k.kid}
        rowAttributes={(k) => ({ 'data-eab-kid': k.kid })}
        empty={{
          icon: KeySquare,
          title: 'No external account binding key',
          body: 'A directory that requires EAB accepts a new account only with a key created here.',
        }}
        columns={[
          { header: 'Key id (kid)', cell: (k) => k.kid, className: 'font-mono text-xs' },
          { header: 'CA', cell: (k) => name(k.caId) },
          { header: 'Status', cell: (k) => <StatusBadge status={k.status} /> },
          { header: 'Account', cell: (k) => k.accountId ?? '—', from: 'md', className: 'font-mono text-xs' },
          { header: 'Created', cell: (k) => formatDateTime(ms(k.createdAt)), from: 'lg' },
          {
            header: 'Actions',
            align: 'right',
            cell: (k) =>
              can('ca:write') ? (
                <Button size="sm" variant="outline" onClick={() => setRevoking(k)}>
                  Revoke
                </Button>
              ) : null,
          },
        ]}
      />
      <FormDialog
        open={open}
        onOpenChange={setOpen}
        title="Create an external account binding key"
        description="The HMAC key is shown once, right after creation."
        submitLabel="Create key"
        pending={create.isPending}
        error={create.error}
        onSubmit={() => create.mutate({ ca: selected })}
        result={
          create.data ? (
            <SecretOnce
              secret={create.data.hmacKey}
              testId="eab-hmac-key"
              copyLabel="Copy HMAC key"
              onDone={() => setOpen(false)}
            >
              <div className="grid gap-1 text-sm">
                <div>
                  Key id: <code data-testid="eab-kid">{create.data.kid}</code>
                </div>
                {dir ? (
                  <code className="break-all rounded-md border bg-muted/40 p-2 text-xs">
                    certbot register --server {directoryUrl(dir)} --eab-kid {create.data.kid} --eab-hmac-key
                    &nbsp;&lt;HMAC key&gt; -m you@example.com --agree-tos
                  </code>
                ) : null}
              </div>
            </SecretOnce>
          ) : undefined
        }
      >
        <SelectField
          id="eab-ca"
          label="Directory"
          value={selected}
          onChange={setCa}
          options={directories.map((d) => ({ value: d.caId, label: d.caName }))}
        />
      </FormDialog>
      <ConfirmDialog
        open={!!revoking}
        onOpenChange={(o) => !o && setRevoking(null)}
        title={`Revoke EAB key ${revoking?.kid ?? ''}?`}
        description={
          revoking?.accountId
            ? `It bound account ${revoking.accountId}: that account is deactivated too.`
            : 'No account can register with it any more.'
        }
        confirmLabel="Revoke key"
        pending={revoke.isPending}
        onConfirm={() => revoking && revoke.mutate({ kid: revoking.kid })}
      />
    </div>
  );
}

function ActivityTab() {
  const [limit, setLimit] = useState<'50' | '200' | '500'>('50');
  const events = useQuery(trpc.acme.events.queryOptions({ limit: Number(limit) }, { staleTime: 0 }));
  return (
    <DataTable
      testId="acme-events-table"
      rows={events.data?.items}
      error={events.error}
      rowKey={(e) => String(e.seq)}
      rowAttributes={(e) => ({ 'data-action': e.action })}
      toolbar={
        <SelectInput
          aria-label="Events shown"
          className="ml-auto h-9 w-auto"
          value={limit}
          onChange={setLimit}
          options={[
            { value: '50', label: 'last 50' },
            { value: '200', label: 'last 200' },
            { value: '500', label: 'last 500' },
          ]}
        />
      }
      empty={{ icon: Activity, title: 'No ACME activity yet' }}
      columns={[
        { header: '#', cell: (e) => e.seq, className: 'tabular-nums text-muted-foreground' },
        { header: 'Time', cell: (e) => formatDateTime(e.time), className: 'whitespace-nowrap font-mono text-xs' },
        {
          header: 'Action',
          cell: (e) => (
            <>
              <code className="font-medium">{e.action}</code>{' '}
              {e.outcome === 'failure' ? <StatusBadge status="failure" /> : null}
            </>
          ),
        },
        { header: 'Actor', cell: (e) => e.actor, className: 'text-xs' },
        { header: 'Target', cell: (e) => e.target ?? '—', from: 'md', className: 'font-mono text-xs' },
        {
          header: 'Details',
          from: 'lg',
          className: 'max-w-72 truncate font-mono text-xs text-muted-foreground',
          cell: (e) => <span title={JSON.stringify(e.details)}>{JSON.stringify(e.details)}</span>,
        },
      ]}
    />
  );
}

export function AcmePage() {
  const { can } = useMe();
  const {
    data: { items: directories },
  } = useSuspenseQuery(trpc.acme.directories.queryOptions(undefined, { staleTime: 0 }));
  return (
    <div>
      <PageHeader
        title="ACME"
        description={
          'RFC 8555 directories per CA for certbot, lego, cert-manager, Caddy and Traefik: accounts, orders, ' +
          'external account binding keys'
        }
      />
      <Tabs defaultValue="directories">
        <TabsList>
          <TabsTrigger value="directories">Directories</TabsTrigger>
          <TabsTrigger value="accounts">Accounts</TabsTrigger>
          <TabsTrigger value="orders">Orders</TabsTrigger>
          <TabsTrigger value="eab">EAB keys</TabsTrigger>
          {can('audit:read') ? <TabsTrigger value="activity">Activity</TabsTrigger> : null}
        </TabsList>
        <TabsContent value="directories">
          <DirectoriesTab directories={directories} />
        </TabsContent>
        <TabsContent value="accounts">
          <AccountsTab />
        </TabsContent>
        <TabsContent value="orders">
          <OrdersTab />
        </TabsContent>
        <TabsContent value="eab">
          <EabKeysTab directories={directories} />
        </TabsContent>
        {can('audit:read') ? (
          <TabsContent value="activity">
            <ActivityTab />
          </TabsContent>
        ) : null}
      </Tabs>
    </div>
  );
}
