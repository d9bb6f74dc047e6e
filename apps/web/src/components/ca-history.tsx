import type { ReactNode } from 'react';
import { useQuery } from '@tanstack/react-query';
import { Link } from '@tanstack/react-router';
import { Download } from 'lucide-react';
import { trpc, type RouterOutputs } from '../lib/trpc';
import { downloadText, formatDate, formatDateTime } from '../lib/utils';
import { Card, CardContent, CardDescription, CardHeader, CardTitle } from './ui/card';
import { Table, TBody, TD, TH, THead, TR } from './ui/table';
import { Badge } from './ui/badge';
import { Button } from './ui/button';

type CaView = RouterOutputs['ca']['get'];
type CaListed = RouterOutputs['ca']['list']['items'][number];

/** a file name from a CA's name and a certificate's serial (its first 16 hex digits) */
const fileOf = (caName: string, serial: string, what: string) =>
  `${caName.replace(/[^A-Za-z0-9._-]+/g, '_')}-${what}-${serial.slice(0, 16)}.crt`;

/** a CA here by id: its name linked to its page; the id while the list loads */
function CaLink({ id, cas, testId }: { id: string; cas: Map<string, CaListed>; testId?: string }) {
  return (
    <Link to="/cas/$caId" params={{ caId: id }} className="font-medium hover:underline" data-testid={testId}>
      {cas.get(id)?.name ?? id}
    </Link>
  );
}

function DownloadPem({ pem, filename }: { pem: string; filename: string }) {
  return (
    <Button variant="outline" size="sm" onClick={() => downloadText(filename, pem)} title={`Download ${filename}`}>
      <Download /> PEM
    </Button>
  );
}

/** a cross certificate revoked on its own (`ca.revokeCross`): on its signer's CRL, `revoked` in its OCSP answers */
function CrossRevoked({ entry }: { entry: CaView['history'][number] }) {
  if (!entry.revokedAt) return null;
  return (
    <Badge variant="destructive" data-testid="ca-cross-revoked" title="On the old root's CRL; OCSP answers revoked">
      revoked {formatDate(entry.revokedAt)}
      {entry.revocationReason ? ` (${entry.revocationReason})` : ''}
    </Badge>
  );
}

interface Row {
  key: string;
  what: ReactNode;
  serial: string;
  signer: ReactNode;
  notBefore: string | null;
  notAfter: string | null;
  at: ReactNode;
  download: ReactNode;
}

/**
 * A CA's certificates, newest first (`ca.get`'s `history`, session 33's `certificate_history`): the current one,
 * those its renewals replaced (`previous`, each still verifying what the CA issued with it), a rotated root's cross
 * certificate (`cross`: its key signed by the root it succeeds) — each with its signer and dates, downloadable (PEM).
 * Above them its lineage: the CA it succeeds and the CAs that succeed it (`ca.rotate`; from `ca.list`), and on a
 * predecessor root's page the cross certificate it signed for its successor (from the successor's `ca.get`).
 */
