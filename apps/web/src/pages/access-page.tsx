import { useState } from 'react';
import { useMutation, useSuspenseQuery } from '@tanstack/react-query';
import { KeyRound, Users } from 'lucide-react';
import { trpc, type RouterOutputs } from '../lib/trpc';
import { useMe } from '../lib/auth';
import { useInvalidate } from '../lib/hooks';
import { formatDate, formatDateTime } from '../lib/utils';
import { PageHeader } from '../components/page';
import { Button } from '../components/ui/button';
import { ManageAction } from '../components/manage-action';
import { Badge, StatusBadge } from '../components/ui/badge';
import { ErrorAlert } from '../components/ui/alert';
import { ConfirmDialog } from '../components/ui/dialog';
import { Tabs, TabsContent, TabsList, TabsTrigger } from '../components/ui/tabs';
import { DataTable } from '../components/data-table';
import { FormDialog, SecretOnce } from '../components/form-dialog';
import { SelectField, SelectInput, TextField } from '../components/form-fields';

const ROLES = ['admin', 'operator', 'auditor', 'requester'] as const;
type Role = (typeof ROLES)[number];
type Token = RouterOutputs['token']['list']['items'][number];

function UsersTab() {
  const { me } = useMe();
  const invalidate = useInvalidate();
  const { data: users } = useSuspenseQuery(trpc.user.list.queryOptions());
  const [open, setOpen] = useState(false);
  const [username, setUsername] = useState('');
  const [password, setPassword] = useState('');
  const [role, setRole] = useState<Role>('operator');
  const refresh = () => invalidate(trpc.user.list.queryKey());
  const create = useMutation(
    trpc.user.create.mutationOptions({
      onSuccess: async () => {
        setOpen(false);
        setUsername('');
        setPassword('');
        await refresh();
      },
    }),
  );
  const setRoleM = useMutation(trpc.user.setRole.mutationOptions({ onSuccess: refresh }));
  const disable = useMutation(trpc.user.disable.mutationOptions({ onSuccess: refresh }));
  return (
    <div className="space-y-4">
      <ManageAction label="Add user" permission="user:manage" onClick={() => setOpen(true)} />
      <ErrorAlert error={setRoleM.error ?? disable.error} />
      <DataTable
        testId="users-table"
        rows={users.items}
        rowKey={(u) => u.id}
        rowAttributes={(u) => ({ 'data-user': u.username })}
        empty={{ icon: Users, title: 'No users' }}
        columns={[
          { header: 'Username', cell: (u) => u.username, className: 'font-medium' },
          {
            header: 'Role',
            cell: (u) => (
              <SelectInput
                aria-label={`Role of ${u.username}`}
                className="h-8 w-auto"
                value={u.role}
                disabled={u.id === me.id}
                onChange={(r) => setRoleM.mutate({ id: u.id, role: r })}
                options={ROLES}
              />
            ),
          },
          {
            header: 'Status',
            cell: (u) => (
              <>
                <StatusBadge status={u.disabled ? 'disabled' : 'active'} />
                {u.lockedUntil && Date.parse(u.lockedUntil) > Date.now() ? (
                  <Badge variant="warning">locked</Badge>
                ) : null}
                {u.mustChangePassword ? (
                  <Badge variant="warning" title="changes the password at the next sign-in, before anything else">
                    new password due
                  </Badge>
                ) : null}
              </>
            ),
          },
          { header: 'Created', cell: (u) => formatDate(u.createdAt), from: 'md' },
          {
            header: 'Actions',
            align: 'right',
            cell: (u) =>
              u.id !== me.id ? (
                <Button size="sm" variant="outline" onClick={() => disable.mutate({ id: u.id, disabled: !u.disabled })}>
                  {u.disabled ? 'Enable' : 'Disable'}
                </Button>
              ) : (
                <span className="text-xs text-muted-foreground">you</span>
              ),
          },
        ]}
      />
      <FormDialog
        open={open}
        onOpenChange={setOpen}
        title="Add a user"
        description="Console account with a role"
        submitLabel="Create user"
        pending={create.isPending}
        error={create.error}
        onSubmit={() => create.mutate({ username, password, role })}
      >
        <TextField id="new-username" label="Username" value={username} onChange={setUsername} required />
        <TextField
          id="new-password"
          label="Initial password"
          hint="At least 12 characters"
          type="password"
          autoComplete="new-password"
          value={password}
          onChange={setPassword}
          required
        />
        <SelectField id="new-role" label="Role" value={role} onChange={setRole} options={ROLES} />
      </FormDialog>
    </div>
  );
}

