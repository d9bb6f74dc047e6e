import { Fragment, useState } from 'react';
import { keepPreviousData, useQuery } from '@tanstack/react-query';
import { Link, useNavigate, useSearch } from '@tanstack/react-router';
import { ChevronLeft, ChevronRight, Link2, ScrollText, ShieldAlert, ShieldCheck } from 'lucide-react';
import { trpc } from '../lib/trpc';
import { formatDateTime, shortHex } from '../lib/utils';
import { PageHeader } from '../components/page';
import { ActorPicker } from '../components/actor-picker';
import { Button } from '../components/ui/button';
import { Card, CardContent } from '../components/ui/card';
import { Input } from '../components/ui/input';
import { StatusBadge } from '../components/ui/badge';
import { Table, TBody, TD, TH, THead, TR } from '../components/ui/table';
import { Skeleton, TableSkeleton } from '../components/ui/skeleton';
import { EmptyState } from '../components/ui/empty-state';
import { Alert, ErrorAlert } from '../components/ui/alert';

const PAGE = 50;

function ChainStatus() {
  const v = useQuery(trpc.audit.verify.queryOptions(undefined, { staleTime: 0 }));
  if (v.error) return <ErrorAlert error={v.error} />;
  if (!v.data) return <Skeleton className="h-14" />;
  const d = v.data;
  return d.ok ? (
    <Alert level="success" title={`Hash chain verified: ${d.count} events, no broken link`}>
      <span className="inline-flex items-center gap-1" data-testid="audit-chain-ok">
        <ShieldCheck className="size-3" /> head {shortHex(d.lastHash, 24)}
      </span>
      <Button variant="link" size="sm" className="ml-2 h-auto p-0" onClick={() => void v.refetch()}>
        Verify again
      </Button>
    </Alert>
  ) : (
    <Alert level="critical" title={`Hash chain BROKEN at event #${d.brokenAtSeq} (${d.brokenEventId})`}>
      <span className="inline-flex items-center gap-1">
        <ShieldAlert className="size-3" /> {d.reason}
      </span>
    </Alert>
  );
}

/** the audit page's filters, in its address (router.tsx): what `audit.list` is asked */
export interface AuditSearch {
  action?: string;
  actor?: string;
  target?: string;
}

/** an audit target's page in the console, when it names a certificate or a CA */
function TargetCell({ target }: { target: string | null }) {
  if (target?.startsWith('crt_'))
    return (
      <Link to="/certificates/$certId" params={{ certId: target }} className="hover:underline">
        {target}
      </Link>
    );
  if (target?.startsWith('ca_'))
    return (
      <Link to="/cas/$caId" params={{ caId: target }} className="hover:underline">
        {target}
      </Link>
    );
  return <>{target ?? '—'}</>;
}

/** a detail's value in one line: a scalar as written, a list or an object as compact JSON */
const detailText = (v: unknown): string => (typeof v === 'string' ? v : JSON.stringify(v));

/**
 * An event's details, one `key value` line each (the empty ones left out), wrapping inside its cell: readable in
 * full at a laptop's width and on a phone, where they sit under the action (no column to scroll to)
 */
function AuditDetails({ details, className }: { details: Record<string, unknown>; className?: string }) {
  const shown = Object.entries(details).filter(
    ([, v]) => v !== null && v !== undefined && v !== '' && !(Array.isArray(v) && v.length === 0),
  );
  if (shown.length === 0) return null;
  return (
    <dl data-audit-details="" className={`grid grid-cols-[auto_1fr] gap-x-2 font-mono text-xs ${className ?? ''}`}>
      {shown.map(([k, v]) => (
        <div key={k} className="contents">
          <dt className="text-muted-foreground">{k}</dt>
          <dd className="min-w-0 break-all">{detailText(v)}</dd>
        </div>
      ))}
    </dl>
  );
}

