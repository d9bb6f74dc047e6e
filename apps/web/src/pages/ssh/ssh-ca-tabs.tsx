import { useState } from 'react';
import { useMutation, useSuspenseQuery } from '@tanstack/react-query';
import { FileKey2, Plus, RotateCw, ShieldOff, Terminal } from 'lucide-react';
import { trpc, type RouterOutputs } from '../../lib/trpc';
import { useMe } from '../../lib/auth';
import { useInvalidate, pageItems } from '../../lib/hooks';
import { formatDate, formatDateTime } from '../../lib/utils';
import { SSH_CA_KEY_TYPES } from '../../lib/pki';
import { Button } from '../../components/ui/button';
import { Badge, StatusBadge } from '../../components/ui/badge';
import { Alert, ErrorAlert } from '../../components/ui/alert';
import { ConfirmDialog } from '../../components/ui/dialog';
import { CopyButton } from '../../components/ui/copy-button';
import { DataTable } from '../../components/data-table';
import { FormDialog } from '../../components/form-dialog';
import { SelectField, SelectInput, TextField } from '../../components/form-fields';

type SshCertificate = RouterOutputs['ssh']['listCertificates']['items'][number];
type SshCa = RouterOutputs['ssh']['listCas']['items'][number];
const SSH_CA_HINT = 'pkim ssh ca create --name users --type user';
const ms = (iso: string | null) => (iso ? Date.parse(iso) : null);

