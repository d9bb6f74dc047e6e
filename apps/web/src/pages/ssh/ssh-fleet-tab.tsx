import { useState } from 'react';
import { useMutation, useSuspenseQuery } from '@tanstack/react-query';
import { Truck } from 'lucide-react';
import { trpc, type RouterOutputs } from '../../lib/trpc';
import { useMe } from '../../lib/auth';
import { useInvalidate, pageItems } from '../../lib/hooks';
import { formatDateTime } from '../../lib/utils';
import { Button } from '../../components/ui/button';
import { Badge, StatusBadge } from '../../components/ui/badge';
import { ErrorAlert } from '../../components/ui/alert';
import { ConfirmDialog } from '../../components/ui/dialog';
import { DataTable } from '../../components/data-table';
import { FormDialog, SecretOnce } from '../../components/form-dialog';
import { SelectField, TextField } from '../../components/form-fields';
import { useEnvironmentOptions } from './ssh-registry-tabs';
import { ManageAction } from '../../components/manage-action';

type FleetToken = RouterOutputs['ssh']['fleetTokens']['items'][number];
const ms = (iso: string | null) => (iso ? Date.parse(iso) : null);
const OPERATIONS = {
  'sign-host': ['sign-host'],
  'sign-user': ['sign-user'],
  both: ['sign-host', 'sign-user'],
} as const;

/** Fleet tokens: hosts bootstrap their host certificate over HTTP with one (shown once, stored hashed). */
export function FleetTokensTab() {
  const { can } = useMe();
  const invalidate = useInvalidate();
  const environments = useEnvironmentOptions();
  const { data: tokens } = useSuspenseQuery(trpc.ssh.fleetTokens.queryOptions(undefined, { select: pageItems }));
  const [open, setOpen] = useState(false);
  const [name, setName] = useState('');
  const [environment, setEnvironment] = useState('');
  const [operations, setOperations] = useState<keyof typeof OPERATIONS>('sign-host');
  const [rate, setRate] = useState('60');
  const [expiresIn, setExpiresIn] = useState('30d');
  const [revoking, setRevoking] = useState<FleetToken | null>(null);
  const create = useMutation(
    trpc.ssh.createFleetToken.mutationOptions({ onSuccess: () => invalidate(trpc.ssh.fleetTokens.queryKey()) }),
  );
  const revoke = useMutation(
    trpc.ssh.revokeFleetToken.mutationOptions({
      onSuccess: async () => {
        setRevoking(null);
        await invalidate(trpc.ssh.fleetTokens.queryKey());
      },
    }),
  );
  const manage = can('ssh:manage');
  return (
    <div className="space-y-4">
      <ErrorAlert error={revoke.error} />
      <ManageAction
        permission="ssh:manage"
        label="Create fleet token"
        onClick={() => {
          create.reset();
          setOpen(true);
        }}
      />
      <DataTable<FleetToken>
        testId="ssh-fleet-tokens-table"
        rows={tokens}
        rowKey={(t) => t.id}
        rowAttributes={(t) => ({ 'data-fleet-token': t.name })}
        empty={{
          icon: Truck,
          title: 'No fleet token',
          body: 'A fleet token lets hosts of one environment get their host certificate at bootstrap',
        }}
        columns={[
          { header: 'Name', cell: (t) => t.name, className: 'font-medium' },
          { header: 'Environment', cell: (t) => t.environment },
          {
            header: 'Operations',
            cell: (t) => (
              <div className="flex gap-1">
                {t.operations.map((o) => (
                  <Badge key={o} variant="outline">
                    {o}
                  </Badge>
                ))}
              </div>
            ),
          },
          { header: 'Rate', cell: (t) => `${t.ratePerMinute}/min`, from: 'md' },
          { header: 'Expires', cell: (t) => (t.expiresAt ? formatDateTime(ms(t.expiresAt)) : 'never'), from: 'md' },
          { header: 'Last used', cell: (t) => (t.lastUsedAt ? formatDateTime(ms(t.lastUsedAt)) : '—'), from: 'lg' },
          { header: 'Status', cell: (t) => <StatusBadge status={t.revokedAt ? 'revoked' : 'active'} /> },
          manage && {
            header: 'Actions',
            align: 'right',
            cell: (t) =>
              t.revokedAt ? null : (
                <Button size="sm" variant="outline" onClick={() => setRevoking(t)}>
                  Revoke
                </Button>
              ),
          },
        ]}
      />
      <FormDialog
        open={open}
        onOpenChange={setOpen}
        title="Create a fleet token"
        description="Scoped to one environment and operations, rate-limited; the secret is shown once"
        submitLabel="Create token"
        pending={create.isPending}
        error={create.error}
        result={
          create.data ? (
            <SecretOnce
              secret={create.data.token}
              testId="fleet-token-secret"
              copyLabel="Copy token"
              onDone={() => setOpen(false)}
            />
          ) : undefined
        }
        onSubmit={() =>
          create.mutate({
            name,
            environment: environment || environments[0],
            operations: [...OPERATIONS[operations]],
            ratePerMinute: Number(rate) || undefined,
            expiresIn: expiresIn.trim() || undefined,
          })
        }
      >
        <TextField id="fleet-name" label="Name" value={name} onChange={setName} required />
        <SelectField
          id="fleet-env"
          label="Environment"
          value={environment || environments[0]}
          onChange={setEnvironment}
          options={environments}
        />
        <SelectField
          id="fleet-ops"
          label="Operations"
          value={operations}
          onChange={setOperations}
          options={[
            { value: 'sign-host', label: 'sign-host (host bootstrap)' },
            { value: 'sign-user', label: 'sign-user' },
            { value: 'both', label: 'both' },
          ]}
        />
        <TextField id="fleet-rate" label="Requests per minute" value={rate} onChange={setRate} inputMode="numeric" />
        <TextField
          id="fleet-expires"
          label="Expires in"
          hint="e.g. 30d; empty: never"
          value={expiresIn}
          onChange={setExpiresIn}
        />
      </FormDialog>
      <ConfirmDialog
        open={!!revoking}
        onOpenChange={(o) => !o && setRevoking(null)}
        title={`Revoke fleet token ${revoking?.name ?? ''}?`}
        description="Hosts bootstrapping with it are refused from now on; certificates it issued stay valid."
        confirmLabel="Revoke token"
        pending={revoke.isPending}
        onConfirm={() => revoking && revoke.mutate({ id: revoking.id })}
      />
    </div>
  );
}
