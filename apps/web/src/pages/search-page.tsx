import { useQuery } from '@tanstack/react-query';
import { Link, useSearch } from '@tanstack/react-router';
import { FileBadge, Network, Search } from 'lucide-react';
import { trpc } from '../lib/trpc';
import { formatDate } from '../lib/utils';
import { PageHeader } from '../components/page';
import { Card, CardContent, CardHeader, CardTitle } from '../components/ui/card';
import { Badge, StatusBadge } from '../components/ui/badge';
import { EmptyState } from '../components/ui/empty-state';
import { ErrorAlert } from '../components/ui/alert';
import { TableSkeleton } from '../components/ui/skeleton';

export function SearchPage() {
  const { q } = useSearch({ from: '/app/search' });
  const r = useQuery({ ...trpc.insights.search.queryOptions({ q: q ?? '', limit: 25 }), enabled: !!q });
  return (
    <div className="space-y-4">
      <PageHeader
        title="Search"
        description={
          q ? (
            <>
              Results for <code>{q}</code>
            </>
          ) : (
            'CN, SAN, serial number, fingerprint or id'
          )
        }
      />
      {!q ? (
        <EmptyState icon={Search} title="Type in the search box above" />
      ) : r.error ? (
        <ErrorAlert error={r.error} />
      ) : !r.data ? (
        <TableSkeleton rows={5} cols={3} />
      ) : r.data.cas.length === 0 && r.data.certificates.length === 0 ? (
        <EmptyState icon={Search} title="Nothing found">
          Serial numbers and fingerprints match exactly; names match anywhere in the CN, SANs or subject.
        </EmptyState>
      ) : (
        <>
          {r.data.cas.length ? (
            <Card>
              <CardHeader>
                <CardTitle>Certificate authorities</CardTitle>
              </CardHeader>
              <CardContent>
                <ul className="divide-y">
                  {r.data.cas.map((c) => (
                    <li key={c.id} className="flex flex-wrap items-center gap-3 py-2 text-sm">
                      <Network className="size-4 text-primary" aria-hidden />
                      <Link to="/cas/$caId" params={{ caId: c.id }} className="font-medium hover:underline">
                        {c.name}
                      </Link>
                      <StatusBadge status={c.status} />
                      <code className="text-xs text-muted-foreground">{c.subject}</code>
                      <Badge variant="outline" className="ml-auto">
                        {c.match}
                      </Badge>
                    </li>
                  ))}
                </ul>
              </CardContent>
            </Card>
          ) : null}
          {r.data.certificates.length ? (
            <Card>
              <CardHeader>
                <CardTitle>Certificates</CardTitle>
              </CardHeader>
              <CardContent>
                <ul className="divide-y" data-testid="search-certificates">
                  {r.data.certificates.map((c) => (
                    <li key={c.id} className="flex flex-wrap items-center gap-3 py-2 text-sm">
                      <FileBadge className="size-4 text-muted-foreground" aria-hidden />
                      <Link
                        to="/certificates/$certId"
                        params={{ certId: c.id }}
                        className="font-medium hover:underline"
                      >
                        {c.commonName ?? c.subject}
                      </Link>
                      <StatusBadge status={c.status} />
                      <span className="text-xs text-muted-foreground">until {formatDate(c.notAfter)}</span>
                      <Badge variant="outline" className="ml-auto">
                        {c.match}
                      </Badge>
                    </li>
                  ))}
                </ul>
              </CardContent>
            </Card>
          ) : null}
        </>
      )}
    </div>
  );
}
