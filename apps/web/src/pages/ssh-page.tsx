import { useState } from 'react';
import { useMutation, useQueryClient, useSuspenseQuery } from '@tanstack/react-query';
import { FileKey2, Plus, ShieldOff, Terminal } from 'lucide-react';
import { trpc, type RouterOutputs } from '../lib/trpc';
import { useMe } from '../lib/auth';
import { formatDate, formatDateTime } from '../lib/utils';
import { SSH_CA_KEY_TYPES } from '../lib/pki';
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

type SshCertificate = RouterOutputs['ssh']['listCertificates']['items'][number];
const ms = (iso: string | null) => (iso ? Date.parse(iso) : null);

function CasTab() {
  const { can } = useMe();
  const qc = useQueryClient();
  const { data: cas } = useSuspenseQuery(trpc.ssh.listCas.queryOptions());
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
        await qc.invalidateQueries({ queryKey: trpc.ssh.listCas.queryKey() });
        await qc.invalidateQueries({ queryKey: trpc.ssh.krlStatus.queryKey() });
      },
    }),
  );
  return (
    <div className="space-y-4">
      {can('ssh:manage') ? (
        <div className="flex justify-end">
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
      <Card>
        <CardContent className="p-0">
          {cas.length === 0 ? (
            <EmptyState icon={Terminal} title="No SSH CA yet">
              A user CA signs login certificates, a host CA signs host keys: pkim ssh ca create --name users --type user
            </EmptyState>
          ) : (
            <Table data-testid="ssh-cas-table">
              <THead>
                <TR>
                  <TH>Name</TH>
                  <TH>Type</TH>
                  <TH>Environment</TH>
                  <TH className="hidden md:table-cell">Key</TH>
                  <TH className="hidden lg:table-cell">Fingerprint</TH>
                  <TH>Status</TH>
                  <TH className="text-right">Public key</TH>
                </TR>
              </THead>
              <TBody>
                {cas.map((c) => (
                  <TR key={c.id} data-ssh-ca={c.name}>
                    <TD className="font-medium">{c.name}</TD>
                    <TD>
                      <Badge variant="outline">{c.type}</Badge>
                    </TD>
                    <TD>{c.environment}</TD>
                    <TD className="hidden md:table-cell text-xs">{c.keyType}</TD>
                    <TD className="hidden lg:table-cell font-mono text-xs">{c.fingerprint}</TD>
                    <TD>
                      <StatusBadge status={c.status} />
                    </TD>
                    <TD className="text-right">
                      <CopyButton text={c.publicKey} label="Copy" />
                    </TD>
                  </TR>
                ))}
              </TBody>
            </Table>
          )}
        </CardContent>
      </Card>
      <Dialog open={open} onOpenChange={setOpen}>
        <DialogContent title="Create an SSH CA" description="Its key is generated in the software key backend">
          <form
            className="grid gap-4"
            onSubmit={(e) => {
              e.preventDefault();
              create.mutate({ name, type, keyType, environment: environment.trim() || undefined });
            }}
          >
            <Field label="Name" htmlFor="ssh-ca-name">
              <Input id="ssh-ca-name" value={name} onChange={(e) => setName(e.target.value)} required />
            </Field>
            <Field label="Certificate type" htmlFor="ssh-ca-type">
              <NativeSelect id="ssh-ca-type" value={type} onChange={(e) => setType(e.target.value as 'user' | 'host')}>
                <option value="user">user (logins)</option>
                <option value="host">host (host keys)</option>
              </NativeSelect>
            </Field>
            <Field label="Key type" htmlFor="ssh-ca-key">
              <NativeSelect
                id="ssh-ca-key"
                value={keyType}
                onChange={(e) => setKeyType(e.target.value as (typeof SSH_CA_KEY_TYPES)[number])}
              >
                {SSH_CA_KEY_TYPES.map((k) => (
                  <option key={k} value={k}>
                    {k}
                  </option>
                ))}
              </NativeSelect>
            </Field>
            <Field label="Environment" htmlFor="ssh-ca-env" hint="trust boundary; created on first use for default">
              <Input id="ssh-ca-env" value={environment} onChange={(e) => setEnvironment(e.target.value)} />
            </Field>
            <ErrorAlert error={create.error} />
            <div className="flex justify-end">
              <Button type="submit" disabled={create.isPending}>
                Create CA
              </Button>
            </div>
          </form>
        </DialogContent>
      </Dialog>
    </div>
  );
}

function CertificatesTab() {
  const { can } = useMe();
  const qc = useQueryClient();
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
        await qc.invalidateQueries({ queryKey: trpc.ssh.listCertificates.queryKey() });
        await qc.invalidateQueries({ queryKey: trpc.ssh.krlStatus.queryKey() });
      },
    }),
  );
  return (
    <div className="space-y-4">
      <div className="flex items-center justify-end gap-2">
        <NativeSelect
          aria-label="Status"
          className="h-9 w-auto"
          value={status}
          onChange={(e) => setStatus(e.target.value as typeof status)}
        >
          <option value="">all</option>
          <option value="active">active</option>
          <option value="revoked">revoked</option>
          <option value="expired">expired</option>
        </NativeSelect>
      </div>
      <ErrorAlert error={revoke.error} />
      {revoke.data ? (
        <Alert level="success" title={`Revoked serial ${revoke.data.revoked.join(', ')}`}>
          The CA&apos;s KRL is now at version {revoke.data.krlVersion}; hosts polling it refuse the certificate.
        </Alert>
      ) : null}
      <Card>
        <CardContent className="p-0">
          {page.items.length === 0 ? (
            <EmptyState icon={FileKey2} title="No SSH certificates">
              Sign one with pkim ssh sign --ca &lt;name&gt; --public-key id.pub --principal alice
            </EmptyState>
          ) : (
            <Table data-testid="ssh-certificates-table">
              <THead>
                <TR>
                  <TH>Serial</TH>
                  <TH>Key id</TH>
                  <TH>CA</TH>
                  <TH>Principals</TH>
                  <TH className="hidden md:table-cell">Valid until</TH>
                  <TH>Status</TH>
                  <TH className="text-right">Actions</TH>
                </TR>
              </THead>
              <TBody>
                {page.items.map((c) => (
                  <TR key={c.id} data-ssh-serial={c.serial}>
                    <TD className="font-mono text-xs">{c.serial}</TD>
                    <TD className="max-w-48 truncate text-xs" title={c.keyId}>
                      {c.keyId}
                    </TD>
                    <TD>
                      {c.ca} <span className="text-xs text-muted-foreground">({c.type})</span>
                    </TD>
                    <TD className="text-xs">{c.principals.join(', ') || '—'}</TD>
                    <TD className="hidden md:table-cell">{formatDateTime(ms(c.validBefore))}</TD>
                    <TD>
                      <StatusBadge status={c.status} />
                    </TD>
                    <TD className="text-right">
                      {c.status === 'active' && can('ssh:revoke') ? (
                        <Button size="sm" variant="outline" onClick={() => setRevoking(c)}>
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
        <Field label="Reason (optional)" htmlFor="ssh-revoke-reason">
          <Input id="ssh-revoke-reason" value={reason} onChange={(e) => setReason(e.target.value)} />
        </Field>
      </ConfirmDialog>
    </div>
  );
}

function KrlTab() {
  const { data: krls } = useSuspenseQuery(trpc.ssh.krlStatus.queryOptions(undefined, { staleTime: 0 }));
  return (
    <div className="space-y-4">
      <Alert title="Key revocation lists">
        Hosts fetch their KRL over HTTP (no credentials) and point sshd&apos;s RevokedKeys at it; the version moves on
        with every revocation, and If-None-Match answers 304 until then.
      </Alert>
      <Card>
        <CardContent className="p-0">
          {krls.length === 0 ? (
            <EmptyState icon={ShieldOff} title="No SSH CA, no KRL" />
          ) : (
            <Table data-testid="ssh-krl-table">
              <THead>
                <TR>
                  <TH>CA</TH>
                  <TH>Environment</TH>
                  <TH>Version</TH>
                  <TH>Revoked</TH>
                  <TH className="hidden md:table-cell">Generated</TH>
                  <TH className="hidden md:table-cell">Size</TH>
                  <TH className="text-right">KRL</TH>
                </TR>
              </THead>
              <TBody>
                {krls.map((k) => (
                  <TR key={k.caId} data-krl-ca={k.ca}>
                    <TD className="font-medium">
                      {k.ca} <span className="text-xs text-muted-foreground">({k.type})</span>
                    </TD>
                    <TD>{k.environment}</TD>
                    <TD data-testid={`krl-version-${k.ca}`}>{k.version}</TD>
                    <TD>{k.revokedCount}</TD>
                    <TD className="hidden md:table-cell">{formatDate(ms(k.generatedAt))}</TD>
                    <TD className="hidden md:table-cell">{k.bytes} B</TD>
                    <TD className="text-right">
                      <a className="text-sm text-primary hover:underline" href={k.url} download={`${k.ca}.krl`}>
                        Download
                      </a>
                    </TD>
                  </TR>
                ))}
              </TBody>
            </Table>
          )}
        </CardContent>
      </Card>
    </div>
  );
}

export function SshPage() {
  return (
    <div>
      <PageHeader
        title="SSH certificate authority"
        description="User and host CAs, the OpenSSH certificates they signed, and their key revocation lists"
      />
      <Tabs defaultValue="cas">
        <TabsList>
          <TabsTrigger value="cas">CAs</TabsTrigger>
          <TabsTrigger value="certificates">Certificates</TabsTrigger>
          <TabsTrigger value="krl">KRL</TabsTrigger>
        </TabsList>
        <TabsContent value="cas">
          <CasTab />
        </TabsContent>
        <TabsContent value="certificates">
          <CertificatesTab />
        </TabsContent>
        <TabsContent value="krl">
          <KrlTab />
        </TabsContent>
      </Tabs>
    </div>
  );
}
