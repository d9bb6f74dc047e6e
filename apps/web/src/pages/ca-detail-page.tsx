import { useState } from 'react';
import { useMutation, useQuery, useQueryClient, useSuspenseQuery } from '@tanstack/react-query';
import { Link, useNavigate, useParams } from '@tanstack/react-router';
import { Ban, Download, FileBadge, FileUp, KeyRound, PencilLine, Plus, Power, RefreshCw, Stamp } from 'lucide-react';
import { trpc } from '../lib/trpc';
import { useMe } from '../lib/auth';
import { formatDate, formatDateTime } from '../lib/utils';
import { DefinitionList, PageHeader } from '../components/page';
import { Button } from '../components/ui/button';
import { Card, CardContent, CardDescription, CardHeader, CardTitle } from '../components/ui/card';
import { StatusBadge } from '../components/ui/badge';
import { ErrorAlert, Alert } from '../components/ui/alert';
import { RevokeDialog } from '../components/revoke-dialog';
import { PemBlock } from '../components/pem-block';
import { DecodedCertificate } from '../components/decoded-certificate';
import { Table, TBody, TD, TH, THead, TR } from '../components/ui/table';
import { EmptyState } from '../components/ui/empty-state';
import { Field, Textarea } from '../components/ui/input';
import { FormDialog } from '../components/form-dialog';
import { TextField } from '../components/form-fields';
import { CaExpiryBadge, caDaysLeft, caExpiryLevel } from '../components/ca-expiry';
import { CaHistoryCard } from '../components/ca-history';
import { RenewCaDialog, RotateCaDialog, caLifecycleBlock, type LifecycleBlock } from '../components/ca-lifecycle';
import { CaNoUrlsAlert, CaSettingsCard, SetCaUrlsDialog, useCaRevocationUrls } from '../components/ca-settings';

/** a pasted certificate (PEM) */
function PemField(p: {
  id: string;
  label: string;
  hint?: string;
  value: string;
  onChange(v: string): void;
  required?: boolean;
}) {
  return (
    <Field label={p.label} htmlFor={p.id} hint={p.hint}>
      <Textarea
        id={p.id}
        rows={5}
        className="font-mono text-[11px]"
        value={p.value}
        onChange={(e) => p.onChange(e.target.value)}
        placeholder="-----BEGIN CERTIFICATE-----"
        required={p.required}
      />
    </Field>
  );
}

/**
 * A pending CA (made for an outside CA): its CSR to hand over, and the import of the certificate the outside CA
 * signed (`ca.importCertificate`). The server checks the key, the CSR's subject, CA:TRUE, the dates and the signature:
 * with a CA here (which becomes the parent) or with the outside issuer's certificate, or chain, given beside it (stored
 * and served after the CA in its chain).
 */
function PendingCaCard({ ca, fileBase }: { ca: { id: string; csr?: string }; fileBase: string }) {
  const qc = useQueryClient();
  const [certificate, setCertificate] = useState('');
  const [issuerCertificate, setIssuerCertificate] = useState('');
  const importCertificate = useMutation(
    trpc.ca.importCertificate.mutationOptions({
      onSuccess: async () => {
        await qc.invalidateQueries({ queryKey: trpc.ca.pathKey() });
        await qc.invalidateQueries({ queryKey: trpc.insights.pathKey() });
      },
    }),
  );
  return (
    <Card>
      <CardHeader>
        <CardTitle>Signed by an outside CA</CardTitle>
        <CardDescription>
          Hand the CSR to the outside CA, then paste the CA certificate it signed. Its signature is verified with a CA
          here (which becomes its parent) or with the outside issuer&apos;s certificate, or its chain up to the root:
          each link is verified, and the chain is served after this CA.
        </CardDescription>
      </CardHeader>
      <CardContent className="space-y-4">
        {ca.csr ? <PemBlock pem={ca.csr} filename={`${fileBase}.csr`} label="Certificate signing request" /> : null}
        <form
          className="grid gap-4"
          onSubmit={(e) => {
            e.preventDefault();
            importCertificate.mutate({
              ref: ca.id,
              certificate: certificate.trim(),
              ...(issuerCertificate.trim() ? { issuerCertificate: issuerCertificate.trim() } : {}),
            });
          }}
        >
          <PemField
            id="ca-import-certificate"
            label="Signed CA certificate (PEM)"
            value={certificate}
            onChange={setCertificate}
            required
          />
          <PemField
            id="ca-import-issuer"
            label="Issuer certificate (PEM)"
            hint="The outside CA's certificate, or its chain up to the root; not needed when the issuer is a CA here"
            value={issuerCertificate}
            onChange={setIssuerCertificate}
          />
          <ErrorAlert error={importCertificate.error} />
          <div>
            <Button type="submit" disabled={!certificate.trim() || importCertificate.isPending}>
              <FileUp /> {importCertificate.isPending ? 'Importing…' : 'Import certificate'}
            </Button>
          </div>
        </form>
      </CardContent>
    </Card>
  );
}