export function CasTab() {
  const { can } = useMe();
  const invalidate = useInvalidate();
  const { data: cas } = useSuspenseQuery(trpc.ssh.listCas.queryOptions(undefined, { select: pageItems }));
  const [open, setOpen] = useState(false);
  const [name, setName] = useState('');
  const [type, setType] = useState<'user' | 'host'>('user');
  const [keyType, setKeyType] = useState<(typeof SSH_CA_KEY_TYPES)[number]>('ed25519');
  const [environment, setEnvironment] = useState('default');
  const create = useMutation(
    trpc.ssh.createCa.mutationOptions({
      onSuccess: async () => {
        setOpen(false);
        setName('');
        await invalidate(trpc.ssh.pathKey());
      },
    }),
  );
  const [rotating, setRotating] = useState<SshCa | null>(null);
  const rotate = useMutation(
    trpc.ssh.rotateCa.mutationOptions({
      onSuccess: async () => {
        setRotating(null);
        await invalidate(trpc.ssh.pathKey());
      },
    }),
  );
  const retire = useMutation(
    trpc.ssh.retireExpiredCas.mutationOptions({ onSuccess: () => invalidate(trpc.ssh.pathKey()) }),
  );
  return (
    <div className="space-y-4">
      <ErrorAlert error={rotate.error ?? retire.error} />
      {rotate.data ? (
        <Alert level="success" title={`${rotate.data.created.name} is the active ${rotate.data.created.type} CA`}>
          {rotate.data.rotating.join(', ')} stay trusted (rotating) until their last certificate expires; then
          &quot;Retire expired&quot; removes them from the trust lines.
        </Alert>
      ) : null}
      {retire.data ? (
        <Alert
          level="success"
          title={`Retired: ${retire.data.retired.join(', ') || 'none (still unexpired certificates)'}`}
        />
      ) : null}
      {can('ssh:manage') ? (
        <div className="flex justify-end gap-2">
          <Button variant="outline" onClick={() => retire.mutate()} disabled={retire.isPending}>
            Retire expired
          </Button>
          <Button
            onClick={() => {
              create.reset();
              setOpen(true);
            }}
          >
            <Plus /> Create SSH CA
          </Button>
        </div>
      ) : null}
      <DataTable
        testId="ssh-cas-table"
        rows={cas}
        rowKey={(c) => c.id}
        rowAttributes={(c) => ({ 'data-ssh-ca': c.name })}
        empty={{
          icon: Terminal,
          title: 'No SSH CA yet',
          body: 'A user CA signs login certificates, a host CA signs host keys: ' + SSH_CA_HINT,
        }}
        columns={[
          { header: 'Name', cell: (c) => c.name, className: 'font-medium' },
          { header: 'Type', cell: (c) => <Badge variant="outline">{c.type}</Badge> },
          { header: 'Environment', cell: (c) => c.environment },
          { header: 'Key', cell: (c) => c.keyType, from: 'md', className: 'text-xs' },
          { header: 'Fingerprint', cell: (c) => c.fingerprint, from: 'lg', className: 'font-mono text-xs' },
          { header: 'Status', cell: (c) => <StatusBadge status={c.status} /> },
          {
            header: 'Actions',
            align: 'right',
            cell: (c) => (
              <div className="flex justify-end gap-2">
                <CopyButton text={c.publicKey} label="Public key" />
                {c.status === 'active' && can('ssh:manage') ? (
                  <Button size="sm" variant="outline" onClick={() => setRotating(c)}>
                    <RotateCw /> Rotate
                  </Button>
                ) : null}
              </div>
            ),
          },
        ]}
      />
      <ConfirmDialog
        open={!!rotating}
        onOpenChange={(o) => !o && setRotating(null)}
        title={`Rotate the ${rotating?.type ?? ''} CA of ${rotating?.environment ?? ''}?`}
        description={`A new ${rotating?.keyType ?? ''} CA becomes the active one and signs from now on; ${
          rotating?.name ?? ''
        } stays trusted (rotating) until its last certificate expires. Hosts get the new key from their trust lines.`}
        confirmLabel="Rotate CA"
        pending={rotate.isPending}
        onConfirm={() => rotating && rotate.mutate({ environment: rotating.environment, type: rotating.type })}
      />
      <FormDialog
        open={open}
        onOpenChange={setOpen}
        title="Create an SSH CA"
        description="Its key is generated in the software key backend"
        submitLabel="Create CA"
        pending={create.isPending}
        error={create.error}
        onSubmit={() => create.mutate({ name, type, keyType, environment: environment.trim() || undefined })}
      >
        <TextField id="ssh-ca-name" label="Name" value={name} onChange={setName} required />
        <SelectField
          id="ssh-ca-type"
          label="Certificate type"
          value={type}
          onChange={setType}
          options={[
            { value: 'user', label: 'user (logins)' },
            { value: 'host', label: 'host (host keys)' },
          ]}
        />
        <SelectField
          id="ssh-ca-key"
          label="Key type"
          value={keyType}
          onChange={setKeyType}
          options={SSH_CA_KEY_TYPES}
        />
        <TextField
          id="ssh-ca-env"
          label="Environment"
          hint="trust boundary; created on first use for default"
          value={environment}
          onChange={setEnvironment}
        />
      </FormDialog>
    </div>
  );
}

