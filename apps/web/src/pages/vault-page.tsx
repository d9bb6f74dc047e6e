import { useState } from 'react';
import { Link } from '@tanstack/react-router';
import { useMutation, useQuery, useSuspenseQuery } from '@tanstack/react-query';
import { FileBadge, FolderTree, KeySquare, Plus, Vault } from 'lucide-react';
import { trpc, type RouterInputs, type RouterOutputs } from '../lib/trpc';
import { useMe } from '../lib/auth';
import { useInvalidate } from '../lib/hooks';
import { colonHex, formatDate, formatDateTime, relativeDays } from '../lib/utils';
import { PageHeader } from '../components/page';
import { Button } from '../components/ui/button';
import { ManageAction } from '../components/manage-action';
import { Badge, StatusBadge } from '../components/ui/badge';
import { ConfirmDialog } from '../components/ui/dialog';
import { DataTable, Pager, useCursorPages } from '../components/data-table';
import { FormDialog } from '../components/form-dialog';
import { SelectField, SelectInput, TextField } from '../components/form-fields';
import { Field, Input } from '../components/ui/input';
import {
  parseOidList,
  policyIdentifierOf,
  policyRowBlank,
  policyRowError,
  policyRowOf,
  type PolicyRow,
} from '../lib/pki';
import { KeystoresTab } from './vault-keystores-tab';

type Mount = RouterOutputs['vault']['mounts']['list']['items'][number];
type Role = RouterOutputs['vault']['roles']['list']['items'][number];
type PolicyInput = NonNullable<RouterInputs['vault']['roles']['create']['policy']>;
type KeyType = Role['policy']['key_type'];

/** seconds → Vault's shortest spelling (`72h`, `30m`, `0` = the mount's default) */
/** a duration as the API gives it (`1d`, `36h`); `0s` is unset (the mount's default or cap) */
function ttlText(d: string): string {
  return d === '0s' ? '—' : d;
}

const list = (v: string) =>
  v
    .split(/[\s,]+/)
    .map((x) => x.trim())
    .filter(Boolean);

function BindMountDialog({ open, onOpenChange }: { open: boolean; onOpenChange: (o: boolean) => void }) {
  const invalidate = useInvalidate();
  const { data: cas } = useQuery(trpc.ca.list.queryOptions());
  const [path, setPath] = useState('pki');
  const [ca, setCa] = useState('');
  const [maxTtl, setMaxTtl] = useState('');
  const [description, setDescription] = useState('');
  const bind = useMutation(
    trpc.vault.mounts.bind.mutationOptions({
      onSuccess: async () => {
        await invalidate(trpc.vault.mounts.list.queryKey());
        onOpenChange(false);
      },
    }),
  );
  const usable = (cas?.items ?? []).filter((c) => c.status === 'active');
  return (
    <FormDialog
      open={open}
      onOpenChange={onOpenChange}
      mutation={bind}
      title="Bind a PKI mount"
      description="Vault clients reach the CA at /v1/<path>/ (issue, sign, revoke, CRL, …)"
      submitLabel="Bind mount"
      onSubmit={() =>
        bind.mutate({
          path: path.trim(),
          ca: ca || usable[0]?.id || '',
          ...(maxTtl.trim() ? { maxLeaseTtl: maxTtl.trim() } : {}),
          ...(description.trim() ? { description: description.trim() } : {}),
        })
      }
    >
      <TextField id="mount-path" label="Mount path" hint="e.g. pki or pki/prod" value={path} onChange={setPath} />
      <SelectField
        id="mount-ca"
        label="Certificate authority"
        value={ca || usable[0]?.id || ''}
        onChange={setCa}
        options={usable.map((c) => ({ value: c.id, label: c.name }))}
      />
      <TextField
        id="mount-max-ttl"
        label="Max lease TTL"
        hint="Cap of roles without max_ttl, e.g. 8760h (default 768h)"
        value={maxTtl}
        onChange={setMaxTtl}
      />
      <TextField id="mount-description" label="Description" value={description} onChange={setDescription} />
    </FormDialog>
  );
}

