import { useState } from 'react';
import { useMutation, useQuery, useSuspenseQuery } from '@tanstack/react-query';
import { Boxes, KeyRound, Server, Users } from 'lucide-react';
import { trpc, type RouterOutputs } from '../../lib/trpc';
import { useMe } from '../../lib/auth';
import { useInvalidate, pageItems } from '../../lib/hooks';
import { formatDate } from '../../lib/utils';
import { Button } from '../../components/ui/button';
import { Badge } from '../../components/ui/badge';
import { Alert, ErrorAlert } from '../../components/ui/alert';
import { Dialog, DialogContent } from '../../components/ui/dialog';
import { DataTable } from '../../components/data-table';
import { FormDialog } from '../../components/form-dialog';
import { PemBlock } from '../../components/pem-block';
import { SelectField, SelectInput, TextField } from '../../components/form-fields';
import { ManageAction } from '../../components/manage-action';

type SshEnvironment = RouterOutputs['ssh']['listEnvironments']['items'][number];
type SshHost = RouterOutputs['ssh']['listHosts']['items'][number];
const ms = (iso: string) => Date.parse(iso);
/** `a, b c` → ['a', 'b', 'c'] */
export const splitList = (v: string) => v.split(/[\s,]+/).filter(Boolean);

/** The environment names as select options (`default` first when it exists). */
export function useEnvironmentOptions(): string[] {
  const { data } = useQuery(trpc.ssh.listEnvironments.queryOptions(undefined, { select: pageItems }));
  const names = (data ?? []).map((e) => e.name);
  return names.length ? names : ['default'];
}

function TrustDialog({ environment, onClose }: { environment: string | null; onClose: () => void }) {
  const trust = useQuery({
    ...trpc.ssh.trust.queryOptions({ environment: environment ?? '' }),
    enabled: !!environment,
  });
  return (
    <Dialog open={!!environment} onOpenChange={(o) => !o && onClose()}>
      <DialogContent
        title={`Trust lines of ${environment ?? ''}`}
        description="Active and rotating CAs: hosts trust its user CAs, clients its host CAs"
        className="max-w-3xl"
      >
        <ErrorAlert error={trust.error} />
        {trust.data ? (
          <div className="grid grid-cols-[minmax(0,1fr)] gap-4" data-testid="ssh-trust">
            <PemBlock
              label="TrustedUserCAKeys (sshd on the hosts)"
              pem={trust.data.userCaKeys || '# no user CA in this environment'}
              filename="trusted_user_ca_keys.pub"
            />
            <PemBlock
              label="known_hosts (@cert-authority, on the clients)"
              pem={trust.data.knownHosts || '# no host CA in this environment'}
              filename="known_hosts"
            />
          </div>
        ) : null}
      </DialogContent>
    </Dialog>
  );
}

export function EnvironmentsTab() {
  const invalidate = useInvalidate();
  const { data: envs } = useSuspenseQuery(trpc.ssh.listEnvironments.queryOptions(undefined, { select: pageItems }));
  const [open, setOpen] = useState(false);
  const [name, setName] = useState('');
  const [description, setDescription] = useState('');
  const [trustOf, setTrustOf] = useState<string | null>(null);
  const create = useMutation(
    trpc.ssh.createEnvironment.mutationOptions({
      onSuccess: async () => {
        setOpen(false);
        setName('');
        setDescription('');
        await invalidate(trpc.ssh.pathKey());
      },
    }),
  );
  return (
    <div className="space-y-4">
      <Alert title="Environments are trust boundaries">
        A host in an environment trusts only that environment&apos;s user CAs, and clients accept host certificates of
        its host CAs only. Each environment has an active user CA and host CA (plus the rotating ones during a
        rotation).
      </Alert>
      <ManageAction
        permission="ssh:manage"
        label="Create environment"
        onClick={() => {
          create.reset();
          setOpen(true);
        }}
      />
      <DataTable<SshEnvironment>
        testId="ssh-environments-table"
        rows={envs}
        rowKey={(e) => e.id}
        rowAttributes={(e) => ({ 'data-ssh-environment': e.name })}
        empty={{
          icon: Boxes,
          title: 'No environment yet',
          body: 'The first SSH CA creates the default environment; pkim ssh env create staging adds another',
        }}
        columns={[
          { header: 'Name', cell: (e) => e.name, className: 'font-medium' },
          { header: 'Description', cell: (e) => e.description ?? '—', from: 'md', className: 'text-xs' },
          { header: 'User CAs', cell: (e) => <span data-testid={`env-user-cas-${e.name}`}>{e.userCas}</span> },
          { header: 'Host CAs', cell: (e) => e.hostCas },
          { header: 'Hosts', cell: (e) => <span data-testid={`env-hosts-${e.name}`}>{e.hosts}</span> },
          { header: 'Created', cell: (e) => formatDate(ms(e.createdAt)), from: 'lg' },
          {
            header: 'Actions',
            align: 'right',
            cell: (e) => (
              <Button size="sm" variant="outline" onClick={() => setTrustOf(e.name)}>
                <KeyRound /> Trust lines
              </Button>
            ),
          },
        ]}
      />
      <TrustDialog environment={trustOf} onClose={() => setTrustOf(null)} />
      <FormDialog
        open={open}
        onOpenChange={setOpen}
        title="Create an environment"
        description="Then create its user and host CAs (Create SSH CA, environment field)"
        submitLabel="Create environment"
        pending={create.isPending}
        error={create.error}
        onSubmit={() => create.mutate({ name, description: description.trim() || undefined })}
      >
        <TextField id="ssh-env-name" label="Name" value={name} onChange={setName} required />
        <TextField id="ssh-env-description" label="Description" value={description} onChange={setDescription} />
      </FormDialog>
    </div>
  );
}

