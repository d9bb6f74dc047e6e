import { useState } from 'react';
import { useMutation, useQuery, useQueryClient, useSuspenseQuery } from '@tanstack/react-query';
import { Link, useParams } from '@tanstack/react-router';
import { Ban, Download } from 'lucide-react';
import { trpc } from '../lib/trpc';
import { useMe } from '../lib/auth';
import { REVOCATION_REASON_OPTIONS, type RevocationReason } from '../lib/pki';
import { downloadText, formatDateTime } from '../lib/utils';
import { DefinitionList, PageHeader } from '../components/page';
import { Button } from '../components/ui/button';
import { Card, CardContent, CardHeader, CardTitle } from '../components/ui/card';
import { StatusBadge } from '../components/ui/badge';
import { Alert, ErrorAlert } from '../components/ui/alert';
import { ConfirmDialog } from '../components/ui/dialog';
import { Field, NativeSelect } from '../components/ui/input';
import { DecodedCertificate } from '../components/decoded-certificate';
import { PemBlock } from '../components/pem-block';

export function CertificateDetailPage() {
  const { certId } = useParams({ from: '/app/certificates/$certId' });
  const { can } = useMe();
  const qc = useQueryClient();
  const { data } = useSuspenseQuery(trpc.certificate.get.queryOptions({ ref: certId }));
  const c = data;
  const ca = useQuery(trpc.ca.get.queryOptions({ ref: c.caId }));
  const [open, setOpen] = useState(false);
  const [reason, setReason] = useState<RevocationReason>('unspecified');
  const revoke = useMutation(
    trpc.certificate.revoke.mutationOptions({
      onSuccess: async () => {
        setOpen(false);
        await qc.invalidateQueries({ queryKey: trpc.certificate.pathKey() });
        await qc.invalidateQueries({ queryKey: trpc.insights.pathKey() });
      },
    }),
  );
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
            {can('certificate:revoke') && c.status !== 'revoked' ? (
              <Button variant="destructive" onClick={() => setOpen(true)}>
                <Ban /> Revoke
              </Button>
            ) : null}
          </>
        }
      />
      <ErrorAlert error={revoke.error} />
      {c.status === 'revoked' ? (
        <Alert level="critical" title={`Revoked ${formatDateTime(c.revokedAt)} — reason: ${c.revocationReason}`}>
          Listed on the CRL of the issuing CA (
          <a className="underline" href={`/crl/${c.caId}.crl`}>
            /crl/{c.caId}.crl
          </a>
          ) and answered as revoked by OCSP.
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
      <ConfirmDialog
        open={open}
        onOpenChange={setOpen}
        title="Revoke this certificate?"
        description={
          <>
            <strong>{c.commonName ?? c.subject}</strong> will be listed on the CRL and reported revoked by OCSP.
            Revocation cannot be undone.
          </>
        }
        confirmLabel="Revoke certificate"
        pending={revoke.isPending}
        onConfirm={() => revoke.mutate({ ref: c.id, reason })}
      >
        <Field label="Reason" htmlFor="revoke-reason">
          <NativeSelect
            id="revoke-reason"
            value={reason}
            onChange={(e) => setReason(e.target.value as RevocationReason)}
          >
            {REVOCATION_REASON_OPTIONS.map((r) => (
              <option key={r.value} value={r.value}>
                {r.label}
              </option>
            ))}
          </NativeSelect>
        </Field>
      </ConfirmDialog>
    </div>
  );
}