export function CaHistoryCard({ ca, cas }: { ca: CaView; cas: Map<string, CaListed> }) {
  const successors = [...cas.values()].filter((c) => c.predecessorId === ca.id);
  // the first successor's view: a rotated root's successor holds the cross certificate this CA signed
  const next = useQuery({
    ...trpc.ca.get.queryOptions({ ref: successors[0]?.id ?? '' }),
    enabled: successors.length > 0,
  }).data;
  const crossSigned = next?.history.find((h) => h.kind === 'cross' && h.issuerCaId === ca.id);
  const signer = (issuerCaId: string | null, issuerDn: string): ReactNode =>
    issuerCaId === ca.id ? (
      'itself (self-signed)'
    ) : issuerCaId ? (
      <CaLink id={issuerCaId} cas={cas} />
    ) : (
      <span>
        outside CA <code>{issuerDn}</code>
      </span>
    );
  const rows: Row[] = [];
  if (ca.serial && ca.certificatePem)
    rows.push({
      key: 'current',
      what: <Badge variant="success">current</Badge>,
      serial: ca.serial,
      signer: signer(ca.parentId ?? (ca.issuer === ca.subject ? ca.id : null), ca.issuer),
      notBefore: ca.notBefore,
      notAfter: ca.notAfter,
      at: '',
      download: <DownloadPem pem={ca.certificatePem} filename={fileOf(ca.name, ca.serial, 'current')} />,
    });
  for (const h of [...ca.history].reverse())
    rows.push({
      key: `${h.kind}-${h.serial}`,
      what:
        h.kind === 'previous' ? (
          <Badge variant="outline">replaced by a renewal</Badge>
        ) : (
          <span className="flex flex-wrap gap-1">
            <Badge variant="outline">cross certificate</Badge>
            <CrossRevoked entry={h} />
          </span>
        ),
      serial: h.serial,
      signer: signer(h.issuerCaId, h.issuer),
      notBefore: h.notBefore,
      notAfter: h.notAfter,
      at: formatDateTime(h.at),
      download: <DownloadPem pem={h.certificatePem} filename={fileOf(ca.name, h.serial, h.kind)} />,
    });
  return (
    <Card data-testid="ca-history">
      <CardHeader>
        <CardTitle>Certificate history</CardTitle>
        <CardDescription>
          Newest first. A renewal keeps the key: what the CA issued verifies under each of its certificates. A key
          rotation makes a successor CA; a root&apos;s successor also gets a cross certificate, its new key signed by
          the old root, for relying parties that trust only the old one.
        </CardDescription>
      </CardHeader>
      <CardContent className="space-y-4">
        {ca.predecessorId || successors.length > 0 ? (
          <div className="flex flex-wrap gap-x-6 gap-y-2 text-sm" data-testid="ca-lineage">
            {ca.predecessorId ? (
              <span>
                Succeeds <CaLink id={ca.predecessorId} cas={cas} testId="ca-predecessor" /> (its key rotated to this
                CA&apos;s)
              </span>
            ) : null}
            {successors.length > 0 ? (
              <span data-testid="ca-successors">
                Succeeded by{' '}
                {successors.map((s, i) => (
                  <span key={s.id}>
                    {i > 0 ? ', ' : ''}
                    <CaLink id={s.id} cas={cas} /> (since {formatDate(s.createdAt)})
                  </span>
                ))}
              </span>
            ) : null}
          </div>
        ) : null}
        {crossSigned && next ? (
          <div className="flex flex-wrap items-center gap-2 text-sm" data-testid="ca-cross-signed">
            <span>
              This CA signed the cross certificate of {next.name}: serial <code>{crossSigned.serial}</code>
            </span>
            <span>valid until {formatDate(crossSigned.notAfter)}</span>
            <CrossRevoked entry={crossSigned} />
            <DownloadPem pem={crossSigned.certificatePem} filename={fileOf(next.name, crossSigned.serial, 'cross')} />
          </div>
        ) : null}
        {rows.length === 0 ? (
          <p className="text-sm text-muted-foreground">No certificate yet.</p>
        ) : (
          <Table>
            <THead>
              <TR>
                <TH>Certificate</TH>
                <TH>Serial</TH>
                <TH>Signed by</TH>
                <TH>Valid from</TH>
                <TH>Valid until</TH>
                <TH>Replaced / made</TH>
                <TH>
                  <span className="sr-only">Download</span>
                </TH>
              </TR>
            </THead>
            <TBody>
              {rows.map((r) => (
                <TR key={r.key} data-testid={`ca-history-${r.key}`}>
                  <TD>{r.what}</TD>
                  <TD>
                    <code className="text-xs">{r.serial}</code>
                  </TD>
                  <TD>{r.signer}</TD>
                  <TD className="whitespace-nowrap">{formatDate(r.notBefore)}</TD>
                  <TD className="whitespace-nowrap">{formatDate(r.notAfter)}</TD>
                  <TD className="whitespace-nowrap">{r.at}</TD>
                  <TD className="text-right">{r.download}</TD>
                </TR>
              ))}
            </TBody>
          </Table>
        )}
      </CardContent>
    </Card>
  );
}
