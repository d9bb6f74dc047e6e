import { useState, type ReactNode } from 'react';
import { useMutation, useQuery, useQueryClient, useSuspenseQuery } from '@tanstack/react-query';
import { Link, useNavigate, useParams } from '@tanstack/react-router';
import { Ban, Download, FileDown, RefreshCw, Trash2 } from 'lucide-react';
import { trpc, type RouterOutputs } from '../lib/trpc';
import { useMe } from '../lib/auth';
import { toast } from '../lib/toast';
import { parseSanList } from '../lib/pki';
import { downloadBase64, downloadText, formatDateTime } from '../lib/utils';
import { DefinitionList, PageHeader } from '../components/page';
import { Button } from '../components/ui/button';
import { Card, CardContent, CardHeader, CardTitle } from '../components/ui/card';
import { StatusBadge } from '../components/ui/badge';
import { Alert } from '../components/ui/alert';
import { Field, Input, NativeSelect, Textarea } from '../components/ui/input';
import { FormDialog } from '../components/form-dialog';
import { SelectField, ValidityDaysField, validityDaysTtl } from '../components/form-fields';
import { CsrInput } from '../components/csr-input';
import { DecodedCertificate } from '../components/decoded-certificate';
import { RevokeDialog } from '../components/revoke-dialog';
import { ConfirmDialog, type DialogMutation } from '../components/ui/dialog';
import { PemBlock } from '../components/pem-block';