/**
 * Renaming a CA (`ca.rename`, audited `ca.renamed`): its id, certificate and everything bound to it by id stay. A name
 * taken by another CA or not a CA name is refused by the server with its code, shown in the dialog, nothing changed.
 */
function RenameCaDialog(p: { ca: { id: string; name: string }; open: boolean; onOpenChange(open: boolean): void }) {
  const qc = useQueryClient();
  const navigate = useNavigate();
  const { caId } = useParams({ from: '/app/cas/$caId' });
  const [name, setName] = useState(p.ca.name);
  const rename = useMutation(
    trpc.ca.rename.mutationOptions({
      onSuccess: async (row) => {
        p.onOpenChange(false);
        await qc.invalidateQueries({ queryKey: trpc.ca.pathKey() });
        // a page opened by the CA's old name follows it to its id
        if (caId !== row.id) await navigate({ to: '/cas/$caId', params: { caId: row.id } });
      },
    }),
  );
  return (
    <FormDialog
      open={p.open}
      onOpenChange={(open) => {
        if (open) setName(p.ca.name);
        p.onOpenChange(open);
      }}
      mutation={rename}
      title="Rename CA"
      description="Its id, certificate and everything bound to it stay; only the name changes."
      submitLabel="Rename"
      disabled={!name.trim() || name.trim() === p.ca.name}
      onSubmit={() => rename.mutate({ ref: p.ca.id, name: name.trim() })}
    >
      <TextField id="ca-new-name" label="New name" value={name} onChange={setName} required />
    </FormDialog>
  );
}

const RENEW_OR_ROTATE = 'Renew its certificate (same key) or rotate its key to a successor CA';

/** the way on from a CA that cannot be renewed or rotated here, when it is on another page */
function LifecycleNext({ block }: { block: LifecycleBlock }) {
  if (!block.next) return null;
  return (
    <div className="mt-2">
      <Button variant="outline" size="sm" asChild>
        <Link to="/cas/new" search={block.next === 'create-external' ? { kind: 'external' } : {}}>
          <Plus /> {block.next === 'create-external' ? 'Create a CA for an outside CA to sign' : 'Create a CA'}
        </Link>
      </Button>
    </div>
  );
}

/**
 * Where Renew and Rotate would be: why this CA has neither (the server's refusal, its code) and what to do instead,
 * with a link when the next step is on another page.
 */
function LifecycleBlockedNote({ block }: { block: LifecycleBlock }) {
  return (
    <div data-testid="ca-lifecycle-blocked" data-code={block.code}>
      <Alert level="info" title={`No renewal or key rotation here: ${block.reason}.`}>
        {block.todo}
        <LifecycleNext block={block} />
      </Alert>
    </div>
  );
}

/**
 * A CA that expires soon (or has expired) and cannot be renewed or rotated here: one message — the end, why neither
 * is offered here and what to do instead — where the note and the expiry warning each said the same thing.
 */
