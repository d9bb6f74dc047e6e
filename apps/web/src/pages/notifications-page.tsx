import { useState } from 'react';
import { useMutation, useQuery, useSuspenseQuery } from '@tanstack/react-query';
import { Bell, Send } from 'lucide-react';
import { trpc, type RouterInputs, type RouterOutputs } from '../lib/trpc';
import { useMe } from '../lib/auth';
import { useInvalidate } from '../lib/hooks';
import { formatDateTime } from '../lib/utils';
import { NOTIFICATION_EVENTS, NOTIFICATION_STATUSES } from '../lib/pki';
import { PageHeader } from '../components/page';
import { Button } from '../components/ui/button';
import { ManageAction } from '../components/manage-action';
import { Badge, StatusBadge } from '../components/ui/badge';
import { ErrorAlert } from '../components/ui/alert';
import { ConfirmDialog } from '../components/ui/dialog';
import { Tabs, TabsContent, TabsList, TabsTrigger } from '../components/ui/tabs';
import { DataTable, Pager, useCursorPages } from '../components/data-table';
import { FormDialog, SecretOnce } from '../components/form-dialog';
import { SelectField, SelectInput, TextField } from '../components/form-fields';

type Rule = RouterOutputs['notification']['listRules']['items'][number];
type CreateInput = RouterInputs['notification']['createRule'];
type EventName = NonNullable<CreateInput['events']>[number];

const STATUSES = ['all', ...NOTIFICATION_STATUSES] as const;
type StatusFilter = (typeof STATUSES)[number];

const scopeText = (r: Rule) =>
  [r.ca ? `CA ${r.ca.name}` : '', r.profile ? `profile ${r.profile}` : '', r.namePattern ?? '']
    .filter(Boolean)
    .join(' · ') || 'everything';

function AddRuleDialog({ open, onOpenChange }: { open: boolean; onOpenChange: (o: boolean) => void }) {
  const invalidate = useInvalidate();
  const { data: cas } = useQuery(trpc.ca.list.queryOptions());
  const [name, setName] = useState('');
  const [trigger, setTrigger] = useState<'expiry' | 'events'>('expiry');
  const [channel, setChannel] = useState<'webhook' | 'email'>('webhook');
  const [target, setTarget] = useState('');
  const [days, setDays] = useState('30, 7, 1');
  const [events, setEvents] = useState<EventName[]>(['certificate.revoked']);
  const [ca, setCa] = useState('');
  const [profile, setProfile] = useState('');
  const [namePattern, setNamePattern] = useState('');
  const create = useMutation(
    trpc.notification.createRule.mutationOptions({
      onSuccess: () => invalidate(trpc.notification.listRules.queryKey()),
    }),
  );
  const submit = () => {
    const dayList = days
      .split(/[\s,]+/)
      .filter(Boolean)
      .map(Number);
    create.mutate({
      name: name.trim(),
      trigger,
      channel,
      target: channel === 'email' ? target.split(/[\s,]+/).filter(Boolean) : target.trim(),
      ...(dayList.length ? { daysBefore: dayList } : {}),
      ...(trigger === 'events' ? { events } : {}),
      ...(ca ? { ca } : {}),
      ...(profile.trim() ? { profile: profile.trim() } : {}),
      ...(namePattern.trim() ? { namePattern: namePattern.trim() } : {}),
    });
  };
  return (
    <FormDialog
      open={open}
      onOpenChange={onOpenChange}
      mutation={create}
      title="Add a notification rule"
      description="Expiry warnings or lifecycle events, delivered as a signed webhook or by e-mail"
      submitLabel="Add rule"
      result={
        create.data ? (
          create.data.secret ? (
            <SecretOnce
              secret={create.data.secret}
              testId="webhook-secret"
              copyLabel="Copy secret"
              onDone={() => onOpenChange(false)}
            >
              <p className="text-sm text-muted-foreground">
                Receivers check <code>x-pkim-signature</code> with this HMAC-SHA256 key of rule{' '}
                <b>{create.data.name}</b> (docs/notifications.md).
              </p>
            </SecretOnce>
          ) : (
            <div className="flex items-center justify-between gap-3 text-sm">
              Rule {create.data.name} added.
              <Button onClick={() => onOpenChange(false)}>Done</Button>
            </div>
          )
        ) : undefined
      }
      onSubmit={submit}
    >
      <TextField id="rule-name" label="Name" value={name} onChange={setName} required />
      <SelectField
        id="rule-trigger"
        label="Trigger"
        value={trigger}
        onChange={setTrigger}
        options={[
          { value: 'expiry', label: 'Expiry (days before notAfter)' },
          { value: 'events', label: 'Lifecycle events' },
        ]}
      />
      {trigger === 'events' ? (
        <fieldset className="grid gap-1 text-sm">
          <legend className="mb-1 font-medium">Events</legend>
          {NOTIFICATION_EVENTS.map((e) => (
            <label key={e} className="flex items-center gap-2">
              <input
                type="checkbox"
                checked={events.includes(e)}
                onChange={(ev) => setEvents(ev.target.checked ? [...events, e] : events.filter((x) => x !== e))}
              />
              <code>{e}</code>
            </label>
          ))}
        </fieldset>
      ) : null}
      <TextField
        id="rule-days"
        label="Days before expiry"
        hint={trigger === 'expiry' ? 'Thresholds, e.g. 30, 7, 1' : 'Thresholds of ca.expiring'}
        value={days}
        onChange={setDays}
      />
      <SelectField
        id="rule-channel"
        label="Channel"
        value={channel}
        onChange={setChannel}
        options={[
          { value: 'webhook', label: 'Webhook (signed JSON POST)' },
          { value: 'email', label: 'E-mail (SMTP)' },
        ]}
      />
      <TextField
        id="rule-target"
        label={channel === 'webhook' ? 'Webhook URL' : 'E-mail addresses'}
        hint={channel === 'webhook' ? 'https://hooks.example.com/pki' : 'Comma separated'}
        value={target}
        onChange={setTarget}
        required
      />
      <SelectField
        id="rule-ca"
        label="Only certificates of CA"
        value={ca}
        onChange={setCa}
        options={[{ value: '', label: 'Any CA' }, ...(cas?.items ?? []).map((c) => ({ value: c.id, label: c.name }))]}
      />
      <TextField id="rule-profile" label="Only profile" hint="e.g. tls-server" value={profile} onChange={setProfile} />
      <TextField
        id="rule-pattern"
        label="Only names matching"
        hint="CN or a SAN, e.g. *.example.com"
        value={namePattern}
        onChange={setNamePattern}
      />
    </FormDialog>
  );
}