export function CertificateDetailPage() {
  const { certId } = useParams({ from: '/app/certificates/$certId' });
  const { can } = useMe();
  const qc = useQueryClient();
  const { data } = useSuspenseQuery(trpc.certificate.get.queryOptions({ ref: certId }));
  const c = data;
  // the URLs it carries (DecodedCertificate's query: one request): whether a relying party can learn of a revocation
  const decoded = useQuery(
    trpc.insights.decodeCertificate.queryOptions({ pem: data.certificatePem }, { staleTime: Infinity }),
  );
  const ca = useQuery(trpc.ca.get.queryOptions({ ref: c.caId }));
  const profiles = useQuery(trpc.insights.profiles.queryOptions());
  // a subordinate CA certificate (Vault sign-intermediate: its key held elsewhere) is renewed only with a new CSR, by
  // someone who may sign CA certificates (the server checks `ca:write`: the subordinate-CA path of the pipeline)
  const caCertificate = profiles.data?.items.some((p) => p.name === c.profile && p.isCa) === true;
  const [open, setOpen] = useState(false);
  const revoke = useMutation(
    trpc.certificate.revoke.mutationOptions({
      onSuccess: async () => {
        setOpen(false);
        await qc.invalidateQueries({ queryKey: trpc.certificate.pathKey() });
        await qc.invalidateQueries({ queryKey: trpc.insights.pathKey() });
      },
    }),
  );
  const [renewOpen, setRenewOpen] = useState(false);
  // the renewal stays shown after the dialog closes (closing resets the mutation)
  const [renewed, setRenewed] = useState<(RouterOutputs['renewal']['renew'] & { reusedKey: boolean }) | null>(null);
  const renew = useMutation(
    trpc.renewal.renew.mutationOptions({
      onSuccess: async (r, sent) => {
        setRenewed({ ...r, reusedKey: sent.reuseKey === true });
        setRenewOpen(false);
        await qc.invalidateQueries({ queryKey: trpc.certificate.pathKey() });
      },
    }),
  );
  const [exportOpen, setExportOpen] = useState(false);
  const [deleteOpen, setDeleteOpen] = useState(false);
  const navigate = useNavigate();
  const remove = useMutation(
    trpc.certificate.delete.mutationOptions({
      onSuccess: async ({ deleted }) => {
        toast({
          title: 'Certificate deleted',
          description: `${deleted.commonName ?? deleted.subject} (${deleted.serial})`,
        });
        // leave the page first: refetching this certificate now would answer certificate.not_found
        await navigate({ to: '/certificates' });
        qc.removeQueries({ queryKey: trpc.certificate.get.queryKey({ ref: certId }) });
        await qc.invalidateQueries({ queryKey: trpc.certificate.pathKey() });
        await qc.invalidateQueries({ queryKey: trpc.insights.pathKey() });
      },
    }),
  );
  // the server decides (its clock, `certificate.not_deletable`); the button is offered once the record looks expired
  const expired = c.status === 'expired' || Date.parse(c.notAfter) <= Date.now();
  const base = (c.commonName ?? c.serial).replace(/[^A-Za-z0-9._-]+/g, '_');
  return (
    <div className="space-y-6">
      <PageHeader
        title={c.commonName ?? c.subject}
        description={
          <span className="flex flex-wrap items-center gap-2">
            <StatusBadge status={c.status} /> issued by{' '}
            <Link to="/cas/$caId" params={{ caId: c.caId }} className="hover:underline">
              {ca.data?.name ?? c.caId}
            </Link>{' '}
            with profile <code>{c.profile}</code>
          </span>
        }
        actions={
          <>
            <Button variant="outline" onClick={() => downloadText(`${base}.crt`, data.certificatePem)}>
              <Download /> Certificate
            </Button>
            {ca.data ? (
              <Button
                variant="outline"
                onClick={() =>
                  downloadText(`${base}-fullchain.pem`, data.certificatePem.trim() + '\n' + ca.data.chainPem)
                }
              >
                <Download /> Full chain
              </Button>
            ) : null}
            <Button variant="outline" onClick={() => setExportOpen(true)}>
              <FileDown /> Export
            </Button>
            {can('certificate:issue') && c.status === 'active' && (!caCertificate || can('ca:write')) ? (
              <Button variant="outline" onClick={() => setRenewOpen(true)}>
                <RefreshCw /> {caCertificate ? 'Renew with CSR' : 'Renew'}
              </Button>
            ) : null}
            {can('certificate:revoke') && c.status !== 'revoked' ? (
              <Button variant="destructive" onClick={() => setOpen(true)}>
                <Ban /> Revoke
              </Button>
            ) : null}
            {can('ca:write') && expired ? (
              <Button variant="destructive" onClick={() => setDeleteOpen(true)}>
                <Trash2 /> Delete
              </Button>
            ) : null}
          </>
        }
      />
      {renewed ? (
        <Alert level="info" title="Renewed">
          <span data-testid="renewed">
            New certificate{' '}
            <Link
              to="/certificates/$certId"
              params={{ certId: renewed.certificate.id }}
              className="font-medium underline"
            >
              {renewed.certificate.serial}
            </Link>
            {renewed.reusedKey ? ' with the same key' : ''}
            {renewed.previousRevoked ? ' — this one is revoked as superseded.' : '.'}
          </span>
          {renewed.privateKeyPem ? (
            <Button
              variant="outline"
              className="ml-2"
              onClick={() => downloadText(`${base}-renewed.key`, renewed.privateKeyPem ?? '')}
            >
              <Download /> {renewed.reusedKey ? 'Private key (the same)' : 'New private key (shown once)'}
            </Button>
          ) : null}
        </Alert>
      ) : null}
      {caCertificate && c.status === 'active' ? (
        <Alert level="info" title="A subordinate CA certificate">
          <span data-testid="subordinate-ca">
            Its key is held elsewhere: renew it with a new CSR from its key holder (<strong>Renew with CSR</strong>
            with the right to sign CA certificates, or <code>pkim cert renew {c.serial} --csr new.csr</code>), or sign
            that CSR with the Vault API&apos;s <code>sign-intermediate</code> (
            <code>&lt;mount&gt;/root/sign-intermediate</code>).
          </span>
        </Alert>
      ) : null}
      {c.status === 'revoked' ? (
        <Alert level="critical" title={`Revoked ${formatDateTime(c.revokedAt)} — reason: ${c.revocationReason}`}>
          Listed on the CRL of the issuing CA (
          <a className="underline" href={`/crl/${c.caId}.crl`}>
            /crl/{c.caId}.crl
          </a>
          ){' '}
          {decoded.data && decoded.data.crlDistributionPoints.length + decoded.data.ocspUrls.length === 0 ? (
            <>
              — but <strong>this certificate carries no CRL or OCSP URL</strong>: a relying party that has it cannot
              learn of the revocation. Remove it where it is installed; set its CA&apos;s URLs (the CA page, Settings)
              before issuing the replacement.
            </>
          ) : (
            'and answered as revoked by OCSP.'
          )}
        </Alert>
      ) : null}
      <div className="grid gap-6 lg:grid-cols-3">
        <Card className="lg:col-span-2">
          <CardHeader>
            <CardTitle>Decoded certificate</CardTitle>
          </CardHeader>
          <CardContent>
            <DecodedCertificate pem={data.certificatePem} />
          </CardContent>
        </Card>
        <Card>
          <CardHeader>
            <CardTitle>Record</CardTitle>
          </CardHeader>
          <CardContent>
            <DefinitionList
              items={[
                ['Id', <code key="id">{c.id}</code>],
                ['Status', <StatusBadge key="s" status={c.status} />],
                ['Issued by', c.issuedBy],
                ['Issued at', formatDateTime(c.createdAt)],
                ['Request', c.requestId ?? '—'],
                ['Key type', c.keyType],
                ...renewalLinks(c),
                ...(can('audit:read')
                  ? ([
                      [
                        'Audit',
                        <Link
                          key="audit"
                          to="/audit"
                          search={{ target: c.id }}
                          className="break-normal hover:underline"
                        >
                          Audit events →
                        </Link>,
                      ],
                    ] as [string, ReactNode][])
                  : []),
              ]}
            />
          </CardContent>
        </Card>
      </div>
      <Card>
        <CardContent className="pt-5">
          <PemBlock pem={data.certificatePem} filename={`${base}.crt`} label="PEM" />
        </CardContent>
      </Card>
      <RenewDialog
        key={c.id}
        open={renewOpen}
        onOpenChange={setRenewOpen}
        name={c.commonName ?? c.subject}
        subordinateCa={caCertificate}
        currentSans={c.sans}
        mutation={renew}
        onSubmit={(o) => renew.mutate({ ref: c.id, ...o })}
      />
      <ExportDialog
        open={exportOpen}
        onOpenChange={setExportOpen}
        certId={c.id}
        canTakeKey={can('certificate:issue')}
      />
      <RevokeDialog
        id="revoke-reason"
        open={open}
        onOpenChange={setOpen}
        mutation={revoke}
        title="Revoke this certificate?"
        description={
          <>
            <strong>{c.commonName ?? c.subject}</strong> will be listed on the CRL and reported revoked by OCSP.
            Revocation cannot be undone.
          </>
        }
        confirmLabel="Revoke certificate"
        onConfirm={(reason) => revoke.mutate({ ref: c.id, reason })}
      />
      <ConfirmDialog
        open={deleteOpen}
        onOpenChange={setDeleteOpen}
        mutation={remove}
        title="Delete this certificate record?"
        description={
          <>
            The expired certificate <strong>{c.commonName ?? c.subject}</strong> (serial <code>{c.serial}</code>) is
            removed from the inventory. The audit log keeps its serial and fingerprint.
          </>
        }
        confirmLabel="Delete certificate"
        onConfirm={() => remove.mutate({ ref: c.id })}
      />
    </div>
  );
}

