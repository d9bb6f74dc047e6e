import { useState } from 'react';
import { useMutation, useQuery, useSuspenseQuery } from '@tanstack/react-query';
import { Ban, Tag, UserRound, X } from 'lucide-react';
import { trpc, type RouterOutputs } from '../../lib/trpc';
import { useMe } from '../../lib/auth';
import { useInvalidate, pageItems } from '../../lib/hooks';
import { formatDateTime } from '../../lib/utils';
import { Button } from '../../components/ui/button';
import { Badge, StatusBadge } from '../../components/ui/badge';
import { Alert, ErrorAlert } from '../../components/ui/alert';
import { ConfirmDialog } from '../../components/ui/dialog';
import { DataTable } from '../../components/data-table';
import { FormDialog } from '../../components/form-dialog';
import { SelectField, TextField } from '../../components/form-fields';
import { useEnvironmentOptions } from './ssh-registry-tabs';
import { ManageAction } from '../../components/manage-action';

type SshUser = RouterOutputs['ssh']['listUsers']['items'][number];
type SshBlock = RouterOutputs['ssh']['listBlocks']['items'][number];
const ms = (iso: string) => Date.parse(iso);

/** Block a user on one host or on every host (fleet-wide); the dialog is shared by the users and blocks tabs. */
function BlockDialog({
  user,
  open,
  onOpenChange,
}: {
  user?: string;
  open: boolean;
  onOpenChange: (o: boolean) => void;
}) {
  const invalidate = useInvalidate();
  const environments = useEnvironmentOptions();
  const { data: users } = useQuery({
    ...trpc.ssh.listUsers.queryOptions(undefined, { select: pageItems }),
    enabled: open && !user,
  });
  const [who, setWho] = useState('');
  const [environment, setEnvironment] = useState('');
  const [host, setHost] = useState('');
  const [reason, setReason] = useState('');
  const env = environment || environments[0];
  const { data: hosts } = useQuery({
    ...trpc.ssh.listHosts.queryOptions({ environment: env }, { select: pageItems }),
    enabled: open,
  });
  const userOptions = (users ?? []).map((u) => u.name);
  const block = useMutation(
    trpc.ssh.block.mutationOptions({
      onSuccess: async () => {
        onOpenChange(false);
        setReason('');
        setHost('');
        await invalidate(trpc.ssh.pathKey());
      },
    }),
  );
  return (
    <FormDialog
      open={open}
      onOpenChange={(o) => {
        if (o) block.reset();
        onOpenChange(o);
      }}
      title={user ? `Block ${user}` : 'Block a user'}
      description="No certificate is issued for a blocked user there; their unexpired certificates enter the host KRLs"
      submitLabel="Block"
      pending={block.isPending}
      error={block.error}
      onSubmit={() =>
        block.mutate({
          user: user ?? (who || userOptions[0] || ''),
          environment: host ? env : undefined,
          host: host || undefined,
          reason: reason.trim() || undefined,
        })
      }
    >
      {user ? null : (
        <SelectField
          id="ssh-block-user"
          label="User"
          value={who || userOptions[0] || ''}
          onChange={setWho}
          options={userOptions}
        />
      )}
      <SelectField
        id="ssh-block-env"
        label="Environment"
        value={env}
        onChange={setEnvironment}
        options={environments}
      />
      <SelectField
        id="ssh-block-host"
        label="Host"
        value={host}
        onChange={setHost}
        options={[{ value: '', label: 'every host (fleet-wide)' }, ...(hosts ?? []).map((h) => h.name)]}
      />
      <TextField id="ssh-block-reason" label="Reason" value={reason} onChange={setReason} />
    </FormDialog>
  );
}