function MountsTab({ onRoles }: { onRoles: (mount: string) => void }) {
  const { can } = useMe();
  const manage = can('ca:write');
  const invalidate = useInvalidate();
  const {
    data: { items: mounts },
  } = useSuspenseQuery(trpc.vault.mounts.list.queryOptions());
  const [open, setOpen] = useState(false);
  const [unbinding, setUnbinding] = useState<Mount | null>(null);
  const unbind = useMutation(
    trpc.vault.mounts.unbind.mutationOptions({
      onSuccess: async () => {
        setUnbinding(null);
        await invalidate(trpc.vault.mounts.list.queryKey());
      },
    }),
  );
  return (
    <div className="space-y-4">
      <ManageAction label="Bind mount" permission="ca:write" onClick={() => setOpen(true)} />
      <DataTable
        testId="vault-mounts"
        rows={mounts}
        rowKey={(m) => m.path}
        rowAttributes={(m) => ({ 'data-vault-mount': m.path })}
        empty={{
          icon: Vault,
          title: 'No PKI mount',
          body: 'Bind a mount path to a CA: node-vault, hvac, cert-manager and Vault Agent then issue from it.',
        }}
        columns={[
          { header: 'Mount', cell: (m) => <code className="font-medium">/v1/{m.path}/</code> },
          {
            header: 'CA',
            cell: (m) =>
              m.ca.name ? (
                <Link to="/cas/$caId" params={{ caId: m.ca.id }} className="hover:underline">
                  {m.ca.name}
                </Link>
              ) : (
                <Badge variant="outline">{m.ca.id ? 'deleted CA' : 'no CA yet'}</Badge>
              ),
          },
          {
            header: 'Roles',
            align: 'right',
            cell: (m) => <span data-testid={`mount-roles-${m.path}`}>{m.roles}</span>,
          },
          {
            header: 'Default / max TTL',
            from: 'md',
            cell: (m) => `${ttlText(m.defaultLeaseTtl)} / ${ttlText(m.maxLeaseTtl)}`,
          },
          { header: 'Description', from: 'lg', className: 'text-xs', cell: (m) => m.description || '—' },
          { header: 'Bound', from: 'xl', className: 'text-xs', cell: (m) => formatDateTime(m.createdAt) },
          {
            header: 'Actions',
            align: 'right',
            cell: (m) => (
              <div className="flex justify-end gap-2">
                <Button size="sm" variant="outline" onClick={() => onRoles(m.path)}>
                  Roles
                </Button>
                {manage ? (
                  <Button size="sm" variant="outline" onClick={() => setUnbinding(m)}>
                    Unbind
                  </Button>
                ) : null}
              </div>
            ),
          },
        ]}
      />
      <BindMountDialog open={open} onOpenChange={setOpen} />
      <ConfirmDialog
        open={!!unbinding}
        onOpenChange={(o) => !o && setUnbinding(null)}
        title={`Unbind /v1/${unbinding?.path ?? ''}/?`}
        description={
          'Its roles are deleted with it; Vault clients get 404 there. The CA and the certificates it issued stay.'
        }
        confirmLabel="Unbind mount"
        mutation={unbind}
        onConfirm={() => unbinding && unbind.mutate({ path: unbinding.path })}
      />
    </div>
  );
}

/** the form of a role: the policy fields most roles set (the rest keep Vault's defaults, or their value on edit) */
interface RoleForm {
  name: string;
  allowedDomains: string;
  allowSubdomains: boolean;
  allowBareDomains: boolean;
  allowGlobDomains: boolean;
  allowAnyName: boolean;
  allowIpSans: boolean;
  allowLocalhost: boolean;
  serverFlag: boolean;
  clientFlag: boolean;
  keyType: KeyType;
  keyBits: string;
  ttl: string;
  maxTtl: string;
  organization: string;
  noStore: boolean;
  /** `ext_key_usage_oids`, comma separated */
  ekuOids: string;
  /** `policy_identifiers`, one row each */
  policies: PolicyRow[];
}

function formOf(role?: Role): RoleForm {
  const p = role?.policy;
  return {
    name: role?.name ?? '',
    allowedDomains: p?.allowed_domains.join(', ') ?? '',
    allowSubdomains: p?.allow_subdomains ?? false,
    allowBareDomains: p?.allow_bare_domains ?? false,
    allowGlobDomains: p?.allow_glob_domains ?? false,
    allowAnyName: p?.allow_any_name ?? false,
    allowIpSans: p?.allow_ip_sans ?? true,
    allowLocalhost: p?.allow_localhost ?? true,
    serverFlag: p?.server_flag ?? true,
    clientFlag: p?.client_flag ?? true,
    keyType: p?.key_type ?? 'ec',
    keyBits: p ? String(p.key_bits) : '0',
    ttl: p && p.ttl !== '0s' ? p.ttl : '',
    maxTtl: p && p.max_ttl !== '0s' ? p.max_ttl : '',
    organization: p?.organization.join(', ') ?? '',
    noStore: p?.no_store ?? false,
    ekuOids: p?.ext_key_usage_oids.join(', ') ?? '',
    policies: p?.policy_identifiers.map(policyRowOf) ?? [],
  };
}

