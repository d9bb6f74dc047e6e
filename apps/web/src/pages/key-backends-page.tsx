import { useQuery, useSuspenseQuery } from '@tanstack/react-query';
import { Link } from '@tanstack/react-router';
import { Database, KeyRound, RefreshCw } from 'lucide-react';
import { trpc } from '../lib/trpc';
import { PageHeader } from '../components/page';
import { Button } from '../components/ui/button';
import { Card, CardContent, CardDescription, CardHeader, CardTitle } from '../components/ui/card';
import { StatusBadge } from '../components/ui/badge';

const ABOUT: Record<string, string> = {
  software: 'Keys encrypted with the master key (AES-256-GCM) and stored in the database',
  pkcs11: 'Keys generated in and used through a PKCS#11 token (HSM, SoftHSM2); never exported',
  kmip: 'Keys in a KMIP server (Cosmian KMS, PyKMIP); signing happens in the KMS',
};

export function KeyBackendsPage() {
  const health = useSuspenseQuery(trpc.system.health.queryOptions(undefined, { staleTime: 0 }));
  const cas = useQuery(trpc.ca.list.queryOptions());
  const byBackend = new Map<string, number>();
  for (const c of cas.data?.items ?? []) byBackend.set(c.keyBackend, (byBackend.get(c.keyBackend) ?? 0) + 1);
  return (
    <div>
      <PageHeader
        title="Key backends"
        description="Where CA private keys live; they never leave a backend unencrypted"
        actions={
          <Button variant="outline" onClick={() => void health.refetch()} disabled={health.isFetching}>
            <RefreshCw /> Check again
          </Button>
        }
      />
      <div className="grid gap-4 md:grid-cols-2 xl:grid-cols-3">
        <Card>
          <CardHeader className="flex-row items-center justify-between">
            <CardTitle className="flex items-center gap-2">
              <Database className="size-4" /> Database
            </CardTitle>
            <StatusBadge status={health.data.database ? 'healthy' : 'unavailable'} />
          </CardHeader>
          <CardContent>
            <CardDescription>Certificates, audit chain, users and encrypted software keys</CardDescription>
          </CardContent>
        </Card>
        {health.data.keyBackends.map((k) => (
          <Card key={k.backend} data-backend={k.backend}>
            <CardHeader className="flex-row items-center justify-between">
              <CardTitle className="flex items-center gap-2">
                <KeyRound className="size-4" /> {k.backend}
              </CardTitle>
              <StatusBadge status={k.ok ? 'healthy' : 'unavailable'} />
            </CardHeader>
            <CardContent className="space-y-2 text-sm">
              <CardDescription>{ABOUT[k.backend] ?? 'Key backend'}</CardDescription>
              {k.detail ? <p className="text-xs text-muted-foreground">{k.detail}</p> : null}
              <p>
                <Link to="/cas" className="hover:underline">
                  {byBackend.get(k.backend) ?? 0} CA key{byBackend.get(k.backend) === 1 ? '' : 's'}
                </Link>
              </p>
            </CardContent>
          </Card>
        ))}
      </div>
      <p className="mt-6 text-sm text-muted-foreground">
        PKCS#11 and KMIP appear when configured (PKIM_PKCS11_* / PKIM_KMIP_* environment, see docs).
      </p>
    </div>
  );
}
