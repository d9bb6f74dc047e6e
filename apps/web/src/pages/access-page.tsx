import { useState } from 'react';
import { useMutation, useQueryClient, useSuspenseQuery } from '@tanstack/react-query';
import { KeyRound, Plus, Users } from 'lucide-react';
import { trpc, type RouterOutputs } from '../lib/trpc';
import { useMe } from '../lib/auth';
import { formatDate, formatDateTime } from '../lib/utils';
import { PageHeader } from '../components/page';
import { Button } from '../components/ui/button';
import { Card, CardContent } from '../components/ui/card';
import { Field, Input, NativeSelect } from '../components/ui/input';
import { Badge, StatusBadge } from '../components/ui/badge';
import { Table, TBody, TD, TH, THead, TR } from '../components/ui/table';
import { EmptyState } from '../components/ui/empty-state';
import { Alert, ErrorAlert } from '../components/ui/alert';
import { ConfirmDialog, Dialog, DialogContent } from '../components/ui/dialog';
import { Tabs, TabsContent, TabsList, TabsTrigger } from '../components/ui/tabs';
import { CopyButton } from '../components/ui/copy-button';

const ROLES = ['admin', 'operator', 'auditor', 'requester'] as const;
type Role = (typeof ROLES)[number];
type Token = RouterOutputs['token']['list'][number];

function UsersTab() {
  const { me } = useMe();
  const qc = useQueryClient();
  const { data: users } = useSuspenseQuery(trpc.user.list.queryOptions());
  const [open, setOpen] = useState(false);
  const [username, setUsername] = useState('');
  const [password, setPassword] = useState('');
  const [role, setRole] = useState<Role>('operator');
  const refresh = () => qc.invalidateQueries({ queryKey: trpc.user.list.queryKey() });
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
      <div className="flex justify-end">
        <Button onClick={() => setOpen(true)}>
          <Plus /> Add user
        </Button>
      </div>
      <ErrorAlert error={setRoleM.error ?? disable.error} />
      <Card>
        <CardContent className="p-0">
          <Table data-testid="users-table">
            <THead>
              <TR>
                <TH>Username</TH>
                <TH>Role</TH>
                <TH>Status</TH>
                <TH className="hidden md:table-cell">Created</TH>
                <TH className="text-right">Actions</TH>
              </TR>
            </THead>
            <TBody>
              {users.map((u) => (
                <TR key={u.id} data-user={u.username}>
                  <TD className="font-medium">{u.username}</TD>
                  <TD>
                    <NativeSelect
                      aria-label={`Role of ${u.username}`}
                      className="h-8 w-auto"
                      value={u.role}
                      disabled={u.id === me.id}
                      onChange={(e) => setRoleM.mutate({ id: u.id, role: e.target.value as Role })}
                    >
                      {ROLES.map((r) => (
                        <option key={r} value={r}>
                          {r}
                        </option>
                      ))}
                    </NativeSelect>
                  </TD>
                  <TD>
                    <StatusBadge status={u.disabled ? 'disabled' : 'active'} />
                    {u.lockedUntil && u.lockedUntil > Date.now() ? <Badge variant="warning">locked</Badge> : null}
                  </TD>
                  <TD className="hidden md:table-cell">{formatDate(u.createdAt)}</TD>
                  <TD className="text-right">
                    {u.id !== me.id ? (
                      <Button
                        size="sm"
                        variant="outline"
                        onClick={() => disable.mutate({ id: u.id, disabled: !u.disabled })}
                      >
                        {u.disabled ? 'Enable' : 'Disable'}
                      </Button>
                    ) : (
                      <span className="text-xs text-muted-foreground">you</span>
                    )}
                  </TD>
                </TR>
              ))}
            </TBody>
          </Table>
        </CardContent>
      </Card>
      <Dialog open={open} onOpenChange={setOpen}>
        <DialogContent title="Add a user" description="Console account with a role">
          <form
            className="grid gap-4"
            onSubmit={(e) => {
              e.preventDefault();
              create.mutate({ username, password, role });
            }}
          >
            <Field label="Username" htmlFor="new-username">
              <Input id="new-username" value={username} onChange={(e) => setUsername(e.target.value)} required />
            </Field>
            <Field label="Initial password" htmlFor="new-password" hint="At least 12 characters">
              <Input
                id="new-password"
                type="password"
                autoComplete="new-password"
                value={password}
                onChange={(e) => setPassword(e.target.value)}
                required
              />
            </Field>
            <Field label="Role" htmlFor="new-role">
              <NativeSelect id="new-role" value={role} onChange={(e) => setRole(e.target.value as Role)}>
                {ROLES.map((r) => (
                  <option key={r} value={r}>
                    {r}
                  </option>
                ))}
              </NativeSelect>
            </Field>
            <ErrorAlert error={create.error} />
            <div className="flex justify-end">
              <Button type="submit" disabled={create.isPending}>
                Create user
              </Button>
            </div>
          </form>
        </DialogContent>
      </Dialog>
    </div>
  );
}

