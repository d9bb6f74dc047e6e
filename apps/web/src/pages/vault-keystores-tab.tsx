import { Link } from '@tanstack/react-router';
import { useQuery } from '@tanstack/react-query';
import { KeySquare } from 'lucide-react';
import { trpc } from '../lib/trpc';
import { colonHex, formatDate, relativeDays } from '../lib/utils';
import { StatusBadge } from '../components/ui/badge';
import { Alert } from '../components/ui/alert';
import { DataTable } from '../components/data-table';

/**
 * Tenant keystores as the CA sees them: the certificates issued through the `keystore-<type>` roles, one row per
 * certificate name (tenant × keystore type). The keystore client (`pkim keystore`, packages/keystore-certs) keeps
 * the private keys and the lifecycle state; renewal, rotation and disconnect run there (docs/keystore.md).
 */
export function KeystoresTab() {
  const { data, error } = useQuery(trpc.vault.keystores.queryOptions({}));
  return (
    <div className="space-y-4">
      <Alert level="info" title="What the CA issued to the keystore client">
        Renewal, rotation (handshake, grace period) and disconnect run in the keystore client (
        <code>pkim keystore</code>
        ), which holds the private keys. Revoke a certificate from its page if a client cannot.
      </Alert>
      <DataTable
        testId="vault-keystores"
        rows={data?.items}
        error={error}
        rowKey={(k) => `${k.mount}|${k.role}|${k.commonName}`}
        rowAttributes={(k) => ({ 'data-keystore': `${k.keystoreType}|${k.commonName}`, 'data-state': k.state })}
        empty={{
          icon: KeySquare,
          title: 'No tenant keystore certificate',
          body: 'pkim keystore init-roles writes the keystore-<type> roles; pkim keystore connect issues through them.',
        }}
        columns={[
          { header: 'Keystore type', className: 'font-medium', cell: (k) => k.keystoreType },
          {
            header: 'Tenant certificate',
            className: 'text-xs break-all',
            cell: (k) => (
              <>
                <div>{k.commonName}</div>
                <div className="text-muted-foreground">{k.dnsNames.join(', ')}</div>
              </>
            ),
          },
          { header: 'State', cell: (k) => <StatusBadge status={k.state} /> },
          {
            header: 'Current certificate',
            className: 'font-mono text-xs',
            cell: (k) => (
              <Link to="/certificates/$certId" params={{ certId: k.current.id }} className="hover:underline">
                {colonHex(k.current.serial).slice(0, 23)}…
              </Link>
            ),
          },
          {
            header: 'Expires',
            className: 'text-xs whitespace-nowrap',
            cell: (k) => `${formatDate(k.current.notAfter)} (${relativeDays(k.current.notAfter)})`,
          },
          {
            header: 'Valid / revoked / all',
            align: 'right',
            from: 'md',
            cell: (k) => `${k.active} / ${k.revoked} / ${k.total}`,
          },
          { header: 'Mount', from: 'lg', className: 'text-xs', cell: (k) => <code>{k.mount}</code> },
        ]}
      />
    </div>
  );
}