/** A host's principal → local account mappings (AuthorizedPrincipalsFile per account), with map/unmap. */
function AccountsDialog({ host, onClose }: { host: SshHost | null; onClose: () => void }) {
  const { can } = useMe();
  const invalidate = useInvalidate();
  const ref = { environment: host?.environment, host: host?.name ?? '' };
  const accounts = useQuery({ ...trpc.ssh.hostAccounts.queryOptions(ref), enabled: !!host });
  const { data: principals } = useQuery(trpc.ssh.listPrincipals.queryOptions(undefined, { select: pageItems }));
  const [account, setAccount] = useState('');
  const [principal, setPrincipal] = useState('');
  const done = { onSuccess: () => invalidate(trpc.ssh.hostAccounts.queryKey()) };
  const map = useMutation(
    trpc.ssh.mapAccount.mutationOptions({
      onSuccess: async () => {
        setAccount('');
        await done.onSuccess();
      },
    }),
  );
  const unmap = useMutation(trpc.ssh.unmapAccount.mutationOptions(done));
  const options = (principals ?? []).map((p) => p.name);
  return (
    <Dialog open={!!host} onOpenChange={(o) => !o && onClose()}>
      <DialogContent
        title={`Accounts on ${host?.name ?? ''}`}
        description="Which principals may log in as which local account (sshd AuthorizedPrincipalsFile)"
        className="max-w-2xl"
      >
        <ErrorAlert error={accounts.error ?? map.error ?? unmap.error} />
        <DataTable
          testId="ssh-accounts-table"
          rows={accounts.data?.mappings}
          rowKey={(m) => m.id}
          rowAttributes={(m) => ({ 'data-ssh-mapping': `${m.principal}:${m.account}` })}
          empty={{ icon: Users, title: 'No account mapping', body: 'Nobody can log in to this host yet' }}
          columns={[
            { header: 'Principal', cell: (m) => m.principal, className: 'font-medium' },
            { header: 'Local account', cell: (m) => m.account, className: 'font-mono text-xs' },
            can('ssh:manage') && {
              header: '',
              align: 'right',
              cell: (m) => (
                <Button
                  size="sm"
                  variant="ghost"
                  disabled={unmap.isPending}
                  onClick={() => unmap.mutate({ ...ref, account: m.account, principal: m.principal })}
                >
                  Remove
                </Button>
              ),
            },
          ]}
        />
        {can('ssh:manage') ? (
          <form
            className="flex flex-wrap items-end gap-2"
            onSubmit={(e) => {
              e.preventDefault();
              map.mutate({ ...ref, account, principal: principal || options[0] || '' });
            }}
          >
            <SelectField
              id="ssh-map-principal"
              label="Principal"
              value={principal || options[0] || ''}
              onChange={setPrincipal}
              options={options}
            />
            <TextField id="ssh-map-account" label="Local account" value={account} onChange={setAccount} required />
            <Button type="submit" disabled={map.isPending || !options.length}>
              Map
            </Button>
          </form>
        ) : null}
        {accounts.data
          ? Object.entries(accounts.data.principalsFiles).map(([acc, content]) => (
              <PemBlock key={acc} label={`principals/${acc}`} pem={content} filename={acc} />
            ))
          : null}
      </DialogContent>
    </Dialog>
  );
}

