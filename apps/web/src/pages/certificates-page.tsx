import { useEffect, useState } from 'react';
import { keepPreviousData, useQuery } from '@tanstack/react-query';
import { Link, useNavigate, useSearch } from '@tanstack/react-router';
import { ArrowDownUp, FileBadge, FileDown, Stamp } from 'lucide-react';
import type { CERTIFICATE_SORTS } from '@pkim/contract/vocabulary';
import { trpc } from '../lib/trpc';
import { useMe } from '../lib/auth';
import { formatDate, relativeDays, shortHex } from '../lib/utils';
import { PageHeader } from '../components/page';
import { Button } from '../components/ui/button';
import { Input, NativeSelect } from '../components/ui/input';
import { StatusBadge } from '../components/ui/badge';
import { DataTable, Pager, useCursorPages } from '../components/data-table';
import { LeafProfileOptions } from '../components/form-fields';
import { BatchBar, NO_SELECTION, type Selection } from './certificate-batch';

export interface CertificatesSearch {
  q?: string;
  status?: 'active' | 'revoked' | 'expired';
  caId?: string;
  profile?: string;
  /** the expiry window, a duration as the API's `expiringWithin` takes it: `30d`, `36h`, `1y` */
  expiring?: string;
  sort?: (typeof CERTIFICATE_SORTS)[number];
}

const PAGE = 50;

/** the expiry windows the menu offers (the API takes any duration: a link may carry another one, shown as it is) */
export const EXPIRY_WINDOWS = [
  ['1d', '1 day'],
  ['7d', '7 days'],
  ['14d', '14 days'],
  ['30d', '30 days'],
  ['60d', '60 days'],
  ['90d', '90 days'],
  ['180d', '180 days'],
  ['1y', '1 year'],
] as const;

/**
 * The `expiring` search parameter as a duration: `36h`, `30d`, `1y` as they are; a bare number (the links of the
 * first version, and the dashboard's before) is days. Anything else: no window.
 */
export function expiryWindowOf(v: unknown): string | undefined {
  const text = typeof v === 'number' ? String(v) : typeof v === 'string' ? v.trim() : '';
  if (/^[1-9]\d{0,4}$/.test(text)) return `${text}d`;
  return /^[1-9]\d{0,5}[smhdwy]$/i.test(text) ? text.toLowerCase() : undefined;
}