export function UsersTab() {
  const { can } = useMe();
  const invalidate = useInvalidate();
  const { data: users } = useSuspenseQuery(trpc.ssh.listUsers.queryOptions(undefined, { select: pageItems }));
  const { data: principals } = useQuery(trpc.ssh.listPrincipals.queryOptions(undefined, { select: pageItems }));
  const [adding, setAdding] = useState(false);
  const [name, setName] = useState('');
  const [granting, setGranting] = useState<SshUser | null>(null);
  const [principal, setPrincipal] = useState('');
  const [blocking, setBlocking] = useState<string | null>(null);
  const onSuccess = () => invalidate(trpc.ssh.pathKey());
  const add = useMutation(
    trpc.ssh.addUser.mutationOptions({
      onSuccess: async () => {
        setAdding(false);
        setName('');
        await onSuccess();
      },
    }),
  );
  const grant = useMutation(
    trpc.ssh.grant.mutationOptions({
      onSuccess: async () => {
        setGranting(null);
        setPrincipal('');
        await onSuccess();
      },
    }),
  );
  const ungrant = useMutation(trpc.ssh.ungrant.mutationOptions({ onSuccess }));
  const disable = useMutation(trpc.ssh.setUserDisabled.mutationOptions({ onSuccess }));
  const grantable = (principals ?? []).map((p) => p.name).filter((p) => !granting?.principals.includes(p));
  const manage = can('ssh:manage');
  return (
    <div className="space-y-4">
      <ErrorAlert error={ungrant.error ?? disable.error} />
      <ManageAction
        permission="ssh:manage"
        label="Add user"
        onClick={() => {
          add.reset();
          setAdding(true);
        }}
      />
      <DataTable<SshUser>
        testId="ssh-users-table"
        rows={users}
        rowKey={(u) => u.id}
        rowAttributes={(u) => ({ 'data-ssh-user': u.name })}
        empty={{
          icon: UserRound,
          title: 'No SSH user registered',
          body: 'Registered users may only request the principals granted to them; blocks apply to them',
        }}
        columns={[
          { header: 'User', cell: (u) => u.name, className: 'font-medium' },
          {
            header: 'Principals',
            cell: (u) => (
              <div className="flex flex-wrap gap-1">
                {u.principals.length === 0 ? <span className="text-xs text-muted-foreground">none</span> : null}
                {u.principals.map((p) => (
                  <Badge key={p} variant="outline" data-grant={p}>
                    {p}
                    {manage ? (
                      <button
                        type="button"
                        className="cursor-pointer text-muted-foreground hover:text-destructive"
                        aria-label={`Revoke ${p} from ${u.name}`}
                        onClick={() => ungrant.mutate({ user: u.name, principal: p })}
                      >
                        <X className="size-3" />
                      </button>
                    ) : null}
                  </Badge>
                ))}
              </div>
            ),
          },
          {
            header: 'Blocks',
            cell: (u) => (
              <span data-blocks={u.blocks}>{u.blocks ? <Badge variant="destructive">{u.blocks}</Badge> : '—'}</span>
            ),
          },
          { header: 'Status', cell: (u) => <StatusBadge status={u.disabled ? 'disabled' : 'active'} /> },
          manage && {
            header: 'Actions',
            align: 'right',
            cell: (u) => (
              <div className="flex justify-end gap-2">
                <Button
                  size="sm"
                  variant="outline"
                  onClick={() => {
                    grant.reset();
                    setGranting(u);
                  }}
                >
                  Grant
                </Button>
                <Button size="sm" variant="outline" onClick={() => setBlocking(u.name)}>
                  Block
                </Button>
                <Button
                  size="sm"
                  variant="outline"
                  disabled={disable.isPending}
                  onClick={() => disable.mutate({ name: u.name, disabled: !u.disabled })}
                >
                  {u.disabled ? 'Enable' : 'Disable'}
                </Button>
              </div>
            ),
          },
        ]}
      />
      <FormDialog
        open={adding}
        onOpenChange={setAdding}
        title="Add an SSH user"
        submitLabel="Add user"
        pending={add.isPending}
        error={add.error}
        onSubmit={() => add.mutate({ name })}
      >
        <TextField id="ssh-user-name" label="User name" value={name} onChange={setName} required />
      </FormDialog>
      <FormDialog
        open={!!granting}
        onOpenChange={(o) => !o && setGranting(null)}
        title={`Grant a principal to ${granting?.name ?? ''}`}
        description="The user may then request certificates carrying it"
        submitLabel="Grant"
        pending={grant.isPending}
        error={grant.error}
        onSubmit={() => granting && grant.mutate({ user: granting.name, principal: principal || grantable[0] || '' })}
      >
        {grantable.length ? (
          <SelectField
            id="ssh-grant-principal"
            label="Principal"
            value={principal || grantable[0]}
            onChange={setPrincipal}
            options={grantable}
          />
        ) : (
          <Alert level="warning" title="No principal left to grant: add one to the catalogue first" />
        )}
      </FormDialog>
      <BlockDialog user={blocking ?? undefined} open={!!blocking} onOpenChange={(o) => !o && setBlocking(null)} />
    </div>
  );
}