const EXPORT_FORMATS = [
  ['pem', 'PEM certificate'],
  ['der', 'DER certificate (.cer)'],
  ['chain', 'Chain PEM (leaf → root)'],
  ['p7b', 'PKCS#7 (.p7b, DER)'],
  ['p7b-pem', 'PKCS#7 (PEM)'],
  ['p12', 'PKCS#12 (.p12)'],
  ['jks', 'Java keystore (.jks)'],
  ['key', 'Encrypted private key (PKCS#8)'],
  ['zip', 'ZIP of all'],
] as const;
type ExportFormat = (typeof EXPORT_FORMATS)[number][0];
const WITH_PASSWORD = new Set<ExportFormat>(['p12', 'jks', 'key', 'zip']);

/** an export in any format: the file comes back from the API and the browser saves it */
function ExportDialog({
  open,
  onOpenChange,
  certId,
  canTakeKey,
}: {
  open: boolean;
  onOpenChange: (open: boolean) => void;
  certId: string;
  canTakeKey: boolean;
}) {
  const [format, setFormat] = useState<ExportFormat>('pem');
  const [password, setPassword] = useState('');
  const [includeKey, setIncludeKey] = useState(false);
  const exp = useMutation(
    trpc.exports.certificate.mutationOptions({
      onSuccess: (f) => {
        downloadBase64(f.fileName, f.contentBase64, f.mediaType);
        onOpenChange(false);
      },
    }),
  );
  const needsPassword = WITH_PASSWORD.has(format);
  return (
    <FormDialog
      open={open}
      onOpenChange={onOpenChange}
      title="Export certificate"
      submitLabel="Export"
      mutation={exp}
      onSubmit={() =>
        exp.mutate({
          ref: certId,
          format,
          ...(needsPassword && password ? { password } : {}),
          ...(needsPassword && includeKey ? { includeKey } : {}),
        })
      }
    >
      <Field label="Format" htmlFor="export-format">
        <NativeSelect id="export-format" value={format} onChange={(e) => setFormat(e.target.value as ExportFormat)}>
          {EXPORT_FORMATS.map(([v, label]) => (
            <option key={v} value={v}>
              {label}
            </option>
          ))}
        </NativeSelect>
      </Field>
      {needsPassword ? (
        <>
          <Field label="Export password" htmlFor="export-password" hint="At least 8 characters">
            <Input
              id="export-password"
              type="password"
              autoComplete="new-password"
              value={password}
              onChange={(e) => setPassword(e.target.value)}
            />
          </Field>
          {canTakeKey && format !== 'key' ? (
            <label className="flex items-center gap-2 text-sm">
              <input type="checkbox" checked={includeKey} onChange={(e) => setIncludeKey(e.target.checked)} />
              Include the private key (only for keys the server generated and keeps; audited)
            </label>
          ) : null}
        </>
      ) : null}
    </FormDialog>
  );
}