function TokensTab() {
  const invalidate = useInvalidate();
  const { data: tokens } = useSuspenseQuery(trpc.token.list.queryOptions());
  const [open, setOpen] = useState(false);
  const [name, setName] = useState('');
  const [role, setRole] = useState<Role>('operator');
  const [scopes, setScopes] = useState('');
  const [expiresIn, setExpiresIn] = useState('90d');
  const [revoking, setRevoking] = useState<Token | null>(null);
  const refresh = () => invalidate(trpc.token.list.queryKey());
  const create = useMutation(trpc.token.create.mutationOptions({ onSuccess: refresh }));
  const revoke = useMutation(
    trpc.token.revoke.mutationOptions({
      onSuccess: async () => {
        setRevoking(null);
        await refresh();
      },
    }),
  );
  return (
    <div className="space-y-4">
      <ManageAction
        label="Create API token"
        permission="token:manage"
        onClick={() => {
          create.reset();
          setOpen(true);
        }}
      />
      <ErrorAlert error={revoke.error} />
      <DataTable
        testId="tokens-table"
        rows={tokens.items}
        rowKey={(t) => t.id}
        empty={{
          icon: KeyRound,
          title: 'No API tokens',
          body: 'Tokens authenticate automation (CLI with --server, CI, cert-manager) with a role and optional scopes.',
        }}
        columns={[
          { header: 'Name', cell: (t) => t.name, className: 'font-medium' },
          {
            header: 'Role / scopes',
            className: 'text-xs',
            cell: (t) => `${t.role}${t.scopes.length ? ` · ${t.scopes.join(' ')}` : ''}`,
          },
          { header: 'Expires', cell: (t) => (t.expiresAt ? formatDate(t.expiresAt) : 'never'), from: 'md' },
          { header: 'Last used', cell: (t) => (t.lastUsedAt ? formatDateTime(t.lastUsedAt) : '—'), from: 'md' },
          { header: 'Status', cell: (t) => <StatusBadge status={t.revokedAt ? 'revoked' : 'active'} /> },
          {
            header: 'Actions',
            align: 'right',
            cell: (t) =>
              !t.revokedAt ? (
                <Button size="sm" variant="outline" onClick={() => setRevoking(t)}>
                  Revoke
                </Button>
              ) : null,
          },
        ]}
      />
      <FormDialog
        open={open}
        onOpenChange={setOpen}
        title="Create an API token"
        description="The secret is shown once, right after creation."
        submitLabel="Create token"
        pending={create.isPending}
        error={create.error}
        result={
          create.data ? (
            <SecretOnce
              secret={create.data.token}
              testId="token-secret"
              copyLabel="Copy token"
              onDone={() => setOpen(false)}
            />
          ) : undefined
        }
        onSubmit={() => {
          const list = scopes.split(/[\s,]+/).filter(Boolean);
          create.mutate({
            name,
            role,
            ...(list.length ? { scopes: list } : {}),
            ...(expiresIn.trim() ? { expiresIn: expiresIn.trim() } : {}),
          });
        }}
      >
        <TextField id="token-name" label="Name" value={name} onChange={setName} required />
        <SelectField id="token-role" label="Role" value={role} onChange={setRole} options={ROLES} />
        <TextField
          id="token-scopes"
          label="Scopes"
          hint="Optional, narrows the role: certificate:issue, certificate:*, …"
          value={scopes}
          onChange={setScopes}
        />
        <TextField
          id="token-exp"
          label="Expires in"
          hint="e.g. 90d, 24h, 1y; empty: never"
          value={expiresIn}
          onChange={setExpiresIn}
        />
      </FormDialog>
      <ConfirmDialog
        open={!!revoking}
        onOpenChange={(o) => !o && setRevoking(null)}
        title={`Revoke token ${revoking?.name ?? ''}?`}
        description="Clients using it are refused from now on."
        confirmLabel="Revoke token"
        pending={revoke.isPending}
        onConfirm={() => revoking && revoke.mutate({ id: revoking.id })}
      />
    </div>
  );
}

const ROLE_DESCRIPTIONS: { role: Role; may: string }[] = [
  { role: 'admin', may: 'everything: CAs, users, tokens, issuance, revocation, audit' },
  { role: 'operator', may: 'issue and revoke certificates, review requests, read CAs and certificates' },
  { role: 'auditor', may: 'read CAs, certificates, requests and the audit log; change nothing' },
  { role: 'requester', may: 'submit certificate requests and follow their own' },
];

export function AccessPage() {
  return (
    <div>
      <PageHeader
        title="Users & tokens"
        description="Who may sign in, with which role, and the API tokens of automation"
      />
      <Tabs defaultValue="users">
        <TabsList>
          <TabsTrigger value="users">
            <Users className="size-4" /> Users
          </TabsTrigger>
          <TabsTrigger value="tokens">
            <KeyRound className="size-4" /> API tokens
          </TabsTrigger>
          <TabsTrigger value="roles">Roles</TabsTrigger>
        </TabsList>
        <TabsContent value="users">
          <UsersTab />
        </TabsContent>
        <TabsContent value="tokens">
          <TokensTab />
        </TabsContent>
        <TabsContent value="roles">
          <DataTable
            rows={ROLE_DESCRIPTIONS}
            rowKey={(r) => r.role}
            empty={{ icon: Users, title: 'No roles' }}
            columns={[
              { header: 'Role', cell: (r) => r.role, className: 'font-medium' },
              { header: 'May', cell: (r) => r.may },
            ]}
          />
        </TabsContent>
      </Tabs>
    </div>
  );
}