function BlockedExpiryAlert(p: { block: LifecycleBlock; expired: boolean; title: string }) {
  return (
    <div data-testid="ca-lifecycle-blocked" data-code={p.block.code}>
      <Alert level={p.expired ? 'critical' : 'warning'} title={p.title}>
        {p.expired
          ? 'It signs nothing more, and what it issued no longer verifies under it. '
          : 'Certificates it issues cannot outlive it. '}
        It cannot be renewed or rotated here: {p.block.reason.charAt(0).toLowerCase() + p.block.reason.slice(1)}.{' '}
        {p.block.todo}
        <LifecycleNext block={p.block} />
      </Alert>
    </div>
  );
}

export function CaDetailPage() {
  const { caId } = useParams({ from: '/app/cas/$caId' });
  const { can } = useMe();
  const qc = useQueryClient();
  const { data: ca } = useSuspenseQuery(trpc.ca.get.queryOptions({ ref: caId }));
  const issued = useQuery({
    ...trpc.certificate.list.queryOptions({ ca: ca.id, limit: 10 }),
    enabled: can('certificate:read'),
  });
  const [revokeOpen, setRevokeOpen] = useState(false);
  const [renameOpen, setRenameOpen] = useState(false);
  const [renewOpen, setRenewOpen] = useState(false);
  const [rotateOpen, setRotateOpen] = useState(false);
  const [urlsOpen, setUrlsOpen] = useState(false);
  const urls = useCaRevocationUrls(ca);
  // every CA: the parent's state (it signs a renewal), the names of the parent, predecessor and successor
  const all = useQuery(trpc.ca.list.queryOptions()).data?.items;
  const byId = new Map((all ?? []).map((c) => [c.id, c]));
  const parent = ca.parentId ? byId.get(ca.parentId) : undefined;
  const lifecycleBlocked = caLifecycleBlock(ca, parent);
  const invalidate = () => qc.invalidateQueries({ queryKey: trpc.ca.pathKey() });
  const setStatus = useMutation(trpc.ca.setStatus.mutationOptions({ onSuccess: invalidate }));
  const revoke = useMutation(
    trpc.ca.revoke.mutationOptions({
      onSuccess: async () => {
        setRevokeOpen(false);
        await invalidate();
        await qc.invalidateQueries({ queryKey: trpc.certificate.pathKey() });
      },
    }),
  );
  const fileBase = ca.name.replace(/[^A-Za-z0-9._-]+/g, '_');
  // the end of its certificate: expired (not a revoked CA's concern any more), near, or neither
  const level = caExpiryLevel(ca);
  const expiry = ca.status === 'revoked' ? 'none' : level === 'expired' || level === 'warn' ? level : 'none';
  const expiryTitle =
    expiry === 'expired'
      ? `The CA certificate expired on ${formatDate(ca.notAfter)}`
      : `The CA certificate expires in ${caDaysLeft(ca.notAfter)} days (${formatDate(ca.notAfter)})`;
  return (
    <div className="space-y-6">
      <PageHeader
        title={ca.name}
        description={
          <span className="flex flex-wrap items-center gap-2">
            <StatusBadge status={ca.status} /> <code>{ca.subject}</code>
            {ca.notAfter ? (
              <span className="inline-flex items-center gap-2" data-testid="ca-expiry">
                valid until {formatDate(ca.notAfter)} <CaExpiryBadge ca={ca} />
              </span>
            ) : null}
          </span>
        }
        actions={
          <>
            {can('certificate:issue') && ca.status === 'active' ? (
              <Button asChild>
                <Link to="/issue" search={{ caId: ca.id }}>
                  <Stamp /> Issue certificate
                </Link>
              </Button>
            ) : null}
            {can('ca:write') && ca.status === 'active' ? (
              <Button variant="outline" asChild>
                <Link to="/cas/new" search={{ parentId: ca.id }}>
                  <Plus /> Subordinate CA
                </Link>
              </Button>
            ) : null}
            {can('ca:write') && !lifecycleBlocked ? (
              <>
                <Button variant="outline" onClick={() => setRenewOpen(true)}>
                  <RefreshCw /> Renew certificate
                </Button>
                <Button variant="outline" onClick={() => setRotateOpen(true)}>
                  <KeyRound /> Rotate key
                </Button>
              </>
            ) : null}
            {can('ca:write') ? (
              <Button variant="outline" onClick={() => setRenameOpen(true)}>
                <PencilLine /> Rename
              </Button>
            ) : null}
            {can('ca:write') && (ca.status === 'active' || ca.status === 'disabled') ? (
              <Button
                variant="outline"
                onClick={() => setStatus.mutate({ id: ca.id, status: ca.status === 'active' ? 'disabled' : 'active' })}
                disabled={setStatus.isPending}
              >
                <Power /> {ca.status === 'active' ? 'Disable' : 'Enable'}
              </Button>
            ) : null}
            {can('ca:write') && ca.status !== 'revoked' && ca.parentId ? (
              <Button variant="destructive" onClick={() => setRevokeOpen(true)}>
                <Ban /> Revoke CA
              </Button>
            ) : null}
          </>
        }
      />
      <ErrorAlert error={setStatus.error} />
      <RenameCaDialog ca={ca} open={renameOpen} onOpenChange={setRenameOpen} />
      {can('ca:write') && !lifecycleBlocked ? (
        <>
          <RenewCaDialog ca={ca} open={renewOpen} onOpenChange={setRenewOpen} />
          <RotateCaDialog ca={ca} open={rotateOpen} onOpenChange={setRotateOpen} />
        </>
      ) : null}
      {can('ca:write') ? <SetCaUrlsDialog ca={ca} open={urlsOpen} onOpenChange={setUrlsOpen} /> : null}
      {ca.status === 'revoked' ? (
        <Alert level="critical" title={`Revoked ${formatDateTime(ca.revokedAt)} (${ca.revocationReason})`}>
          Everything it issued was revoked with it.
        </Alert>
      ) : null}
      {expiry !== 'none' && lifecycleBlocked ? (
        <BlockedExpiryAlert block={lifecycleBlocked} expired={expiry === 'expired'} title={expiryTitle} />
      ) : expiry === 'expired' ? (
        <Alert level="critical" title={expiryTitle}>
          It signs nothing more, and what it issued no longer verifies under it. Renew its certificate: the same key
          gets a new certificate, the CA is active again and what it issued verifies again. Or rotate its key to a
          successor CA.
          {can('ca:write') ? (
            <div className="mt-2">
              <Button size="sm" onClick={() => setRenewOpen(true)}>
                <RefreshCw /> Renew the expired certificate
              </Button>
            </div>
          ) : null}
        </Alert>
      ) : expiry === 'warn' ? (
        <Alert level="warning" title={expiryTitle}>
          Certificates it issues cannot outlive it. {RENEW_OR_ROTATE} before then.
        </Alert>
      ) : can('ca:write') && lifecycleBlocked ? (
        <LifecycleBlockedNote block={lifecycleBlocked} />
      ) : null}
      {ca.status !== 'revoked' && urls?.lacksRevocation ? (
        <CaNoUrlsAlert ca={ca} urls={urls} onSetUrls={can('ca:write') ? () => setUrlsOpen(true) : undefined} />
      ) : null}
      {/* a pending CA: what is left to do comes first */}
      {ca.status === 'pending' && can('ca:write') ? <PendingCaCard ca={ca} fileBase={fileBase} /> : null}
      <div className="grid gap-6 lg:grid-cols-3">
        <Card className="lg:col-span-2">
          <CardHeader>
            <CardTitle>Certificate</CardTitle>
          </CardHeader>
          <CardContent>
            {ca.certificatePem ? (
              <DecodedCertificate pem={ca.certificatePem} />
            ) : (
              <p className="text-sm text-muted-foreground">Pending: the CSR waits for an external CA to sign it.</p>
            )}
          </CardContent>
        </Card>
        <Card data-testid="ca-key-card">
          <CardHeader>
            <CardTitle>Key and revocation</CardTitle>
          </CardHeader>
          <CardContent className="space-y-4">
            <DefinitionList
              stacked
              items={[
                ['Key', `${ca.keyType} (${ca.keyBackend})`],
                [
                  'Key URI',
                  <code key="u" className="break-all">
                    {ca.keyUri}
                  </code>,
                ],
                [
                  'Parent',
                  ca.parentId ? (
                    <Link key="p" to="/cas/$caId" params={{ caId: ca.parentId }} className="hover:underline">
                      {parent?.name ?? ca.parentId}
                    </Link>
                  ) : ca.status === 'pending' ? (
                    'an outside CA (pending)'
                  ) : ca.issuer !== ca.subject ? (
                    <span key="o">
                      outside CA <code>{ca.issuer}</code>
                    </span>
                  ) : (
                    'self-signed root'
                  ),
                ],
                [
                  'CRL number',
                  ca.crlNumber > 0 ? (
                    String(ca.crlNumber)
                  ) : (
                    // no CRL signed yet (not "number 0"): the first is made on its first download, or on demand
                    <span key="c" data-testid="crl-none" className="break-words">
                      None made yet: downloading the CRL below makes the first, as does{' '}
                      <code>pkim crl generate --ca {ca.name}</code>
                    </span>
                  ),
                ],
                ['Created', formatDate(ca.createdAt)],
              ]}
            />
            <div className="flex flex-wrap gap-2">
              <Button variant="outline" size="sm" asChild>
                <a href={`/crl/${ca.id}.crl`} download={`${fileBase}.crl`} data-testid="crl-download">
                  <Download /> CRL (DER)
                </a>
              </Button>
              <Button variant="outline" size="sm" asChild>
                <a href={`/crl/${ca.id}.pem`} download={`${fileBase}.crl.pem`}>
                  <Download /> CRL (PEM)
                </a>
              </Button>
            </div>
          </CardContent>
        </Card>
      </div>
      {ca.certificatePem ? (
        <Card>
          <CardContent className="space-y-4 pt-5">
            <PemBlock pem={ca.certificatePem} filename={`${fileBase}.crt`} label="CA certificate" />
            <PemBlock pem={ca.chainPem} filename={`${fileBase}-chain.pem`} label="Chain (this CA up to the root)" />
          </CardContent>
        </Card>
      ) : null}
      {ca.status !== 'pending' ? <CaHistoryCard ca={ca} cas={byId} /> : null}
      {ca.status !== 'revoked' ? (
        <CaSettingsCard ca={ca} urls={urls} canWrite={can('ca:write')} onSetUrls={() => setUrlsOpen(true)} />
      ) : null}
      {can('certificate:read') ? (
        <Card>
          <CardHeader className="flex-row items-center justify-between">
            <div>
              <CardTitle>Issued certificates</CardTitle>
              <CardDescription>Newest first</CardDescription>
            </div>
            <Button variant="outline" size="sm" asChild>
              <Link to="/certificates" search={{ caId: ca.id }}>
                All certificates of this CA
              </Link>
            </Button>
          </CardHeader>
          <CardContent className="p-0">
            {issued.data?.items.length === 0 ? (
              <EmptyState icon={FileBadge} title="No certificates issued yet" />
            ) : (
              <Table>
                <THead>
                  <TR>
                    <TH>Common name</TH>
                    <TH>Status</TH>
                    <TH>Profile</TH>
                    <TH>Expires</TH>
                  </TR>
                </THead>
                <TBody>
                  {(issued.data?.items ?? []).map((c) => (
                    <TR key={c.id}>
                      <TD>
                        <Link
                          to="/certificates/$certId"
                          params={{ certId: c.id }}
                          className="font-medium hover:underline"
                        >
                          {c.commonName ?? c.subject}
                        </Link>
                      </TD>
                      <TD>
                        <StatusBadge status={c.status} />
                      </TD>
                      <TD>{c.profile}</TD>
                      <TD>{formatDate(c.notAfter)}</TD>
                    </TR>
                  ))}
                </TBody>
              </Table>
            )}
          </CardContent>
        </Card>
      ) : null}
      <RevokeDialog
        id="ca-revoke-reason"
        open={revokeOpen}
        onOpenChange={setRevokeOpen}
        mutation={revoke}
        title={`Revoke CA ${ca.name}?`}
        description="The CA and every certificate and sub-CA below it are revoked. This cannot be undone."
        confirmLabel="Revoke CA"
        onConfirm={(reason) => revoke.mutate({ id: ca.id, reason })}
      />
    </div>
  );
}