export function PrincipalsTab() {
  const invalidate = useInvalidate();
  const { data: principals } = useSuspenseQuery(trpc.ssh.listPrincipals.queryOptions(undefined, { select: pageItems }));
  const [open, setOpen] = useState(false);
  const [name, setName] = useState('');
  const [description, setDescription] = useState('');
  const add = useMutation(
    trpc.ssh.addPrincipal.mutationOptions({
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
      <ManageAction
        permission="ssh:manage"
        label="Add principal"
        onClick={() => {
          add.reset();
          setOpen(true);
        }}
      />
      <DataTable
        testId="ssh-principals-table"
        rows={principals}
        rowKey={(p) => p.id}
        rowAttributes={(p) => ({ 'data-ssh-principal': p.name })}
        empty={{
          icon: Tag,
          title: 'The principals catalogue is empty',
          body: 'Principals are granted to users and mapped to local accounts on hosts',
        }}
        columns={[
          { header: 'Principal', cell: (p) => p.name, className: 'font-medium' },
          { header: 'Description', cell: (p) => p.description ?? '—', className: 'text-xs' },
          { header: 'Granted to', cell: (p) => p.users.join(', ') || '—' },
          { header: 'Added', cell: (p) => formatDateTime(ms(p.createdAt)), from: 'lg' },
        ]}
      />
      <FormDialog
        open={open}
        onOpenChange={setOpen}
        title="Add a principal"
        submitLabel="Add principal"
        pending={add.isPending}
        error={add.error}
        onSubmit={() => add.mutate({ name, description: description.trim() || undefined })}
      >
        <TextField id="ssh-principal-name" label="Principal" value={name} onChange={setName} required />
        <TextField id="ssh-principal-description" label="Description" value={description} onChange={setDescription} />
      </FormDialog>
    </div>
  );
}

export function BlocksTab() {
  const { can } = useMe();
  const invalidate = useInvalidate();
  const { data: blocks } = useSuspenseQuery(trpc.ssh.listBlocks.queryOptions(undefined, { select: pageItems }));
  const [open, setOpen] = useState(false);
  const [lifting, setLifting] = useState<SshBlock | null>(null);
  const unblock = useMutation(
    trpc.ssh.unblock.mutationOptions({
      onSuccess: async () => {
        setLifting(null);
        await invalidate(trpc.ssh.pathKey());
      },
    }),
  );
  const manage = can('ssh:manage');
  return (
    <div className="space-y-4">
      <ErrorAlert error={unblock.error} />
      <ManageAction label="Block a user" permission="ssh:manage" icon={Ban} onClick={() => setOpen(true)} />
      <DataTable
        testId="ssh-blocks-table"
        rows={blocks}
        rowKey={(b) => b.id}
        rowAttributes={(b) => ({ 'data-ssh-block': `${b.user}@${b.host ?? '*'}` })}
        empty={{ icon: Ban, title: 'Nobody is blocked' }}
        columns={[
          { header: 'User', cell: (b) => b.user, className: 'font-medium' },
          {
            header: 'Where',
            cell: (b) =>
              b.host ? (
                <>
                  {b.host} <span className="text-xs text-muted-foreground">({b.environment})</span>
                </>
              ) : (
                <Badge variant="destructive">every host</Badge>
              ),
          },
          { header: 'Reason', cell: (b) => b.reason ?? '—', className: 'text-xs' },
          { header: 'By', cell: (b) => b.createdBy, from: 'md', className: 'text-xs' },
          { header: 'Since', cell: (b) => formatDateTime(ms(b.createdAt)), from: 'md' },
          manage && {
            header: 'Actions',
            align: 'right',
            cell: (b) => (
              <Button size="sm" variant="outline" onClick={() => setLifting(b)}>
                Unblock
              </Button>
            ),
          },
        ]}
      />
      <BlockDialog open={open} onOpenChange={setOpen} />
      <ConfirmDialog
        open={!!lifting}
        onOpenChange={(o) => !o && setLifting(null)}
        title={`Unblock ${lifting?.user ?? ''}?`}
        description={`${lifting?.user ?? ''} may get certificates for ${
          lifting?.host ?? 'every host'
        } again; the host KRLs no longer list their certificates.`}
        confirmLabel="Unblock"
        pending={unblock.isPending}
        onConfirm={() => lifting && unblock.mutate({ id: lifting.id })}
      />
    </div>
  );
}