interface SanNames {
  dns?: string[];
  ip?: string[];
  email?: string[];
  uri?: string[];
}

/** SANs as the Renew dialog shows them: one per line, DNS names, IPs, emails, URIs (what parseSanList reads back) */
function sanLines(s: SanNames): string {
  return [...(s.dns ?? []), ...(s.ip ?? []), ...(s.email ?? []), ...(s.uri ?? [])].join('\n');
}

/** the names of a SAN text, sorted: two texts naming the same SANs (order, separators aside) compare equal */
function sanSet(text: string): string {
  return text
    .split(/[\s,]+/)
    .filter(Boolean)
    .sort()
    .join(' ');
}

/**
 * Renewal: the same subject, names, profile and CA with a new key, generated by the server (its private key shown
 * once) or the public key of a pasted or uploaded CSR (the private key never leaves its holder) — or the current key
 * (`reuseKey`), where the profile allows it (`allowKeyReuse`) and the server kept the key; otherwise the server refuses
 * (`renewal.key_reuse_not_allowed`, `export.key_not_held`) and the dialog shows the code and what to do instead. The
 * SANs field shows the certificate's names: left as shown (or emptied) the renewal keeps them exactly as they are;
 * edited, the names given replace them.
 * A subordinate CA certificate (`subordinateCa`: Vault sign-intermediate's, its key held elsewhere) is renewed only
 * from a new CSR of its key holder, with no SANs: the server signs it as sign-intermediate does (`ca:write`, the
 * old certificate's subject, path length and name constraints) or refuses, and the dialog shows the refusal.
 */
