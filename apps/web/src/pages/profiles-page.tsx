import { useState } from 'react';
import { useMutation, useQuery } from '@tanstack/react-query';
import { Link, useNavigate, useParams } from '@tanstack/react-router';
import { Pencil, Plus, SlidersHorizontal, Trash2 } from 'lucide-react';
import { LEAF_KEY_TYPES } from '@pkim/contract/vocabulary';
import { trpc } from '../lib/trpc';
import { warningKeyTypes } from '../lib/pki';
import { useMe } from '../lib/auth';
import { useInvalidate } from '../lib/hooks';
import { toast } from '../lib/toast';
import {
  EMPTY_PROFILE_FORM,
  EXT_KEY_USAGES,
  KEY_USAGES,
  SAN_TYPES,
  lifetimeText,
  profileFormErrors,
  profileFormToInput,
  profileServerErrors,
  profileToForm,
  usagesText,
  type ProfileDto,
  type ProfileField,
  type ProfileForm,
} from '../lib/profile-form';
import { DefinitionList, PageHeader } from '../components/page';
import { DataTable } from '../components/data-table';
import { FormDialog } from '../components/form-dialog';
import { Alert, ErrorAlert } from '../components/ui/alert';
import { Badge } from '../components/ui/badge';
import { Button } from '../components/ui/button';
import { Card, CardContent, CardHeader, CardTitle } from '../components/ui/card';
import { ConfirmDialog } from '../components/ui/dialog';
import { Field, Input, Textarea } from '../components/ui/input';
import { Skeleton } from '../components/ui/skeleton';

const SOURCE_TEXT: Record<ProfileDto['source'], string> = {
  'built-in': 'built into PKI Manager',
  file: 'from the profiles file (PKIM_PROFILES_FILE or <data dir>/profiles.json)',
  api: 'made through the API or this console',
};

/** why a profile cannot be changed here, or null for one made through the API */
function readOnlyReason(p: ProfileDto): string | null {
  if (p.source === 'built-in') return 'A built-in profile is read-only: create a custom profile instead.';
  if (p.source === 'file') return 'A profile of the profiles file is read-only here: change the file and restart.';
  return null;
}

/**
 * The Profiles list's short word for a profile's `warnings` (each a key usage a key type it allows cannot carry:
 * `… is not possible with ec-p256 keys …`): the key types it allows and cannot issue for; the warnings in full are
 * its title.
 */
function clashText(p: Pick<ProfileDto, 'warnings' | 'allowedKeyTypes'>): string {
  const types = [...new Set(p.warnings.flatMap((w) => warningKeyTypes(w, p.allowedKeyTypes)))];
  return types.length ? `cannot issue for ${types.join(', ')}` : 'cannot issue for some key types';
}

function useRefreshProfiles() {
  const invalidate = useInvalidate();
  return () => invalidate(trpc.insights.profiles.queryKey(), trpc.profiles.get.queryKey());
}

export function ProfilesPage() {
  const { can } = useMe();
  const list = useQuery(trpc.insights.profiles.queryOptions());
  const [creating, setCreating] = useState(false);
  return (
    <div>
      <PageHeader
        title="Profiles"
        description="What a certificate of each profile carries: key usages, SANs, key types and lifetimes"
        actions={
          can('ca:write') ? (
            <Button onClick={() => setCreating(true)}>
              <Plus /> New profile
            </Button>
          ) : null
        }
      />
      <DataTable
        testId="profiles-table"
        rows={list.data?.items}
        error={list.error}
        busy={list.isFetching}
        rowKey={(p) => p.name}
        rowAttributes={(p) => ({ 'data-profile': p.name })}
        empty={{ icon: SlidersHorizontal, title: 'No profiles' }}
        columns={[
          {
            header: 'Name',
            className: 'font-medium',
            cell: (p) => (
              <span className="flex flex-wrap items-center gap-2">
                <Link to="/profiles/$name" params={{ name: p.name }} className="hover:underline">
                  {p.name}
                </Link>
                {p.warnings.length > 0 ? (
                  <Badge variant="warning" data-profile-warnings="" title={p.warnings.join('\n')}>
                    {clashText(p)}
                  </Badge>
                ) : null}
              </span>
            ),
          },
          { header: 'Source', cell: (p) => <Badge variant="outline">{p.source}</Badge> },
          { header: 'CA', cell: (p) => (p.isCa ? 'yes' : 'no') },
          { header: 'Usages', from: 'md', className: 'text-xs', cell: (p) => usagesText(p) },
          {
            header: 'SANs',
            from: 'lg',
            cell: (p) => `${p.allowedSanTypes.join(', ') || '-'}${p.sanRequired ? ' (required)' : ''}`,
          },
          { header: 'Default', className: 'tabular-nums', cell: (p) => lifetimeText(p.defaultLifetime) },
          { header: 'Max', className: 'tabular-nums', cell: (p) => lifetimeText(p.maxLifetime) },
        ]}
      />
      <ProfileFormDialog open={creating} onOpenChange={setCreating} />
    </div>
  );
}