export function AuditPage() {
  const applied = useSearch({ from: '/app/audit' });
  const navigate = useNavigate({ from: '/audit' });
  const [action, setAction] = useState(applied.action ?? '');
  const [actor, setActor] = useState(applied.actor ?? '');
  const [target, setTarget] = useState(applied.target ?? '');
  // the cursors of the pages seen so far (undefined: the newest page)
  const [pages, setPages] = useState<(string | undefined)[]>([undefined]);
  // a link to other filters (the address changed under the page): its fields show them, from the newest page
  const [shown, setShown] = useState(applied);
  if (shown.action !== applied.action || shown.actor !== applied.actor || shown.target !== applied.target) {
    setShown(applied);
    setAction(applied.action ?? '');
    setActor(applied.actor ?? '');
    setTarget(applied.target ?? '');
    setPages([undefined]);
  }
  const cursor = pages[pages.length - 1];
  const list = useQuery({
    ...trpc.audit.list.queryOptions({
      limit: PAGE,
      order: 'desc',
      cursor,
      action: applied.action,
      actor: applied.actor,
      target: applied.target,
    }),
    placeholderData: keepPreviousData,
  });
  const items = list.data?.items ?? [];
  const next = list.data?.nextCursor ?? null;
  return (
    <div className="space-y-4">
      <PageHeader title="Audit log" description="Every change, hash-chained: each event commits to the one before it" />
      <ChainStatus />
      <Card>
        <form
          className="flex flex-wrap items-center gap-2 border-b p-3"
          onSubmit={(e) => {
            e.preventDefault();
            const next = { action: action.trim() || undefined, actor: actor.trim() || undefined };
            void navigate({ search: { ...next, target: target.trim() || undefined } });
          }}
        >
          <Input
            aria-label="Action"
            placeholder="action, e.g. certificate.revoked"
            value={action}
            onChange={(e) => setAction(e.target.value)}
            className="w-full sm:w-64"
          />
          <ActorPicker value={actor} onChange={setActor} className="w-full sm:w-80" />
          <Input
            aria-label="Target"
            placeholder="target id"
            value={target}
            onChange={(e) => setTarget(e.target.value)}
            className="w-full sm:w-48"
          />
          <Button type="submit" variant="secondary">
            Filter
          </Button>
        </form>
        <CardContent className="p-0">
          {list.error ? (
            <ErrorAlert error={list.error} className="m-4" />
          ) : !list.data ? (
            <TableSkeleton />
          ) : items.length === 0 ? (
            <EmptyState icon={ScrollText} title="No audit events match" />
          ) : (
            <Table data-testid="audit-table">
              <THead>
                <TR>
                  <TH className="hidden sm:table-cell">#</TH>
                  <TH>Time</TH>
                  <TH>Action</TH>
                  <TH>Actor</TH>
                  <TH className="hidden md:table-cell">Target</TH>
                  <TH className="hidden lg:table-cell">Details</TH>
                  <TH className="hidden 2xl:table-cell">Hash</TH>
                </TR>
              </THead>
              <TBody>
                {items.map((e) => (
                  <TR key={e.seq} data-action={e.action} className="align-top">
                    <TD className="hidden align-top tabular-nums text-muted-foreground sm:table-cell">{e.seq}</TD>
                    <TD className="align-top font-mono text-xs sm:whitespace-nowrap">{formatDateTime(e.time)}</TD>
                    <TD className="align-top">
                      <code className="font-medium">
                        {/* a long action wraps at its dots, never inside a word */}
                        {e.action.split('.').map((part, i) => (
                          <Fragment key={i}>
                            {i > 0 ? (
                              <>
                                .<wbr />
                              </>
                            ) : null}
                            {part}
                          </Fragment>
                        ))}
                      </code>{' '}
                      {e.outcome === 'failure' ? <StatusBadge status="failure" /> : null}
                      <AuditDetails details={e.details} className="mt-1 text-muted-foreground lg:hidden" />
                    </TD>
                    <TD className="align-top text-xs" data-audit-actor={e.actor} title={e.actor}>
                      {e.actorName ?? e.actor}
                    </TD>
                    <TD className="hidden align-top font-mono text-xs break-all md:table-cell">
                      <TargetCell target={e.target} />
                    </TD>
                    <TD className="hidden min-w-80 align-top text-muted-foreground lg:table-cell">
                      <AuditDetails details={e.details} />
                    </TD>
                    <TD className="hidden align-top font-mono text-xs text-muted-foreground 2xl:table-cell">
                      <span className="inline-flex items-center gap-1" title={`prev ${e.prevHash}`}>
                        <Link2 className="size-3" aria-hidden /> {e.hash.slice(0, 12)}
                      </span>
                    </TD>
                  </TR>
                ))}
              </TBody>
            </Table>
          )}
        </CardContent>
        <div className="flex justify-end gap-2 border-t p-3">
          <Button variant="outline" size="sm" disabled={pages.length <= 1} onClick={() => setPages(pages.slice(0, -1))}>
            <ChevronLeft /> Newer
          </Button>
          <Button variant="outline" size="sm" disabled={!next} onClick={() => next && setPages([...pages, next])}>
            Older <ChevronRight />
          </Button>
        </div>
      </Card>
    </div>
  );
}