const OVERLAPS = [
  { value: '24h', label: '24 hours (default)' },
  { value: '1h', label: '1 hour' },
  { value: '7d', label: '7 days' },
  { value: '0', label: 'None: the old secret stops at once' },
];

/** a new HMAC secret for a webhook rule, shown once; the old one still signs during the overlap */
function RotateSecretDialog({ rule, onClose }: { rule: Rule | null; onClose: () => void }) {
  const invalidate = useInvalidate();
  const [overlap, setOverlap] = useState('24h');
  const rotate = useMutation(
    trpc.notification.rotateSecret.mutationOptions({
      onSuccess: () => invalidate(trpc.notification.listRules.queryKey()),
    }),
  );
  const close = () => {
    setOverlap('24h');
    onClose();
  };
  const done = rotate.data;
  return (
    <FormDialog
      open={!!rule}
      onOpenChange={(o) => !o && close()}
      mutation={rotate}
      title={`Rotate the webhook secret of ${rule?.name ?? ''}`}
      description="A new HMAC-SHA256 key. During the overlap every delivery is signed under both keys."
      submitLabel="Rotate secret"
      result={
        done ? (
          <SecretOnce secret={done.secret} testId="rotated-secret" copyLabel="Copy secret" onDone={close}>
            <p className="text-sm text-muted-foreground">
              {done.secretOverlapUntil
                ? `Deliveries carry a signature under the old key too until ${formatDateTime(done.secretOverlapUntil)}.`
                : 'The old key no longer signs.'}{' '}
              Receivers accept a request when one <code>v1</code> of <code>x-pkim-signature</code> verifies.
            </p>
          </SecretOnce>
        ) : undefined
      }
      onSubmit={() => rule && rotate.mutate({ rule: rule.id, overlap })}
    >
      <SelectField id="rotate-overlap" label="Overlap" value={overlap} onChange={setOverlap} options={OVERLAPS} />
    </FormDialog>
  );
}