function policyOf(f: RoleForm): PolicyInput {
  return {
    allowed_domains: list(f.allowedDomains),
    allow_subdomains: f.allowSubdomains,
    allow_bare_domains: f.allowBareDomains,
    allow_glob_domains: f.allowGlobDomains,
    allow_any_name: f.allowAnyName,
    allow_ip_sans: f.allowIpSans,
    allow_localhost: f.allowLocalhost,
    server_flag: f.serverFlag,
    client_flag: f.clientFlag,
    key_type: f.keyType,
    key_bits: Number(f.keyBits) || 0,
    ttl: f.ttl.trim() || 0,
    max_ttl: f.maxTtl.trim() || 0,
    organization: list(f.organization),
    no_store: f.noStore,
    ext_key_usage_oids: parseOidList(f.ekuOids).oids,
    policy_identifiers: f.policies.filter((p) => !policyRowBlank(p)).map(policyIdentifierOf),
  };
}

type FlagKey = { [K in keyof RoleForm]: RoleForm[K] extends boolean ? K : never }[keyof RoleForm];

const FLAGS: [FlagKey, string][] = [
  ['allowSubdomains', 'allow_subdomains'],
  ['allowBareDomains', 'allow_bare_domains'],
  ['allowGlobDomains', 'allow_glob_domains'],
  ['allowAnyName', 'allow_any_name'],
  ['allowIpSans', 'allow_ip_sans'],
  ['allowLocalhost', 'allow_localhost'],
  ['serverFlag', 'server_flag (TLS server)'],
  ['clientFlag', 'client_flag (TLS client)'],
  ['noStore', 'no_store (keep no record)'],
];

const KEY_BITS: Record<KeyType, { value: string; label: string }[]> = {
  rsa: ['2048', '3072', '4096'].map((b) => ({ value: b, label: `${b} bits` })),
  ec: [
    { value: '256', label: 'P-256' },
    { value: '384', label: 'P-384' },
  ],
  ed25519: [{ value: '0', label: '—' }],
  any: [{ value: '0', label: 'any (sign only)' }],
};

