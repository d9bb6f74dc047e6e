import { useState } from 'react';
import { keepPreviousData, useQuery } from '@tanstack/react-query';
import { Link } from '@tanstack/react-router';
import { Globe } from 'lucide-react';
import { trpc } from '../lib/trpc';
import { formatDate, relativeDays } from '../lib/utils';
import { PageHeader } from '../components/page';
import { Input } from '../components/ui/input';
import { DataTable, Pager, useCursorPages } from '../components/data-table';
import { useDebounced } from '../lib/hooks';
import { Badge } from '../components/ui/badge';

const PAGE = 50;

export function DomainsPage() {
  const [q, setQ] = useState('');
  const search = useDebounced(q.trim());
  const pages = useCursorPages(search);
  const list = useQuery({
    ...trpc.insights.domains.queryOptions({
      search: search || undefined,
      limit: PAGE,
      cursor: pages.cursor,
    }),
    placeholderData: keepPreviousData,
  });
  const now = Date.now();
  return (
    <div>
      <PageHeader title="Domains" description="Which DNS names your active certificates cover, and until when" />
      <DataTable
        testId="domains-table"
        rows={list.data?.items}
        error={list.error}
        busy={list.isFetching}
        rowKey={(n) => n.name}
        empty={{ icon: Globe, title: search ? 'No name matches' : 'No DNS names covered yet' }}
        toolbar={
          <Input
            value={q}
            onChange={(e) => setQ(e.target.value)}
            placeholder="Filter names, e.g. example.com"
            aria-label="Filter domains"
            className="w-full sm:w-80"
          />
        }
        footer={<Pager pages={pages} nextCursor={list.data?.nextCursor} />}
        columns={[
          {
            header: 'Name',
            className: 'font-medium',
            cell: (n) => (
              <Link to="/certificates" search={{ q: n.name, status: 'active' }} className="hover:underline">
                {n.name}
              </Link>
            ),
          },
          { header: 'Certificates', cell: (n) => n.certificates, className: 'tabular-nums' },
          {
            header: 'Covered until',
            className: 'whitespace-nowrap',
            cell: (n) => (
              <>
                {formatDate(n.lastNotAfter)}{' '}
                {Date.parse(n.lastNotAfter) - now < 30 * 86_400_000 ? (
                  <Badge variant="warning">{relativeDays(n.lastNotAfter)}</Badge>
                ) : null}
              </>
            ),
          },
          { header: 'Earliest expiry', cell: (n) => formatDate(n.firstNotAfter), from: 'md' },
        ]}
      />
    </div>
  );
}