export function CertificatesTab() {
  const { can } = useMe();
  const invalidate = useInvalidate();
  const [status, setStatus] = useState<'' | 'active' | 'revoked' | 'expired'>('');
  const { data: page } = useSuspenseQuery(
    trpc.ssh.listCertificates.queryOptions(status ? { status, limit: 200 } : { limit: 200 }),
  );
  const [revoking, setRevoking] = useState<SshCertificate | null>(null);
  const [reason, setReason] = useState('');
  const revoke = useMutation(
    trpc.ssh.revoke.mutationOptions({
      onSuccess: async () => {
        setRevoking(null);
        setReason('');
        await invalidate(trpc.ssh.pathKey());
      },
    }),
  );
  return (
    <div className="space-y-4">
      <ErrorAlert error={revoke.error} />
      {revoke.data ? (
        <Alert level="success" title={`Revoked serial ${revoke.data.revoked.join(', ')}`}>
          The CA&apos;s KRL is now at version {revoke.data.krlVersion}; hosts polling it refuse the certificate.
        </Alert>
      ) : null}
      <DataTable
        testId="ssh-certificates-table"
        rows={page.items}
        rowKey={(c) => c.id}
        rowAttributes={(c) => ({ 'data-ssh-serial': c.serial })}
        toolbar={
          <SelectInput
            aria-label="Status"
            className="ml-auto h-9 w-auto"
            value={status}
            onChange={setStatus}
            options={[{ value: '', label: 'all' }, 'active', 'revoked', 'expired']}
          />
        }
        empty={{
          icon: FileKey2,
          title: 'No SSH certificates',
          body: 'Sign one with pkim ssh sign --ca <name> --public-key id.pub --principal alice',
        }}
        columns={[
          { header: 'Serial', cell: (c) => c.serial, className: 'font-mono text-xs' },
          {
            header: 'Key id',
            cell: (c) => <span title={c.keyId}>{c.keyId}</span>,
            className: 'max-w-48 truncate text-xs',
          },
          {
            header: 'CA',
            cell: (c) => (
              <>
                {c.ca} <span className="text-xs text-muted-foreground">({c.type})</span>
              </>
            ),
          },
          { header: 'Principals', cell: (c) => c.principals.join(', ') || '—', className: 'text-xs' },
          { header: 'Valid until', cell: (c) => formatDateTime(ms(c.validBefore)), from: 'md' },
          { header: 'Status', cell: (c) => <StatusBadge status={c.status} /> },
          {
            header: 'Actions',
            align: 'right',
            cell: (c) =>
              c.status === 'active' && can('ssh:revoke') ? (
                <Button size="sm" variant="outline" onClick={() => setRevoking(c)}>
                  Revoke
                </Button>
              ) : null,
          },
        ]}
      />
      <ConfirmDialog
        open={!!revoking}
        onOpenChange={(o) => !o && setRevoking(null)}
        title={`Revoke SSH certificate ${revoking?.serial ?? ''}?`}
        description={`${revoking?.keyId ?? ''} (${revoking?.principals.join(', ') ?? ''}) goes into the KRL of ${
          revoking?.ca ?? ''
        }; sshd refuses it once the host has fetched the new KRL.`}
        confirmLabel="Revoke certificate"
        pending={revoke.isPending}
        onConfirm={() =>
          revoking && revoke.mutate({ ca: revoking.ca, serial: revoking.serial, reason: reason.trim() || undefined })
        }
      >
        <TextField id="ssh-revoke-reason" label="Reason (optional)" value={reason} onChange={setReason} />
      </ConfirmDialog>
    </div>
  );
}

export function KrlTab() {
  const { data: krls } = useSuspenseQuery(
    trpc.ssh.krlStatus.queryOptions(undefined, { staleTime: 0, select: pageItems }),
  );
  return (
    <div className="space-y-4">
      <Alert title="Key revocation lists">
        Hosts fetch their KRL over HTTP (no credentials) and point sshd&apos;s RevokedKeys at it; the version moves on
        with every revocation, and If-None-Match answers 304 until then.
      </Alert>
      <DataTable
        testId="ssh-krl-table"
        rows={krls}
        rowKey={(k) => k.caId}
        rowAttributes={(k) => ({ 'data-krl-ca': k.ca })}
        empty={{ icon: ShieldOff, title: 'No SSH CA, no KRL' }}
        columns={[
          {
            header: 'CA',
            className: 'font-medium',
            cell: (k) => (
              <>
                {k.ca} <span className="text-xs text-muted-foreground">({k.type})</span>
              </>
            ),
          },
          { header: 'Environment', cell: (k) => k.environment },
          { header: 'Version', cell: (k) => <span data-testid={`krl-version-${k.ca}`}>{k.version}</span> },
          { header: 'Revoked', cell: (k) => k.revokedCount },
          { header: 'Generated', cell: (k) => formatDate(ms(k.generatedAt)), from: 'md' },
          { header: 'Size', cell: (k) => `${k.bytes} B`, from: 'md' },
          {
            header: 'KRL',
            align: 'right',
            cell: (k) => (
              <a className="text-sm text-primary hover:underline" href={k.url} download={`${k.ca}.krl`}>
                Download
              </a>
            ),
          },
        ]}
      />
    </div>
  );
}