function RoleDialog({
  mount,
  role,
  open,
  onOpenChange,
}: {
  mount: string;
  /** set: edit this role */
  role?: Role;
  open: boolean;
  onOpenChange: (o: boolean) => void;
}) {
  const invalidate = useInvalidate();
  const [form, setForm] = useState<RoleForm>(() => formOf(role));
  const set =
    <K extends keyof RoleForm>(k: K) =>
    (v: RoleForm[K]) =>
      setForm((f) => ({ ...f, [k]: v }));
  const done = async () => {
    await invalidate(trpc.vault.roles.list.queryKey(), trpc.vault.mounts.list.queryKey());
    onOpenChange(false);
  };
  const create = useMutation(trpc.vault.roles.create.mutationOptions({ onSuccess: done }));
  const update = useMutation(trpc.vault.roles.update.mutationOptions({ onSuccess: done }));
  const m = role ? update : create;
  const bits = KEY_BITS[form.keyType];
  const ekuError = parseOidList(form.ekuOids).error;
  const policyErrors = form.policies.map(policyRowError);
  const setPolicy = (i: number, patch: Partial<PolicyRow>) =>
    setForm((f) => ({ ...f, policies: f.policies.map((p, j) => (j === i ? { ...p, ...patch } : p)) }));
  return (
    <FormDialog
      open={open}
      onOpenChange={onOpenChange}
      mutation={m}
      title={role ? `Edit role ${role.name}` : `Create a role on ${mount}`}
      description={`Policy of /v1/${mount}/issue/<role> and /sign/<role> (Vault's field names)`}
      submitLabel={role ? 'Save role' : 'Create role'}
      disabled={ekuError !== null || policyErrors.some((e) => e !== null)}
      onSubmit={() => m.mutate({ mount, name: form.name.trim(), policy: policyOf(form) })}
    >
      {role ? null : <TextField id="role-name" label="Role name" value={form.name} onChange={set('name')} required />}
      <TextField
        id="role-domains"
        label="Allowed domains"
        hint="Comma separated, e.g. example.com (globs with allow_glob_domains)"
        value={form.allowedDomains}
        onChange={set('allowedDomains')}
      />
      <fieldset className="grid grid-cols-2 gap-1 text-sm">
        <legend className="mb-1 font-medium">Rules</legend>
        {FLAGS.map(([k, label]) => (
          <label key={k} className="flex items-center gap-2">
            <input type="checkbox" checked={form[k]} onChange={(e) => set(k)(e.target.checked)} />
            <code className="text-xs">{label}</code>
          </label>
        ))}
      </fieldset>
      <div className="grid grid-cols-2 gap-3">
        <SelectField
          id="role-key-type"
          label="Key type"
          value={form.keyType}
          onChange={(v) => setForm((f) => ({ ...f, keyType: v, keyBits: KEY_BITS[v][0].value }))}
          options={['rsa', 'ec', 'ed25519', 'any'] as const}
        />
        <SelectField
          id="role-key-bits"
          label="Key size"
          value={bits.some((b) => b.value === form.keyBits) ? form.keyBits : bits[0].value}
          onChange={set('keyBits')}
          options={bits}
        />
        <TextField
          id="role-ttl"
          label="TTL"
          hint="e.g. 24h (empty: mount default)"
          value={form.ttl}
          onChange={set('ttl')}
        />
        <TextField
          id="role-max-ttl"
          label="Max TTL"
          hint="e.g. 72h (empty: mount max)"
          value={form.maxTtl}
          onChange={set('maxTtl')}
        />
      </div>
      <TextField
        id="role-organization"
        label="Organization (O)"
        hint="Comma separated"
        value={form.organization}
        onChange={set('organization')}
      />
      <Field
        label="Extended key usage OIDs"
        htmlFor="role-eku-oids"
        hint="ext_key_usage_oids: dotted OIDs after server_flag/client_flag, comma separated"
        error={ekuError ?? undefined}
      >
        <Input
          id="role-eku-oids"
          value={form.ekuOids}
          onChange={(e) => set('ekuOids')(e.target.value)}
          placeholder="1.3.6.1.4.1.32473.9.1"
          aria-invalid={ekuError !== null}
        />
      </Field>
      <fieldset className="grid gap-2 text-sm" aria-describedby="role-policies-hint">
        <legend className="mb-1 font-medium">Certificate policies</legend>
        <p id="role-policies-hint" className="text-xs text-muted-foreground">
          policy_identifiers: each policy&apos;s OID, with an optional CPS URI and user notice
        </p>
        {form.policies.map((p, i) => (
          <div key={i} className="grid grid-cols-2 gap-2 rounded-md border p-2" data-policy-row={i + 1}>
            <div className="col-span-2 flex items-start gap-2">
              <Field
                label={`Policy ${i + 1} OID`}
                htmlFor={`role-policy-${i}-oid`}
                error={policyErrors[i] ?? undefined}
                className="flex-1"
              >
                <Input
                  id={`role-policy-${i}-oid`}
                  value={p.oid}
                  onChange={(e) => setPolicy(i, { oid: e.target.value })}
                  placeholder="1.3.6.1.4.1.32473.1.1"
                  aria-invalid={policyErrors[i] !== null}
                />
              </Field>
              <Button
                type="button"
                variant="outline"
                size="sm"
                className="mt-6"
                aria-label={`Remove policy ${i + 1}`}
                onClick={() => setForm((f) => ({ ...f, policies: f.policies.filter((_, j) => j !== i) }))}
              >
                Remove
              </Button>
            </div>
            <TextField
              id={`role-policy-${i}-cps`}
              label={`Policy ${i + 1} CPS URI`}
              value={p.cps}
              onChange={(v) => setPolicy(i, { cps: v })}
              placeholder="https://pki.example.com/cps"
            />
            <TextField
              id={`role-policy-${i}-notice`}
              label={`Policy ${i + 1} user notice`}
              value={p.notice}
              onChange={(v) => setPolicy(i, { notice: v })}
            />
          </div>
        ))}
        <div>
          <Button
            type="button"
            variant="outline"
            size="sm"
            onClick={() => setForm((f) => ({ ...f, policies: [...f.policies, { oid: '', cps: '', notice: '' }] }))}
          >
            <Plus /> Add policy
          </Button>
        </div>
      </fieldset>
    </FormDialog>
  );
}