function RulesTab() {
  const { can } = useMe();
  const manage = can('notification:manage');
  const invalidate = useInvalidate();
  const { data: rules } = useSuspenseQuery(trpc.notification.listRules.queryOptions());
  const [open, setOpen] = useState(false);
  const [removing, setRemoving] = useState<Rule | null>(null);
  const [rotating, setRotating] = useState<Rule | null>(null);
  const refresh = () => invalidate(trpc.notification.listRules.queryKey());
  const toggle = useMutation(trpc.notification.setRuleEnabled.mutationOptions({ onSuccess: refresh }));
  const remove = useMutation(
    trpc.notification.removeRule.mutationOptions({
      onSuccess: async () => {
        setRemoving(null);
        await refresh();
      },
    }),
  );
  return (
    <div className="space-y-4">
      <ManageAction label="Add rule" permission="notification:manage" onClick={() => setOpen(true)} />
      <ErrorAlert error={toggle.error} />
      <DataTable
        testId="rules-table"
        rows={rules.items}
        rowKey={(r) => r.id}
        rowAttributes={(r) => ({ 'data-rule': r.name })}
        empty={{
          icon: Bell,
          title: 'No notification rules',
          body:
            'Rules warn before certificates and CAs expire and report revocations, stale CRLs and key ' +
            'backend trouble.',
        }}
        columns={[
          { header: 'Name', cell: (r) => r.name, className: 'font-medium' },
          {
            header: 'Trigger',
            className: 'text-xs',
            cell: (r) => (r.trigger === 'expiry' ? `expiry ${r.daysBefore.join(' / ')} days` : r.events.join(', ')),
          },
          {
            header: 'Delivers to',
            className: 'text-xs break-all',
            cell: (r) => (
              <>
                <Badge variant="outline">{r.channel}</Badge> {r.target}
              </>
            ),
          },
          { header: 'Scope', className: 'text-xs', cell: scopeText, from: 'lg' },
          {
            header: 'Status',
            cell: (r) => (
              <>
                <StatusBadge status={r.enabled ? 'active' : 'disabled'} />
                {r.secretOverlapUntil ? (
                  <div className="text-xs text-muted-foreground" data-testid="secret-overlap">
                    old secret signs until {formatDateTime(r.secretOverlapUntil)}
                  </div>
                ) : null}
              </>
            ),
          },
          manage && {
            header: 'Actions',
            align: 'right',
            cell: (r) => (
              <div className="flex justify-end gap-2">
                <Button size="sm" variant="outline" onClick={() => toggle.mutate({ rule: r.id, enabled: !r.enabled })}>
                  {r.enabled ? 'Disable' : 'Enable'}
                </Button>
                {r.channel === 'webhook' ? (
                  <Button size="sm" variant="outline" onClick={() => setRotating(r)}>
                    Rotate secret
                  </Button>
                ) : null}
                <Button size="sm" variant="outline" onClick={() => setRemoving(r)}>
                  Remove
                </Button>
              </div>
            ),
          },
        ]}
      />
      <AddRuleDialog open={open} onOpenChange={setOpen} />
      <RotateSecretDialog rule={rotating} onClose={() => setRotating(null)} />
      <ConfirmDialog
        open={!!removing}
        onOpenChange={(o) => !o && setRemoving(null)}
        title={`Remove rule ${removing?.name ?? ''}?`}
        description="Its pending deliveries and its delivery log are removed with it."
        confirmLabel="Remove rule"
        mutation={remove}
        onConfirm={() => removing && remove.mutate({ rule: removing.id })}
      />
    </div>
  );
}

function DeliveriesTab() {
  const [status, setStatus] = useState<StatusFilter>('all');
  const pages = useCursorPages(status);
  const { data, error, isFetching } = useQuery(
    trpc.notification.listDeliveries.queryOptions({
      limit: 50,
      cursor: pages.cursor,
      ...(status !== 'all' ? { status } : {}),
    }),
  );
  return (
    <DataTable
      testId="deliveries-table"
      rows={data?.items}
      error={error}
      busy={isFetching}
      rowKey={(d) => d.id}
      rowAttributes={(d) => ({ 'data-delivery': d.id, 'data-rule': d.rule.name })}
      toolbar={
        <SelectInput
          aria-label="Status"
          className="h-9 w-auto"
          value={status}
          onChange={setStatus}
          options={STATUSES}
        />
      }
      footer={<Pager pages={pages} nextCursor={data?.nextCursor} shown={data?.items.length} />}
      empty={{
        icon: Send,
        title: 'No deliveries',
        body: 'The background job enqueues a delivery when a rule matches (every minute by default).',
      }}
      columns={[
        { header: 'Created', cell: (d) => formatDateTime(d.createdAt), className: 'text-xs whitespace-nowrap' },
        { header: 'Rule', cell: (d) => d.rule.name, className: 'font-medium' },
        { header: 'Event', cell: (d) => <code className="text-xs">{d.event}</code> },
        { header: 'About', cell: (d) => d.subject ?? '—', className: 'text-xs', from: 'lg' },
        { header: 'Status', cell: (d) => <StatusBadge status={d.status} /> },
        { header: 'Attempts', cell: (d) => d.attempts, align: 'right' },
        {
          header: 'Next attempt / delivered',
          className: 'text-xs',
          from: 'md',
          cell: (d) => formatDateTime(d.deliveredAt ?? d.nextAttemptAt),
        },
        { header: 'Last error', cell: (d) => d.lastError ?? '—', className: 'text-xs', from: 'xl' },
      ]}
    />
  );
}

export function NotificationsPage() {
  return (
    <div>
      <PageHeader
        title="Notifications"
        description="Expiry warnings and lifecycle events as signed webhooks or e-mail, and what was delivered"
      />
      <Tabs defaultValue="rules">
        <TabsList>
          <TabsTrigger value="rules">
            <Bell className="size-4" /> Rules
          </TabsTrigger>
          <TabsTrigger value="deliveries">
            <Send className="size-4" /> Delivery log
          </TabsTrigger>
        </TabsList>
        <TabsContent value="rules">
          <RulesTab />
        </TabsContent>
        <TabsContent value="deliveries">
          <DeliveriesTab />
        </TabsContent>
      </Tabs>
    </div>
  );
}
