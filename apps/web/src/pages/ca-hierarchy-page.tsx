import { keepPreviousData, useQuery, useSuspenseQuery } from '@tanstack/react-query';
import { Link, useNavigate, useSearch } from '@tanstack/react-router';
import { ChevronRight, Import, KeyRound, Network, Plus } from 'lucide-react';
import { trpc, type RouterOutputs } from '../lib/trpc';
import { useMe } from '../lib/auth';
import { formatDate } from '../lib/utils';
import { PageHeader } from '../components/page';
import { Button } from '../components/ui/button';
import { Card, CardContent } from '../components/ui/card';
import { StatusBadge } from '../components/ui/badge';
import { EmptyState } from '../components/ui/empty-state';
import { Field, NativeSelect } from '../components/ui/input';
import { Table, TBody, TD, TH, THead, TR } from '../components/ui/table';
import { ErrorAlert } from '../components/ui/alert';
import { CaExpiryBadge } from '../components/ca-expiry';
import { EXPIRY_WINDOWS } from './certificates-page';

type Ca = RouterOutputs['ca']['list']['items'][number];

function CaNode({ ca, children, depth }: { ca: Ca; children: Map<string | null, Ca[]>; depth: number }) {
  const kids = children.get(ca.id) ?? [];
  return (
    <li role="treeitem" aria-expanded={kids.length ? true : undefined} aria-level={depth + 1} data-ca={ca.name}>
      <div className="flex flex-wrap items-center gap-x-3 gap-y-1 rounded-lg border bg-card px-4 py-3 shadow-sm">
        <Network className="size-4 text-primary" aria-hidden />
        <Link to="/cas/$caId" params={{ caId: ca.id }} className="font-medium hover:underline">
          {ca.name}
        </Link>
        <StatusBadge status={ca.status} />
        <span className="min-w-0 truncate text-sm text-muted-foreground">{ca.subject}</span>
        <span className="ml-auto flex items-center gap-3 text-xs text-muted-foreground">
          <span className="inline-flex items-center gap-1">
            <KeyRound className="size-3" aria-hidden /> {ca.keyType} · {ca.keyBackend}
          </span>
          <span>until {formatDate(ca.notAfter)}</span>
          <CaExpiryBadge ca={ca} />
          {ca.pathLen !== null ? <span>pathLen {ca.pathLen}</span> : null}
        </span>
      </div>
      {kids.length ? (
        <ul role="group" className="ml-5 mt-2 space-y-2 border-l pl-5">
          {kids.map((k) => (
            <CaNode key={k.id} ca={k} children={children} depth={depth + 1} />
          ))}
        </ul>
      ) : null}
    </li>
  );
}

/**
 * The CA list's search parameters (`/cas?view=expiry&expiring=30d`): the "By expiry" view and its window, a duration
 * as the API's `ca.list({ expiringWithin })` takes it (the router imports this type only: the page loads lazily).
 */
export interface CasSearch {
  view?: 'expiry';
  expiring?: string;
}

/**
 * Every CA as a flat list, soonest end first (pending CAs, without a certificate, last); with a window, the CAs the
 * API lists as ending within it (`ca.list({ expiringWithin })`, as `pkim ca list --expiring-within`): those already
 * past their end included, pending and revoked ones left out, soonest first.
 */