export function ProfileDetailPage() {
  const { name } = useParams({ from: '/app/profiles/$name' });
  const { can } = useMe();
  const navigate = useNavigate();
  const refresh = useRefreshProfiles();
  const q = useQuery(trpc.profiles.get.queryOptions({ name }));
  const [editing, setEditing] = useState(false);
  const [deleting, setDeleting] = useState(false);
  const del = useMutation(
    trpc.profiles.delete.mutationOptions({
      onSuccess: async () => {
        setDeleting(false);
        toast({ title: `Deleted profile ${name}` });
        await navigate({ to: '/profiles' });
        await refresh();
      },
    }),
  );
  if (q.error) return <ErrorAlert error={q.error} />;
  if (!q.data) return <Skeleton className="h-64" />;
  const p = q.data;
  const readOnly = readOnlyReason(p);
  const writable = can('ca:write') && !readOnly;
  const list = (xs: readonly string[]) => (xs.length ? xs.join(', ') : '—');
  return (
    <div>
      <PageHeader
        title={p.name}
        description={p.description ?? undefined}
        actions={
          writable ? (
            <>
              <Button variant="outline" onClick={() => setEditing(true)}>
                <Pencil /> Edit
              </Button>
              <Button variant="destructive" onClick={() => setDeleting(true)}>
                <Trash2 /> Delete
              </Button>
            </>
          ) : null
        }
      />
      {readOnly && can('ca:write') ? <Alert className="mb-4" title={readOnly} /> : null}
      {p.warnings.length > 0 ? (
        <Alert level="warning" className="mb-4" title="This profile cannot issue for some key types it allows">
          <ul className="list-disc pl-5">
            {p.warnings.map((w) => (
              <li key={w}>{w}</li>
            ))}
          </ul>
          {p.source === 'file'
            ? 'Drop the usage or the key types in the profiles file and restart.'
            : 'Drop the usage or the key types: Edit, or pkim profile update.'}
        </Alert>
      ) : null}
      <Card>
        <CardHeader>
          <CardTitle>Fields</CardTitle>
        </CardHeader>
        <CardContent>
          <DefinitionList
            items={[
              ['Source', `${p.source} — ${SOURCE_TEXT[p.source]}`],
              ['Description', p.description ?? '—'],
              ['CA', p.isCa ? `yes (path length ${p.pathLen ?? 'unlimited'})` : 'no'],
              ['Key usage', list(p.keyUsage)],
              ['Key usage (RSA keys)', list(p.rsaKeyUsage)],
              ['Extended key usage', list(p.extKeyUsage)],
              ['Extended key usage OIDs', list(p.extKeyUsageOids)],
              ['SAN types allowed', list(p.allowedSanTypes)],
              ['SAN required', p.sanRequired ? 'yes' : 'no'],
              ['SAN types required', list(p.requiredSanTypes)],
              ['URI schemes allowed', p.allowedUriSchemes ? list(p.allowedUriSchemes) : 'any'],
              ['Max URI SANs', p.maxUriSans ?? '—'],
              ['Max SANs', p.maxSans ?? `default (${p.effectiveMaxSans})`],
              ['Max SAN bytes', p.maxSanBytes ?? `default (${p.effectiveMaxSanBytes})`],
              ['Key types', list(p.allowedKeyTypes)],
              ['Default lifetime', lifetimeText(p.defaultLifetime)],
              ['Max lifetime', lifetimeText(p.maxLifetime)],
              [
                'Certificate policies',
                list(
                  p.certificatePolicies.map(
                    (c) => `${c.oid}${c.cps ? ` CPS ${c.cps}` : ''}${c.notice ? ` notice “${c.notice}”` : ''}`,
                  ),
                ),
              ],
              ['Extensions', list(p.extensions)],
              ['Key reuse on renewal', p.allowKeyReuse ? 'allowed' : 'no'],
            ]}
          />
        </CardContent>
      </Card>
      <p className="mt-4 text-sm">
        <Link to="/profiles" className="hover:underline">
          ← All profiles
        </Link>
      </p>
      {writable ? <ProfileFormDialog open={editing} onOpenChange={setEditing} editing={p} /> : null}
      <ConfirmDialog
        open={deleting}
        onOpenChange={setDeleting}
        mutation={del}
        title={`Delete profile ${p.name}?`}
        description="Certificates already issued keep what they carry; nothing can be issued with it afterwards."
        confirmLabel="Delete profile"
        onConfirm={() => del.mutate({ name: p.name })}
      />
    </div>
  );
}

