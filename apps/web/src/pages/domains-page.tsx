import { useEffect, useState } from 'react';
import { keepPreviousData, useQuery } from '@tanstack/react-query';
import { Link } from '@tanstack/react-router';
import { ChevronLeft, ChevronRight, Globe } from 'lucide-react';
import { trpc } from '../lib/trpc';
import { formatDate, relativeDays } from '../lib/utils';
import { PageHeader } from '../components/page';
import { Button } from '../components/ui/button';
import { Card, CardContent } from '../components/ui/card';
import { Input } from '../components/ui/input';
import { Table, TBody, TD, TH, THead, TR } from '../components/ui/table';
import { TableSkeleton } from '../components/ui/skeleton';
import { EmptyState } from '../components/ui/empty-state';
import { ErrorAlert } from '../components/ui/alert';
import { Badge } from '../components/ui/badge';

const PAGE = 50;

export function DomainsPage() {
  const [q, setQ] = useState('');
  const [search, setSearch] = useState('');
  const [cursors, setCursors] = useState<(string | null)[]>([null]);
  useEffect(() => {
    const t = setTimeout(() => {
      setSearch(q.trim());
      setCursors([null]);
    }, 300);
    return () => clearTimeout(t);
  }, [q]);
  const list = useQuery({
    ...trpc.insights.domains.queryOptions({
      search: search || undefined,
      limit: PAGE,
      cursor: cursors[cursors.length - 1],
    }),
    placeholderData: keepPreviousData,
  });
  const now = Date.now();
  return (
    <div>
      <PageHeader title="Domains" description="Which DNS names your active certificates cover, and until when" />
      <Card>
        <div className="border-b p-3">
          <Input
            value={q}
            onChange={(e) => setQ(e.target.value)}
            placeholder="Filter names, e.g. example.com"
            aria-label="Filter domains"
            className="w-full sm:w-80"
          />
        </div>
        <CardContent className="p-0">
          {list.error ? (
            <ErrorAlert error={list.error} className="m-4" />
          ) : !list.data ? (
            <TableSkeleton />
          ) : list.data.items.length === 0 ? (
            <EmptyState icon={Globe} title={search ? 'No name matches' : 'No DNS names covered yet'} />
          ) : (
            <Table data-testid="domains-table">
              <THead>
                <TR>
                  <TH>Name</TH>
                  <TH>Certificates</TH>
                  <TH>Covered until</TH>
                  <TH className="hidden md:table-cell">Earliest expiry</TH>
                </TR>
              </THead>
              <TBody>
                {list.data.items.map((n) => (
                  <TR key={n.name}>
                    <TD className="font-medium">
                      <Link to="/certificates" search={{ q: n.name, status: 'active' }} className="hover:underline">
                        {n.name}
                      </Link>
                    </TD>
                    <TD className="tabular-nums">{n.certificates}</TD>
                    <TD className="whitespace-nowrap">
                      {formatDate(n.lastNotAfter)}{' '}
                      {n.lastNotAfter - now < 30 * 86_400_000 ? (
                        <Badge variant="warning">{relativeDays(n.lastNotAfter)}</Badge>
                      ) : null}
                    </TD>
                    <TD className="hidden md:table-cell">{formatDate(n.firstNotAfter)}</TD>
                  </TR>
                ))}
              </TBody>
            </Table>
          )}
        </CardContent>
        <div className="flex justify-end gap-2 border-t p-3">
          <Button
            variant="outline"
            size="sm"
            disabled={cursors.length <= 1}
            onClick={() => setCursors(cursors.slice(0, -1))}
          >
            <ChevronLeft /> Previous
          </Button>
          <Button
            variant="outline"
            size="sm"
            disabled={!list.data?.nextCursor}
            onClick={() => list.data?.nextCursor && setCursors([...cursors, list.data.nextCursor])}
          >
            Next <ChevronRight />
          </Button>
        </div>
      </Card>
    </div>
  );
}