/** Everything a host installs (sshd drop-in, CA keys, principals files, KRL refresh script). */
function BundleDialog({ host, onClose }: { host: SshHost | null; onClose: () => void }) {
  const bundle = useQuery({
    ...trpc.ssh.hostBundle.queryOptions({ environment: host?.environment, host: host?.name ?? '' }),
    enabled: !!host,
  });
  return (
    <Dialog open={!!host} onOpenChange={(o) => !o && onClose()}>
      <DialogContent
        title={`Deploy bundle for ${host?.name ?? ''}`}
        description={`Files to install under ${bundle.data?.dir ?? '/etc/ssh/pkim'}; pkim ssh host bundle writes them`}
        className="max-h-[90vh] max-w-3xl overflow-auto"
      >
        <ErrorAlert error={bundle.error} />
        {bundle.data ? (
          <div className="grid grid-cols-[minmax(0,1fr)] gap-4" data-testid="ssh-bundle">
            <p className="text-sm">
              KRL URL: <code className="text-xs">{bundle.data.krlUrl ?? 'no public URL configured'}</code>
            </p>
            {Object.entries(bundle.data.files).map(([file, content]) => (
              <PemBlock key={file} label={file} pem={content || '# (empty)'} filename={file.split('/').pop()!} />
            ))}
          </div>
        ) : null}
      </DialogContent>
    </Dialog>
  );
}

export function HostsTab() {
  const invalidate = useInvalidate();
  const environments = useEnvironmentOptions();
  const [environment, setEnvironment] = useState('');
  const { data: hosts } = useSuspenseQuery(
    trpc.ssh.listHosts.queryOptions(environment ? { environment } : undefined, { select: pageItems }),
  );
  const [open, setOpen] = useState(false);
  const [name, setName] = useState('');
  const [hostEnv, setHostEnv] = useState('');
  const [principals, setPrincipals] = useState('');
  const [accountsOf, setAccountsOf] = useState<SshHost | null>(null);
  const [bundleOf, setBundleOf] = useState<SshHost | null>(null);
  const add = useMutation(
    trpc.ssh.addHost.mutationOptions({
      onSuccess: async () => {
        setOpen(false);
        setName('');
        setPrincipals('');
        await invalidate(trpc.ssh.pathKey());
      },
    }),
  );
  return (
    <div className="space-y-4">
      <ManageAction
        permission="ssh:manage"
        label="Add host"
        onClick={() => {
          add.reset();
          setOpen(true);
        }}
      />
      <DataTable<SshHost>
        testId="ssh-hosts-table"
        rows={hosts}
        rowKey={(h) => h.id}
        rowAttributes={(h) => ({ 'data-ssh-host': h.name })}
        toolbar={
          <SelectInput
            aria-label="Environment"
            className="ml-auto h-9 w-auto"
            value={environment}
            onChange={setEnvironment}
            options={[{ value: '', label: 'all environments' }, ...environments]}
          />
        }
        empty={{
          icon: Server,
          title: 'No host registered',
          body: 'Hosts register here or at their first bootstrap with a fleet token (sign-host)',
        }}
        columns={[
          { header: 'Host', cell: (h) => h.name, className: 'font-medium' },
          { header: 'Environment', cell: (h) => h.environment },
          {
            header: 'Certificate names',
            cell: (h) => (
              <div className="flex flex-wrap gap-1">
                {h.principals.map((p) => (
                  <Badge key={p} variant="outline">
                    {p}
                  </Badge>
                ))}
              </div>
            ),
          },
          { header: 'Added', cell: (h) => formatDate(ms(h.createdAt)), from: 'lg' },
          {
            header: 'Actions',
            align: 'right',
            cell: (h) => (
              <div className="flex justify-end gap-2">
                <Button size="sm" variant="outline" onClick={() => setAccountsOf(h)}>
                  Accounts
                </Button>
                <Button size="sm" variant="outline" onClick={() => setBundleOf(h)}>
                  Deploy bundle
                </Button>
              </div>
            ),
          },
        ]}
      />
      <AccountsDialog host={accountsOf} onClose={() => setAccountsOf(null)} />
      <BundleDialog host={bundleOf} onClose={() => setBundleOf(null)} />
      <FormDialog
        open={open}
        onOpenChange={setOpen}
        title="Add a host"
        submitLabel="Add host"
        pending={add.isPending}
        error={add.error}
        onSubmit={() =>
          add.mutate({
            name,
            environment: hostEnv || environments[0],
            principals: principals.trim() ? splitList(principals) : undefined,
          })
        }
      >
        <TextField id="ssh-host-name" label="Host name" value={name} onChange={setName} required />
        <SelectField
          id="ssh-host-env"
          label="Environment"
          value={hostEnv || environments[0]}
          onChange={setHostEnv}
          options={environments}
        />
        <TextField
          id="ssh-host-principals"
          label="Certificate names"
          hint="names and addresses its host certificate may carry (default: the host name)"
          value={principals}
          onChange={setPrincipals}
          placeholder="web1.example.com, 10.0.0.5"
        />
      </FormDialog>
    </div>
  );
}