function TokensTab() {
  const qc = useQueryClient();
  const { data: tokens } = useSuspenseQuery(trpc.token.list.queryOptions());
  const [open, setOpen] = useState(false);
  const [name, setName] = useState('');
  const [role, setRole] = useState<Role>('operator');
  const [scopes, setScopes] = useState('');
  const [expiresIn, setExpiresIn] = useState('90d');
  const [revoking, setRevoking] = useState<Token | null>(null);
  const refresh = () => qc.invalidateQueries({ queryKey: trpc.token.list.queryKey() });
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
      <div className="flex justify-end">
        <Button
          onClick={() => {
            create.reset();
            setOpen(true);
          }}
        >
          <Plus /> Create API token
        </Button>
      </div>
      <ErrorAlert error={revoke.error} />
      <Card>
        <CardContent className="p-0">
          {tokens.length === 0 ? (
            <EmptyState icon={KeyRound} title="No API tokens">
              Tokens authenticate automation (CLI with --server, CI, cert-manager) with a role and optional scopes.
            </EmptyState>
          ) : (
            <Table data-testid="tokens-table">
              <THead>
                <TR>
                  <TH>Name</TH>
                  <TH>Role / scopes</TH>
                  <TH className="hidden md:table-cell">Expires</TH>
                  <TH className="hidden md:table-cell">Last used</TH>
                  <TH>Status</TH>
                  <TH className="text-right">Actions</TH>
                </TR>
              </THead>
              <TBody>
                {tokens.map((t) => (
                  <TR key={t.id}>
                    <TD className="font-medium">{t.name}</TD>
                    <TD className="text-xs">
                      {t.role}
                      {t.scopes.length ? ` · ${t.scopes.join(' ')}` : ''}
                    </TD>
                    <TD className="hidden md:table-cell">{t.expiresAt ? formatDate(t.expiresAt) : 'never'}</TD>
                    <TD className="hidden md:table-cell">{t.lastUsedAt ? formatDateTime(t.lastUsedAt) : '—'}</TD>
                    <TD>
                      <StatusBadge status={t.revokedAt ? 'revoked' : 'active'} />
                    </TD>
                    <TD className="text-right">
                      {!t.revokedAt ? (
                        <Button size="sm" variant="outline" onClick={() => setRevoking(t)}>
                          Revoke
                        </Button>
                      ) : null}
                    </TD>
                  </TR>
                ))}
              </TBody>
            </Table>
          )}
        </CardContent>
      </Card>
      <Dialog open={open} onOpenChange={setOpen}>
        <DialogContent title="Create an API token" description="The secret is shown once, right after creation.">
          {create.data ? (
            <div className="grid gap-3">
              <Alert level="warning" title="Copy the token now: it is not stored and will not be shown again" />
              <code className="break-all rounded-md border bg-muted/40 p-3 text-xs" data-testid="token-secret">
                {create.data.token}
              </code>
              <div className="flex justify-end gap-2">
                <CopyButton text={create.data.token} label="Copy token" />
                <Button onClick={() => setOpen(false)}>Done</Button>
              </div>
            </div>
          ) : (
            <form
              className="grid gap-4"
              onSubmit={(e) => {
                e.preventDefault();
                const list = scopes.split(/[\s,]+/).filter(Boolean);
                create.mutate({
                  name,
                  role,
                  ...(list.length ? { scopes: list } : {}),
                  ...(expiresIn.trim() ? { expiresIn: expiresIn.trim() } : {}),
                });
              }}
            >
              <Field label="Name" htmlFor="token-name">
                <Input id="token-name" value={name} onChange={(e) => setName(e.target.value)} required />
              </Field>
              <Field label="Role" htmlFor="token-role">
                <NativeSelect id="token-role" value={role} onChange={(e) => setRole(e.target.value as Role)}>
                  {ROLES.map((r) => (
                    <option key={r} value={r}>
                      {r}
                    </option>
                  ))}
                </NativeSelect>
              </Field>
              <Field
                label="Scopes"
                htmlFor="token-scopes"
                hint="Optional, narrows the role: certificate:issue, certificate:*, …"
              >
                <Input id="token-scopes" value={scopes} onChange={(e) => setScopes(e.target.value)} />
              </Field>
              <Field label="Expires in" htmlFor="token-exp" hint="e.g. 90d, 24h, 1y; empty: never">
                <Input id="token-exp" value={expiresIn} onChange={(e) => setExpiresIn(e.target.value)} />
              </Field>
              <ErrorAlert error={create.error} />
              <div className="flex justify-end">
                <Button type="submit" disabled={create.isPending}>
                  Create token
                </Button>
              </div>
            </form>
          )}
        </DialogContent>
      </Dialog>
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
          <Card>
            <CardContent className="p-0">
              <Table>
                <THead>
                  <TR>
                    <TH>Role</TH>
                    <TH>May</TH>
                  </TR>
                </THead>
                <TBody>
                  <TR>
                    <TD className="font-medium">admin</TD>
                    <TD>everything: CAs, users, tokens, issuance, revocation, audit</TD>
                  </TR>
                  <TR>
                    <TD className="font-medium">operator</TD>
                    <TD>issue and revoke certificates, review requests, read CAs and certificates</TD>
                  </TR>
                  <TR>
                    <TD className="font-medium">auditor</TD>
                    <TD>read CAs, certificates, requests and the audit log; change nothing</TD>
                  </TR>
                  <TR>
                    <TD className="font-medium">requester</TD>
                    <TD>submit certificate requests and follow their own</TD>
                  </TR>
                </TBody>
              </Table>
            </CardContent>
          </Card>
        </TabsContent>
      </Tabs>
    </div>
  );
}