function RoleCertificates({ mount, role }: { mount: string; role: string }) {
  const [status, setStatus] = useState<'all' | 'active' | 'revoked' | 'expired'>('all');
  const pages = useCursorPages(`${mount}|${role}|${status}`);
  const { data, error, isFetching } = useQuery(
    trpc.vault.roles.certificates.queryOptions({
      mount,
      role,
      limit: 25,
      cursor: pages.cursor,
      ...(status !== 'all' ? { status } : {}),
    }),
  );
  return (
    <section className="space-y-2" aria-label={`Certificates of role ${role}`}>
      <h2 className="text-lg font-semibold">
        Certificates issued through{' '}
        <code>
          {mount}/roles/{role}
        </code>
      </h2>
      <DataTable
        testId="vault-role-certificates"
        rows={data?.items}
        error={error}
        busy={isFetching}
        rowKey={(c) => c.id}
        rowAttributes={(c) => ({ 'data-certificate': c.serial })}
        toolbar={
          <SelectInput
            aria-label="Status"
            className="h-9 w-auto"
            value={status}
            onChange={setStatus}
            options={['all', 'active', 'revoked', 'expired'] as const}
          />
        }
        footer={<Pager pages={pages} nextCursor={data?.nextCursor} shown={data?.items.length} />}
        empty={{
          icon: FileBadge,
          title: 'No certificate issued through this role',
          body: `Vault clients issue with POST /v1/${mount}/issue/${role} (a no_store role keeps no record).`,
        }}
        columns={[
          {
            header: 'Common name',
            cell: (c) => (
              <Link to="/certificates/$certId" params={{ certId: c.id }} className="font-medium hover:underline">
                {c.commonName ?? c.subject}
              </Link>
            ),
          },
          { header: 'Serial (Vault)', className: 'font-mono text-xs', cell: (c) => colonHex(c.serial) },
          { header: 'Status', cell: (c) => <StatusBadge status={c.status} /> },
          {
            header: 'Expires',
            className: 'text-xs whitespace-nowrap',
            cell: (c) => `${formatDate(c.notAfter)} (${relativeDays(c.notAfter)})`,
          },
          { header: 'Issued', from: 'lg', className: 'text-xs', cell: (c) => formatDateTime(c.createdAt) },
        ]}
      />
    </section>
  );
}