function RenewDialog({
  open,
  onOpenChange,
  name,
  subordinateCa,
  currentSans,
  mutation,
  onSubmit,
}: {
  open: boolean;
  onOpenChange: (open: boolean) => void;
  name: string;
  subordinateCa: boolean;
  currentSans: SanNames;
  mutation: DialogMutation;
  onSubmit: (o: {
    revokeOld: boolean;
    csrPem?: string;
    reuseKey?: boolean;
    ttl?: string;
    sans?: ReturnType<typeof parseSanList>;
  }) => void;
}) {
  const [keySource, setKeySource] = useState<'generated' | 'csr' | 'reuse'>('generated');
  const [csrPem, setCsrPem] = useState('');
  const [revokeOld, setRevokeOld] = useState(false);
  const [validityDays, setValidityDays] = useState('');
  const shownSans = sanLines(currentSans);
  const [sansText, setSansText] = useState(shownSans);
  // a subordinate CA certificate: from a CSR, whatever the (hidden) key choice — the profiles may arrive after mount
  const fromCsr = subordinateCa || keySource === 'csr';
  const reuseKey = !subordinateCa && keySource === 'reuse';
  const validity = validityDaysTtl(validityDays);
  // unchanged: no `sans` sent, the server keeps the old ones as stored (no round trip through parseSanList)
  const sansChanged = !subordinateCa && sanSet(sansText) !== sanSet(shownSans);
  const sans = sansChanged ? parseSanList(sansText) : {};
  const badSans = Object.values(sans)
    .flat()
    .filter((v) => !SAN_ENTRY.test(v));
  const sansError = badSans.length ? `Not a DNS name, IP address, email or URI: ${badSans.join(', ')}` : null;
  return (
    <FormDialog
      open={open}
      onOpenChange={onOpenChange}
      title={subordinateCa ? 'Renew this subordinate CA certificate?' : 'Renew this certificate?'}
      description={
        subordinateCa
          ? `A new CA certificate for ${name} with the same subject, path length and name constraints, signed by ` +
            'the same CA for the public key of a new CSR from its key holder (the private key stays where it is).'
          : `A new certificate for ${name} with the same subject, names, profile and CA, and ` +
            (reuseKey ? 'the same key.' : 'a new key.')
      }
      submitLabel="Renew certificate"
      mutation={mutation}
      disabled={(fromCsr && !csrPem.trim()) || validity.error !== null || sansError !== null}
      onSubmit={() =>
        onSubmit({
          revokeOld,
          ...(fromCsr ? { csrPem: csrPem.trim() } : {}),
          ...(reuseKey ? { reuseKey } : {}),
          ...(validity.ttl ? { ttl: validity.ttl } : {}),
          ...(Object.keys(sans).length ? { sans } : {}),
        })
      }
    >
      {subordinateCa ? null : (
        <SelectField
          id="renew-key"
          label="Key"
          hint={
            reuseKey
              ? "Only where the certificate's profile allows key reuse and the server kept its key; otherwise " +
                'nothing is renewed and the refusal is shown here'
              : undefined
          }
          value={keySource}
          onChange={setKeySource}
          options={[
            { value: 'generated', label: 'Generated by the server (private key shown once)' },
            { value: 'csr', label: 'From a CSR (paste or upload)' },
            { value: 'reuse', label: 'The current key (reused)' },
          ]}
        />
      )}
      {fromCsr ? <CsrInput value={csrPem} onChange={setCsrPem} /> : null}
      <ValidityDaysField
        id="renew-validity"
        hint={subordinateCa ? "Empty: the profile's default, cut to the issuing CA's" : "Empty: the profile's default"}
        value={validityDays}
        onChange={setValidityDays}
      />
      {subordinateCa ? null : (
        <Field
          label="SANs"
          htmlFor="renew-sans"
          hint={
            "The certificate's names; edit to replace them (DNS names, IPs, emails, URIs; comma or newline " +
            'separated)'
          }
          error={sansError ?? undefined}
        >
          <Textarea id="renew-sans" rows={2} value={sansText} onChange={(e) => setSansText(e.target.value)} />
        </Field>
      )}
      <label className="flex items-center gap-2 text-sm">
        <input type="checkbox" checked={revokeOld} onChange={(e) => setRevokeOld(e.target.checked)} />
        Revoke this certificate as superseded
      </label>
    </FormDialog>
  );
}

/** one SAN as parseSanList sorted it: DNS name (wildcard allowed), IP, email or URI; the server checks fully */
const SAN_ENTRY = /^(\*\.)?[a-z0-9-]+(\.[a-z0-9-]+)*\.?$|^[0-9.:a-f]+$|^[^@\s]+@[^@\s]+$|^[a-z][a-z0-9+.-]*:\S+$/i;

/** the Record rows linking renewals both ways: the certificate this one renews, those that renew it */
function renewalLinks(c: { renewedFrom?: string | null; renewedBy?: string[] }): [string, ReactNode][] {
  const rows: [string, ReactNode][] = [];
  if (c.renewedFrom) rows.push(['Renewed from', <CertLinks key="rf" testId="renewed-from" ids={[c.renewedFrom]} />]);
  if (c.renewedBy?.length) rows.push(['Renewed by', <CertLinks key="rb" testId="renewed-by" ids={c.renewedBy} />]);
  return rows;
}

/** links to other certificates by id */
function CertLinks({ ids, testId }: { ids: readonly string[]; testId: string }) {
  return (
    <span className="flex flex-col" data-testid={testId}>
      {ids.map((id) => (
        <Link key={id} to="/certificates/$certId" params={{ certId: id }} className="font-mono text-xs hover:underline">
          {id}
        </Link>
      ))}
    </span>
  );
}
