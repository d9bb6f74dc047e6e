import { useSuspenseQuery } from '@tanstack/react-query';
import { Link } from '@tanstack/react-router';
import { ChevronRight, Import, KeyRound, Network, Plus } from 'lucide-react';
import { trpc, type RouterOutputs } from '../lib/trpc';
import { useMe } from '../lib/auth';
import { formatDate } from '../lib/utils';
import { PageHeader } from '../components/page';
import { Button } from '../components/ui/button';
import { Card, CardContent } from '../components/ui/card';
import { StatusBadge } from '../components/ui/badge';
import { EmptyState } from '../components/ui/empty-state';

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

export function CaHierarchyPage() {
  const { can } = useMe();
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
        <ul role="tree" aria-label="CA hierarchy" className="space-y-2">
          {roots.map((r) => (
            <CaNode key={r.id} ca={r} children={children} depth={0} />
          ))}
        </ul>
      )}
    </div>
  );
}