export function CertificatesPage() {
  const search = useSearch({ from: '/app/certificates' });
  const navigate = useNavigate({ from: '/certificates' });
  const { can } = useMe();
  const [q, setQ] = useState(search.q ?? '');
  // server-side keyset pagination; a filter change goes back to the first page
  const filterKey = JSON.stringify(search);
  const pages = useCursorPages(filterKey);
  // a selection belongs to one filter: changing the filter clears it
  const [selection, setSelection] = useState<Selection>(NO_SELECTION);
  useEffect(() => setSelection(NO_SELECTION), [filterKey]);
  useEffect(() => {
    const t = setTimeout(() => {
      if ((search.q ?? '') !== q.trim())
        void navigate({ search: (s) => ({ ...s, q: q.trim() || undefined }), replace: true });
    }, 300);
    return () => clearTimeout(t);
  }, [q]); // eslint-disable-line react-hooks/exhaustive-deps

  const cas = useQuery(trpc.ca.list.queryOptions());
  const profiles = useQuery(trpc.insights.profiles.queryOptions());
  const list = useQuery({
    ...trpc.certificate.list.queryOptions({
      limit: PAGE,
      cursor: pages.cursor,
      search: search.q,
      status: search.status,
      ca: search.caId,
      profile: search.profile,
      expiringWithin: search.expiring,
      sort: search.sort,
    }),
    placeholderData: keepPreviousData,
  });
  const caName = new Map((cas.data?.items ?? []).map((c) => [c.id, c.name]));
  const set = (patch: Partial<CertificatesSearch>) => void navigate({ search: (s) => ({ ...s, ...patch }) });
  const filtered = !!(search.q || search.status || search.caId || search.profile || search.expiring);
  const onPage = (list.data?.items ?? []).map((c) => c.id);
  const pageSelected = onPage.length > 0 && (selection.allMatching || onPage.every((id) => selection.ids.has(id)));
  const toggle = (id: string, on: boolean) =>
    setSelection((s) => {
      const ids = new Set(s.allMatching ? onPage : s.ids);
      if (on) ids.add(id);
      else ids.delete(id);
      return { ids, allMatching: false };
    });
  const togglePage = (on: boolean) =>
    setSelection((s) => {
      const ids = new Set(s.allMatching ? [] : s.ids);
      for (const id of onPage)
        if (on) ids.add(id);
        else ids.delete(id);
      return { ids, allMatching: false };
    });
  // the inventory report of the same filters, streamed by the REST route (the session cookie authenticates it)
  const exportUrl = (format: 'csv' | 'json') => {
    const q = new URLSearchParams({ format });
    const add = (k: string, v: string | number | undefined) => v !== undefined && v !== '' && q.set(k, String(v));
    add('search', search.q);
    add('status', search.status);
    add('ca', search.caId);
    add('profile', search.profile);
    add('expiringWithin', search.expiring);
    return `/api/v1/certificates/export?${q.toString()}`;
  };

  return (
    <div>
      <PageHeader
        title="Certificates"
        description="Every certificate issued by your CAs"
        actions={
          <>
            <Button variant="outline" asChild>
              <a href={exportUrl('csv')} download>
                <FileDown /> Export CSV
              </a>
            </Button>
            <Button variant="outline" asChild>
              <a href={exportUrl('json')} download>
                <FileDown /> Export JSON
              </a>
            </Button>
            {can('certificate:issue') ? (
              <Button asChild>
                <Link to="/issue" search={{}}>
                  <Stamp /> Issue certificate
                </Link>
              </Button>
            ) : null}
          </>
        }
      />
      <BatchBar selection={selection} search={search} can={can} onClear={() => setSelection(NO_SELECTION)} />
      {pageSelected && !selection.allMatching && filtered && list.data?.nextCursor ? (
        <p className="mb-3 text-sm" data-testid="select-all-matching">
          All {onPage.length} certificates on this page are selected.{' '}
          <Button
            variant="link"
            className="h-auto p-0"
            onClick={() => setSelection({ ids: new Set(), allMatching: true })}
          >
            Select all certificates matching the filter
          </Button>
        </p>
      ) : null}
      <DataTable
        testId="certificates-table"
        rows={list.data?.items}
        error={list.error}
        busy={list.isFetching}
        rowKey={(c) => c.id}
        empty={{
          icon: FileBadge,
          title: filtered ? 'No certificate matches' : 'No certificates yet',
          body: filtered ? 'Change the search or the filters.' : 'Issue one from a CSR or with a generated key.',
        }}
        toolbar={
          <>
            <Input
              value={q}
              onChange={(e) => setQ(e.target.value)}
              placeholder="Search CN, SAN or subject…"
              aria-label="Search certificates"
              className="w-full sm:w-72"
            />
            <NativeSelect
              aria-label="Filter by CA"
              className="w-auto"
              value={search.caId ?? ''}
              onChange={(e) => set({ caId: e.target.value || undefined })}
            >
              <option value="">All CAs</option>
              {(cas.data?.items ?? []).map((c) => (
                <option key={c.id} value={c.id}>
                  {c.name}
                </option>
              ))}
            </NativeSelect>
            <NativeSelect
              aria-label="Filter by status"
              className="w-auto"
              value={search.status ?? ''}
              onChange={(e) => set({ status: (e.target.value || undefined) as CertificatesSearch['status'] })}
            >
              <option value="">Any status</option>
              <option value="active">Active</option>
              <option value="revoked">Revoked</option>
              <option value="expired">Expired</option>
            </NativeSelect>
            <NativeSelect
              aria-label="Filter by profile"
              className="w-auto"
              value={search.profile ?? ''}
              onChange={(e) => set({ profile: e.target.value || undefined })}
            >
              <option value="">Any profile</option>
              <LeafProfileOptions profiles={profiles.data?.items} />
            </NativeSelect>
            <NativeSelect
              aria-label="Expiry window"
              className="w-auto"
              value={search.expiring ?? ''}
              onChange={(e) => set({ expiring: e.target.value || undefined })}
            >
              <option value="">Any expiry</option>
              {EXPIRY_WINDOWS.map(([value, label]) => (
                <option key={value} value={value}>
                  Expiring in {label}
                </option>
              ))}
              {search.expiring && !EXPIRY_WINDOWS.some(([value]) => value === search.expiring) ? (
                <option value={search.expiring}>Expiring in {search.expiring}</option>
              ) : null}
            </NativeSelect>
            <div className="ml-auto flex items-center gap-2">
              <ArrowDownUp className="size-4 text-muted-foreground" aria-hidden />
              <NativeSelect
                aria-label="Sort"
                className="w-auto"
                value={search.sort ?? 'issued_desc'}
                onChange={(e) =>
                  set({
                    sort: e.target.value === 'issued_desc' ? undefined : (e.target.value as CertificatesSearch['sort']),
                  })
                }
              >
                <option value="issued_desc">Newest first</option>
                <option value="expiry_asc">Expires soonest</option>
                <option value="expiry_desc">Expires latest</option>
                <option value="revoked_desc">Revoked latest</option>
              </NativeSelect>
            </div>
          </>
        }
        footer={<Pager pages={pages} nextCursor={list.data?.nextCursor} shown={list.data?.items.length} />}
        rowAttributes={(c) => ({ 'data-cert': c.id })}
        columns={[
          {
            header: (
              <input
                type="checkbox"
                aria-label="Select all on this page"
                checked={pageSelected}
                onChange={(e) => togglePage(e.target.checked)}
              />
            ),
            className: 'w-8',
            cell: (c) => (
              <input
                type="checkbox"
                aria-label={`Select ${c.commonName ?? c.subject}`}
                checked={selection.allMatching || selection.ids.has(c.id)}
                onChange={(e) => toggle(c.id, e.target.checked)}
              />
            ),
          },
          {
            header: 'Common name',
            className: 'max-w-80',
            cell: (c) => (
              <>
                <Link
                  to="/certificates/$certId"
                  params={{ certId: c.id }}
                  className="block truncate font-medium hover:underline"
                >
                  {c.commonName ?? c.subject}
                </Link>
                {c.sans.dns?.length ? (
                  <div className="truncate text-xs text-muted-foreground">{c.sans.dns.join(', ')}</div>
                ) : null}
              </>
            ),
          },
          { header: 'Status', cell: (c) => <StatusBadge status={c.status} /> },
          { header: 'CA', cell: (c) => caName.get(c.caId) ?? c.caId, from: 'md' },
          { header: 'Profile', cell: (c) => c.profile, from: 'lg' },
          { header: 'Serial', cell: (c) => shortHex(c.serial), from: 'xl', className: 'font-mono text-xs' },
          {
            header: 'Expires',
            className: 'whitespace-nowrap',
            cell: (c) => (
              <>
                {formatDate(c.notAfter)}
                <div className="text-xs text-muted-foreground">{relativeDays(c.notAfter)}</div>
              </>
            ),
          },
        ]}
      />
    </div>
  );
}