/** create (no `editing`) or edit a profile made through the API */
function ProfileFormDialog({
  open,
  onOpenChange,
  editing,
}: {
  open: boolean;
  onOpenChange: (open: boolean) => void;
  editing?: ProfileDto;
}) {
  const navigate = useNavigate();
  const refresh = useRefreshProfiles();
  const [form, setForm] = useState<ProfileForm>(EMPTY_PROFILE_FORM);
  const [tried, setTried] = useState(false);
  const [wasOpen, setWasOpen] = useState(false);
  // opening starts from the profile (edit) or the defaults (create), with no error shown before a first try
  if (open !== wasOpen) {
    setWasOpen(open);
    if (open) {
      setForm(editing ? profileToForm(editing) : EMPTY_PROFILE_FORM);
      setTried(false);
    }
  }
  const done = async (p: ProfileDto) => {
    onOpenChange(false);
    toast({ title: `${editing ? 'Saved' : 'Created'} profile ${p.name}` });
    await refresh();
    if (!editing) await navigate({ to: '/profiles/$name', params: { name: p.name } });
  };
  const create = useMutation(trpc.profiles.create.mutationOptions({ onSuccess: done }));
  const update = useMutation(trpc.profiles.update.mutationOptions({ onSuccess: done }));
  const mutation = editing ? update : create;
  const local = profileFormErrors(form);
  const server = profileServerErrors(mutation.error);
  const errorOf = (k: ProfileField) => (tried ? local[k] : undefined) ?? server.fields[k];
  const set = <K extends ProfileField>(k: K, v: ProfileForm[K]) => {
    setForm((f) => ({ ...f, [k]: v }));
  };
  const submit = () => {
    setTried(true);
    if (Object.keys(local).length > 0) return;
    const input = profileFormToInput(form, editing);
    if (editing) update.mutate({ ...input, profile: editing.name });
    else create.mutate(input);
  };
  return (
    <FormDialog
      open={open}
      onOpenChange={onOpenChange}
      mutation={mutation}
      title={editing ? `Edit profile ${editing.name}` : 'New profile'}
      description={
        editing
          ? 'Saving replaces the profile: required SAN types and SAN limits set through the API are not shown here.'
          : 'A custom profile, kept in the database and seen by every instance at once.'
      }
      submitLabel={editing ? 'Save profile' : 'Create profile'}
      onSubmit={submit}
      // the refusal's problems stand next to their fields; the alert says what is left, with the code (false: no
      // alert — undefined would show the mutation's error)
      error={server.unplaced ? mutation.error : false}
    >
      <Field label="Name" htmlFor="profile-name" error={errorOf('name')} hint="e.g. lab-client">
        <Input
          id="profile-name"
          value={form.name}
          disabled={!!editing}
          onChange={(e) => set('name', e.target.value)}
          autoComplete="off"
        />
      </Field>
      <Field label="Description" htmlFor="profile-description" error={errorOf('description')}>
        <Input id="profile-description" value={form.description} onChange={(e) => set('description', e.target.value)} />
      </Field>
      <label className="flex items-center gap-2 text-sm">
        <input type="checkbox" checked={form.isCa} onChange={(e) => set('isCa', e.target.checked)} />
        CA profile (certificates that sign certificates)
      </label>
      <Checkboxes
        label="Key usage"
        options={KEY_USAGES}
        value={form.keyUsage}
        onChange={(v) => set('keyUsage', v)}
        error={errorOf('keyUsage')}
      />
      <Checkboxes
        label="Extended key usage"
        options={EXT_KEY_USAGES}
        value={form.extKeyUsage}
        onChange={(v) => set('extKeyUsage', v)}
        error={errorOf('extKeyUsage')}
      />
      <Field
        label="Extended key usage OIDs"
        htmlFor="profile-eku-oids"
        error={errorOf('extKeyUsageOids')}
        hint="Further EKUs by dotted OID, one a line"
      >
        <Textarea
          id="profile-eku-oids"
          rows={2}
          value={form.extKeyUsageOids}
          onChange={(e) => set('extKeyUsageOids', e.target.value)}
        />
      </Field>
      <Checkboxes
        label="SAN types allowed"
        options={SAN_TYPES}
        value={form.allowedSanTypes}
        onChange={(v) => set('allowedSanTypes', v)}
        error={errorOf('allowedSanTypes')}
      />
      <label className="flex items-center gap-2 text-sm">
        <input type="checkbox" checked={form.sanRequired} onChange={(e) => set('sanRequired', e.target.checked)} />
        At least one SAN required
      </label>
      <Checkboxes
        label="Key types"
        options={LEAF_KEY_TYPES}
        value={form.allowedKeyTypes}
        onChange={(v) => set('allowedKeyTypes', v)}
        error={errorOf('allowedKeyTypes')}
      />
      <div className="grid items-start gap-4 sm:grid-cols-2">
        <Field label="Default lifetime" htmlFor="profile-default" error={errorOf('defaultLifetime')} hint="e.g. 90d">
          <Input
            id="profile-default"
            value={form.defaultLifetime}
            onChange={(e) => set('defaultLifetime', e.target.value)}
          />
        </Field>
        <Field label="Max lifetime" htmlFor="profile-max" error={errorOf('maxLifetime')} hint="e.g. 1y">
          <Input id="profile-max" value={form.maxLifetime} onChange={(e) => set('maxLifetime', e.target.value)} />
        </Field>
      </div>
    </FormDialog>
  );
}

/** a labelled group of checkboxes over fixed names, its problem below */
function Checkboxes({
  label,
  options,
  value,
  onChange,
  error,
}: {
  label: string;
  options: readonly string[];
  value: readonly string[];
  onChange: (v: string[]) => void;
  error?: string;
}) {
  return (
    <fieldset className="grid gap-1.5" aria-label={label}>
      <legend className="mb-1.5 text-sm font-medium leading-none">{label}</legend>
      <div className="flex flex-wrap gap-x-4 gap-y-1">
        {options.map((o) => (
          <label key={o} className="flex items-center gap-1.5 text-sm">
            <input
              type="checkbox"
              checked={value.includes(o)}
              onChange={(e) => onChange(e.target.checked ? [...value, o] : value.filter((x) => x !== o))}
            />
            <code className="text-xs">{o}</code>
          </label>
        ))}
      </div>
      {error ? (
        <p className="text-xs text-destructive" role="alert">
          {error}
        </p>
      ) : null}
    </fieldset>
  );
}