function RolesTab({ mount, onMount }: { mount: string; onMount: (m: string) => void }) {
  const { can } = useMe();
  const manage = can('ca:write');
  const invalidate = useInvalidate();
  const {
    data: { items: mounts },
  } = useSuspenseQuery(trpc.vault.mounts.list.queryOptions());
  const current = mounts.some((m) => m.path === mount) ? mount : (mounts[0]?.path ?? '');
  const { data: roles, error } = useQuery({
    ...trpc.vault.roles.list.queryOptions({ mount: current }),
    enabled: !!current,
  });
  const [creating, setCreating] = useState(false);
  const [editing, setEditing] = useState<Role | null>(null);
  const [deleting, setDeleting] = useState<Role | null>(null);
  const [shown, setShown] = useState<string | null>(null);
  const remove = useMutation(
    trpc.vault.roles.delete.mutationOptions({
      onSuccess: async () => {
        setDeleting(null);
        await invalidate(trpc.vault.roles.list.queryKey(), trpc.vault.mounts.list.queryKey());
      },
    }),
  );
  if (!current) {
    return (
      <DataTable
        rows={[]}
        rowKey={() => ''}
        columns={[]}
        empty={{ icon: FolderTree, title: 'No PKI mount', body: 'Bind a mount first (Mounts tab).' }}
      />
    );
  }
  return (
    <div className="space-y-4">
      <div className="flex flex-wrap items-center justify-between gap-2">
        <SelectInput
          aria-label="Mount"
          className="h-9 w-auto"
          value={current}
          onChange={(m) => {
            setShown(null);
            onMount(m);
          }}
          options={mounts.map((m) => ({ value: m.path, label: `/v1/${m.path}/` }))}
        />
        {manage ? (
          <Button onClick={() => setCreating(true)}>
            <Plus /> Create role
          </Button>
        ) : null}
      </div>
      <DataTable
        testId="vault-roles"
        rows={roles?.items}
        error={error}
        rowKey={(r) => r.name}
        rowAttributes={(r) => ({ 'data-vault-role': r.name })}
        empty={{
          icon: FolderTree,
          title: 'No role on this mount',
          body: 'A role says which names, keys and lifetimes /issue and /sign accept.',
        }}
        columns={[
          { header: 'Role', className: 'font-medium', cell: (r) => r.name },
          {
            header: 'Names',
            className: 'text-xs',
            cell: (r) =>
              r.policy.allow_any_name
                ? 'any name'
                : [
                    r.policy.allowed_domains.join(', ') || '—',
                    r.policy.allow_subdomains ? '+ subdomains' : '',
                    r.policy.allow_bare_domains ? '+ bare' : '',
                    r.policy.allow_glob_domains ? '(globs)' : '',
                  ]
                    .filter(Boolean)
                    .join(' '),
          },
          {
            header: 'Usage',
            cell: (r) => (
              <div className="flex gap-1">
                {r.policy.server_flag ? <Badge variant="outline">server</Badge> : null}
                {r.policy.client_flag ? <Badge variant="outline">client</Badge> : null}
                {r.policy.no_store ? <Badge variant="outline">no_store</Badge> : null}
              </div>
            ),
          },
          {
            header: 'Key',
            from: 'md',
            className: 'text-xs',
            cell: (r) => `${r.policy.key_type}${r.policy.key_bits ? ` ${r.policy.key_bits}` : ''}`,
          },
          {
            header: 'TTL / max',
            from: 'md',
            className: 'text-xs',
            cell: (r) => (
              <span
                data-testid={`role-ttl-${r.name}`}
              >{`${ttlText(r.policy.ttl)} / ${ttlText(r.policy.max_ttl)}`}</span>
            ),
          },
          {
            header: 'Actions',
            align: 'right',
            cell: (r) => (
              <div className="flex justify-end gap-2">
                <Button size="sm" variant="outline" onClick={() => setShown(r.name)}>
                  Certificates
                </Button>
                {manage ? (
                  <>
                    <Button size="sm" variant="outline" onClick={() => setEditing(r)}>
                      Edit
                    </Button>
                    <Button size="sm" variant="outline" onClick={() => setDeleting(r)}>
                      Delete
                    </Button>
                  </>
                ) : null}
              </div>
            ),
          },
        ]}
      />
      {shown ? <RoleCertificates mount={current} role={shown} /> : null}
      {creating ? <RoleDialog mount={current} open onOpenChange={setCreating} /> : null}
      {editing ? (
        <RoleDialog key={editing.name} mount={current} role={editing} open onOpenChange={() => setEditing(null)} />
      ) : null}
      <ConfirmDialog
        open={!!deleting}
        onOpenChange={(o) => !o && setDeleting(null)}
        title={`Delete role ${deleting?.name ?? ''}?`}
        description="Vault clients can no longer issue or sign with it; the certificates it issued stay valid."
        confirmLabel="Delete role"
        mutation={remove}
        onConfirm={() => deleting && remove.mutate({ mount: current, name: deleting.name })}
      />
    </div>
  );
}

export function VaultPage() {
  const [tab, setTab] = useState<'mounts' | 'roles' | 'keystores'>('mounts');
  const [mount, setMount] = useState('');
  return (
    <div>
      <PageHeader
        title="Vault PKI"
        description="The Vault/OpenBao-compatible API under /v1/: mounts bound to CAs, their roles and what they issued"
      />
      <div className="mb-4 flex gap-2" role="tablist" aria-label="Vault">
        {(
          [
            ['mounts', 'Mounts', Vault],
            ['roles', 'Roles', FolderTree],
            ['keystores', 'Tenant keystores', KeySquare],
          ] as const
        ).map(([value, label, Icon]) => (
          <Button
            key={value}
            role="tab"
            aria-selected={tab === value}
            variant={tab === value ? 'default' : 'outline'}
            onClick={() => setTab(value)}
          >
            <Icon className="size-4" /> {label}
          </Button>
        ))}
      </div>
      {tab === 'mounts' ? (
        <MountsTab
          onRoles={(m) => {
            setMount(m);
            setTab('roles');
          }}
        />
      ) : tab === 'roles' ? (
        <RolesTab mount={mount} onMount={setMount} />
      ) : (
        <KeystoresTab />
      )}
    </div>
  );
}