function CaExpiryTable({ cas, within, onWithin }: { cas: Ca[]; within?: string; onWithin: (w?: string) => void }) {
  const expiring = useQuery({
    ...trpc.ca.list.queryOptions({ expiringWithin: within }),
    enabled: within !== undefined,
    placeholderData: keepPreviousData,
  });
  const label = (w: string) => EXPIRY_WINDOWS.find(([value]) => value === w)?.[1] ?? w;
  const shown = within
    ? (expiring.data?.items ?? [])
    : [...cas].sort((a, b) => {
        const x = a.notAfter ? Date.parse(a.notAfter) : Infinity;
        const y = b.notAfter ? Date.parse(b.notAfter) : Infinity;
        return x - y || a.name.localeCompare(b.name);
      });
  return (
    <div className="space-y-3">
      <div className="max-w-xs">
        <Field
          label="Expiring within"
          htmlFor="ca-expiring-within"
          hint={within ? 'Expired CAs included; pending and revoked ones left out' : 'Every CA, its status shown'}
        >
          <NativeSelect
            id="ca-expiring-within"
            value={within ?? ''}
            onChange={(e) => onWithin(e.target.value || undefined)}
          >
            <option value="">any time</option>
            {EXPIRY_WINDOWS.map(([value, text]) => (
              <option key={value} value={value}>
                {text}
              </option>
            ))}
            {within && !EXPIRY_WINDOWS.some(([value]) => value === within) ? (
              <option value={within}>{within}</option>
            ) : null}
          </NativeSelect>
        </Field>
      </div>
      <ErrorAlert error={expiring.error} />
      <Card>
        <CardContent className="p-0">
          {within && !expiring.data ? (
            <p className="p-6 text-sm text-muted-foreground">Loading…</p>
          ) : shown.length === 0 ? (
            <EmptyState icon={Network} title={`No CA ends within ${label(within ?? '')}`} />
          ) : (
            <Table aria-label="CAs by expiry">
              <THead>
                <TR>
                  <TH>CA</TH>
                  <TH>Status</TH>
                  <TH>Valid until</TH>
                  <TH>Left</TH>
                  <TH>Key</TH>
                </TR>
              </THead>
              <TBody>
                {shown.map((ca) => (
                  <TR key={ca.id} data-ca-row={ca.name}>
                    <TD>
                      <Link to="/cas/$caId" params={{ caId: ca.id }} className="font-medium hover:underline">
                        {ca.name}
                      </Link>
                    </TD>
                    <TD>
                      <StatusBadge status={ca.status} />
                    </TD>
                    <TD className="tabular-nums">{formatDate(ca.notAfter)}</TD>
                    <TD>
                      <CaExpiryBadge ca={ca} />
                    </TD>
                    <TD className="text-muted-foreground">
                      {ca.keyType} · {ca.keyBackend}
                    </TD>
                  </TR>
                ))}
              </TBody>
            </Table>
          )}
        </CardContent>
      </Card>
    </div>
  );
}

export function CaHierarchyPage() {
  const { can } = useMe();
  const search = useSearch({ from: '/app/cas' });
  const navigate = useNavigate({ from: '/cas' });
  const view = search.view ?? 'tree';
  const setView = (v: 'tree' | 'expiry') =>
    void navigate({ search: v === 'expiry' ? { view: 'expiry', expiring: search.expiring } : {} });
  const {
    data: { items: cas },
  } = useSuspenseQuery(trpc.ca.list.queryOptions());
  const ids = new Set(cas.map((c) => c.id));
  const children = new Map<string | null, Ca[]>();
  for (const ca of cas) {
    // a CA whose parent is not managed here (external root) is shown as a top-level node
    const key = ca.parentId && ids.has(ca.parentId) ? ca.parentId : null;
    children.set(key, [...(children.get(key) ?? []), ca]);
  }
  const roots = children.get(null) ?? [];
  return (
    <div>
      <PageHeader
        title="Certificate authorities"
        description="The hierarchy: roots and the intermediates they signed"
        actions={
          can('ca:write') ? (
            <>
              <Button variant="outline" asChild>
                <Link to="/cas/import">
                  <Import /> Import existing CA
                </Link>
              </Button>
              <Button asChild>
                <Link to="/cas/new" search={{}}>
                  <Plus /> Create CA
                </Link>
              </Button>
            </>
          ) : null
        }
      />
      {roots.length === 0 ? (
        <Card>
          <CardContent className="p-0">
            <EmptyState
              icon={Network}
              title="No certificate authority yet"
              action={
                can('ca:write') ? (
                  <div className="flex flex-wrap justify-center gap-2">
                    <Button asChild>
                      <Link to="/cas/new" search={{}}>
                        Create a root CA <ChevronRight />
                      </Link>
                    </Button>
                    <Button variant="outline" asChild>
                      <Link to="/cas/import">Import an existing CA</Link>
                    </Button>
                  </div>
                ) : null
              }
            >
              A root CA anchors trust; intermediates signed by it issue the certificates. A CA you already run (openssl,
              Vault, step-ca) can be imported with its private key.
            </EmptyState>
          </CardContent>
        </Card>
      ) : (
        <div className="space-y-4">
          <div role="group" aria-label="View" className="flex gap-2">
            <Button
              variant={view === 'tree' ? 'default' : 'outline'}
              size="sm"
              aria-pressed={view === 'tree'}
              onClick={() => setView('tree')}
            >
              Hierarchy
            </Button>
            <Button
              variant={view === 'expiry' ? 'default' : 'outline'}
              size="sm"
              aria-pressed={view === 'expiry'}
              onClick={() => setView('expiry')}
            >
              By expiry
            </Button>
          </div>
          {view === 'expiry' ? (
            <CaExpiryTable
              cas={cas}
              within={search.expiring}
              onWithin={(expiring) => void navigate({ search: { view: 'expiry', expiring } })}
            />
          ) : (
            <ul role="tree" aria-label="CA hierarchy" className="space-y-2">
              {roots.map((r) => (
                <CaNode key={r.id} ca={r} children={children} depth={0} />
              ))}
            </ul>
          )}
        </div>
      )}
    </div>
  );
}
