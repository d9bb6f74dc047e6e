import { useQuery, useSuspenseQuery } from '@tanstack/react-query';
import { Link } from '@tanstack/react-router';
import { AlertTriangle, CheckCircle2, Clock, FileBadge, FileClock, Network, ShieldOff, XCircle } from 'lucide-react';
import { trpc, type RouterOutputs } from '../lib/trpc';
import { useMe } from '../lib/auth';
import { formatDate, formatDateTime, relativeDays } from '../lib/utils';
import { PageHeader } from '../components/page';
import { Card, CardContent, CardDescription, CardHeader, CardTitle } from '../components/ui/card';
import { Alert } from '../components/ui/alert';
import { StatusBadge } from '../components/ui/badge';
import { Skeleton } from '../components/ui/skeleton';
import { ExpiryChart } from '../components/expiry-chart';
import { EmptyState } from '../components/ui/empty-state';
import { CA_EXPIRY_WARN_DAYS, CaExpiryBadge } from '../components/ca-expiry';

function Stat({
  label,
  value,
  icon: Icon,
  to,
  search,
  tone,
}: {
  label: string;
  value: number;
  icon: typeof FileBadge;
  to: string;
  search?: Record<string, unknown>;
  tone?: string;
}) {
  return (
    <Link
      to={to}
      search={search as never}
      className="block rounded-xl focus-visible:outline-2 focus-visible:outline-ring"
    >
      <Card className="transition-colors hover:border-primary/40">
        <CardContent className="flex items-center justify-between p-4">
          <div>
            <div className="text-xs font-medium text-muted-foreground">{label}</div>
            <div className="mt-1 text-2xl font-semibold tabular-nums" data-stat={label}>
              {value.toLocaleString('en-US')}
            </div>
          </div>
          <Icon className={`size-6 ${tone ?? 'text-muted-foreground'}`} aria-hidden />
        </CardContent>
      </Card>
    </Link>
  );
}

type Warning = RouterOutputs['insights']['dashboard']['warnings'][number];
const LEVEL_RANK: Record<Warning['level'], number> = { critical: 0, warning: 1, info: 2 };
/** how many revocations the dashboard lists */
const RECENT_REVOCATIONS = 5;

/** the page a dashboard warning names: where the user acts on it (null: none) */
function warningLink(
  w: Warning,
): { to: string; params?: Record<string, string>; search?: Record<string, string> } | null {
  switch (w.code) {
    case 'ca.expiring':
    case 'ca.expired':
      return w.target ? { to: '/cas/$caId', params: { caId: w.target } } : null;
    case 'certificate.expiring':
      return { to: '/certificates', search: { expiring: '7d', sort: 'expiry_asc' } };
    case 'request.pending':
      return { to: '/requests' };
    case 'kms.unavailable':
    case 'store.unavailable':
      return { to: '/key-backends' };
    case 'ca.none':
      return { to: '/cas/new' };
    default:
      return null;
  }
}

/**
 * The API's `ca.no_urls` warnings (one an active CA whose certificates carry neither a CRL nor an OCSP URL) as one
 * alert naming each CA, a link to its page (where its URLs are set): a fleet of such CAs is one line, not one each
 */
function NoUrlsWarning({ warnings, names }: { warnings: readonly Warning[]; names: ReadonlyMap<string, string> }) {
  const cas = warnings.flatMap((w) => (w.target ? [w.target] : []));
  return (
    <div data-warning="ca.no_urls">
      <Alert
        level="warning"
        title={
          <>
            Certificates of {cas.length === 1 ? 'CA' : `${cas.length} CAs`}{' '}
            {cas.map((id, i) => (
              <span key={id}>
                {i > 0 ? ', ' : ''}
                <Link to="/cas/$caId" params={{ caId: id }} className="underline">
                  {names.get(id) ?? id}
                </Link>
              </span>
            ))}{' '}
            carry no CRL or OCSP URL: a revocation there reaches no relying party
          </>
        }
      >
        <div>
          Set each CA&apos;s URLs on its page (Settings → Set URLs) or with <code>pkim ca set-urls</code>.
        </div>
        <code>ca.no_urls</code>
      </Alert>
    </div>
  );
}

/**
 * The last revocations, newest first: the audit log's `certificate.revoked` events (audit.list by action — each
 * names the certificate, its serial, the reason and who revoked it), each a link to the certificate
 */
function RecentRevocations() {
  const revoked = useQuery(
    trpc.audit.list.queryOptions({ action: 'certificate.revoked', order: 'desc', limit: RECENT_REVOCATIONS }),
  );
  const items = revoked.data?.items ?? [];
  return (
    <Card>
      <CardHeader>
        <CardTitle>Recently revoked</CardTitle>
        <CardDescription>
          <Link to="/audit" search={{ action: 'certificate.revoked' }} className="hover:underline">
            Every revocation in the audit log →
          </Link>
        </CardDescription>
      </CardHeader>
      <CardContent>
        {!revoked.data ? (
          <Skeleton className="h-24 w-full" />
        ) : items.length === 0 ? (
          <EmptyState icon={ShieldOff} title="Nothing revoked yet" />
        ) : (
          <ul className="divide-y text-sm" aria-label="Recently revoked">
            {items.map((e) => (
              <li key={e.id} data-revoked={e.target} className="flex flex-wrap items-center gap-x-3 gap-y-1 py-2">
                {e.target ? (
                  <Link
                    to="/certificates/$certId"
                    params={{ certId: e.target }}
                    className="min-w-0 truncate font-mono text-xs hover:underline"
                  >
                    {typeof e.details.serial === 'string' ? e.details.serial : e.target}
                  </Link>
                ) : null}
                <span>{typeof e.details.reason === 'string' ? e.details.reason : 'unspecified'}</span>
                <span className="text-muted-foreground" title={e.actor}>
                  {e.actorName ?? e.actor}
                </span>
                <span className="ml-auto shrink-0 text-xs text-muted-foreground">{formatDateTime(e.time)}</span>
              </li>
            ))}
          </ul>
        )}
      </CardContent>
    </Card>
  );
}

function DashboardWarning({ w }: { w: Warning }) {
  const link = warningLink(w);
  return (
    <div data-warning={w.code}>
      <Alert
        level={w.level}
        title={
          link ? (
            <Link to={link.to} params={link.params as never} search={link.search as never} className="hover:underline">
              {w.message}
            </Link>
          ) : (
            w.message
          )
        }
      >
        <code>{w.code}</code>
      </Alert>
    </div>
  );
}

export function DashboardPage() {
  const { can } = useMe();
  const { data: d } = useSuspenseQuery(trpc.insights.dashboard.queryOptions());
  const cas = useQuery({ ...trpc.ca.list.queryOptions(), enabled: can('ca:read') });
  // each CA that has a certificate and was not revoked, the soonest end first
  const byExpiry = (cas.data?.items ?? [])
    .filter((c) => c.notAfter !== null && c.status !== 'revoked')
    .sort((a, b) => Date.parse(a.notAfter!) - Date.parse(b.notAfter!));
  const warnings = [...d.warnings].sort((a, b) => LEVEL_RANK[a.level] - LEVEL_RANK[b.level]);
  const critical = warnings.filter((w) => w.level === 'critical');
  const rest = warnings.filter((w) => w.level !== 'critical');
  // the CAs without revocation URLs: one alert where the first of them stands
  const noUrls = rest.filter((w) => w.code === 'ca.no_urls');
  const caNames = new Map((cas.data?.items ?? []).map((c) => [c.id, c.name]));
  const timeline = useQuery({
    ...trpc.insights.expiryTimeline.queryOptions({ days: 90 }),
    enabled: can('certificate:read'),
  });
  return (
    <div className="space-y-6">
      <PageHeader title="Dashboard" description={`As of ${formatDateTime(d.generatedAt)}`} />
      {/* what needs attention, the critical first; each warning links to what it names */}
      <section aria-label="Warnings" className="grid gap-2 empty:hidden">
        {critical.map((w) => (
          <DashboardWarning key={w.code + (w.target ?? '')} w={w} />
        ))}
        {rest.map((w) =>
          w.code !== 'ca.no_urls' ? (
            <DashboardWarning key={w.code + (w.target ?? '')} w={w} />
          ) : w === noUrls[0] ? (
            <NoUrlsWarning key={w.code} warnings={noUrls} names={caNames} />
          ) : null,
        )}
      </section>
      <section aria-label="Counts" className="grid grid-cols-2 gap-4 md:grid-cols-3 xl:grid-cols-6">
        <Stat label="Certificate authorities" value={d.cas.total} icon={Network} to="/cas" />
        <Stat
          label="Active certificates"
          value={d.certificates.active}
          icon={CheckCircle2}
          to="/certificates"
          search={{ status: 'active' }}
          tone="text-success"
        />
        <Stat
          label="Expiring in 30 days"
          value={d.expiring.within30d}
          icon={Clock}
          to="/certificates"
          search={{ expiring: '30d', sort: 'expiry_asc' }}
          tone="text-warning"
        />
        <Stat
          label="Revoked"
          value={d.certificates.revoked}
          icon={ShieldOff}
          to="/certificates"
          search={{ status: 'revoked' }}
          tone="text-destructive"
        />
        <Stat
          label="Expired"
          value={d.certificates.expired}
          icon={XCircle}
          to="/certificates"
          search={{ status: 'expired' }}
        />
        <Stat label="Pending requests" value={d.pendingRequests} icon={FileClock} to="/requests" />
      </section>

      {can('certificate:read') ? (
        <Card>
          <CardHeader>
            <CardTitle>Expiry timeline</CardTitle>
            <CardDescription>
              Active certificates expiring per day over the next 90 days ({d.expiring.within7d} within 7 days,{' '}
              {d.expiring.within90d} within 90)
            </CardDescription>
          </CardHeader>
          <CardContent>
            {timeline.data ? (
              <ExpiryChart buckets={timeline.data.buckets} bucket={timeline.data.bucket} />
            ) : (
              <Skeleton className="h-48 w-full" />
            )}
          </CardContent>
        </Card>
      ) : null}

      <div className="grid gap-6 lg:grid-cols-2">
        {can('certificate:read') ? (
          <Card>
            <CardHeader>
              <CardTitle>Expiring soon</CardTitle>
              <CardDescription>The next 30 days</CardDescription>
            </CardHeader>
            <CardContent>
              {d.expiringSoon.length === 0 ? (
                <EmptyState icon={CheckCircle2} title="Nothing expires in the next 30 days" />
              ) : (
                <ul className="divide-y">
                  {d.expiringSoon.map((c) => (
                    <li key={c.id} className="flex items-center justify-between gap-3 py-2 text-sm">
                      <Link
                        to="/certificates/$certId"
                        params={{ certId: c.id }}
                        className="min-w-0 truncate font-medium hover:underline"
                      >
                        {c.commonName ?? c.subject}
                      </Link>
                      <span className="shrink-0 text-muted-foreground">{relativeDays(c.notAfter)}</span>
                    </li>
                  ))}
                </ul>
              )}
            </CardContent>
          </Card>
        ) : null}
        {can('ca:read') ? (
          <Card>
            <CardHeader>
              <CardTitle>CA certificates by expiry</CardTitle>
              <CardDescription>
                Soonest first; flagged under {CA_EXPIRY_WARN_DAYS} days left.{' '}
                <Link to="/cas" search={{ view: 'expiry' }} className="hover:underline">
                  All CAs →
                </Link>
              </CardDescription>
            </CardHeader>
            <CardContent>
              {cas.data && byExpiry.length === 0 ? (
                <EmptyState icon={Network} title="No CA certificate yet" />
              ) : (
                <ul className="divide-y" aria-label="CA certificates by expiry">
                  {byExpiry.slice(0, 8).map((c) => (
                    <li key={c.id} data-ca-expiry-row={c.name} className="flex items-center justify-between gap-3 py-2">
                      <Link
                        to="/cas/$caId"
                        params={{ caId: c.id }}
                        className="min-w-0 truncate text-sm font-medium hover:underline"
                      >
                        {c.name}
                      </Link>
                      <span className="flex shrink-0 items-center gap-2 text-sm text-muted-foreground">
                        {formatDate(c.notAfter)} <CaExpiryBadge ca={c} />
                      </span>
                    </li>
                  ))}
                </ul>
              )}
            </CardContent>
          </Card>
        ) : null}
        <Card>
          <CardHeader>
            <CardTitle>Key backends</CardTitle>
            <CardDescription>Health of the database and every key backend</CardDescription>
          </CardHeader>
          <CardContent>
            <ul className="divide-y text-sm">
              <li className="flex items-center justify-between py-2">
                <span>Database</span>
                <StatusBadge status={d.health.database ? 'healthy' : 'unavailable'} />
              </li>
              {d.health.keyBackends.map((k) => (
                <li key={k.backend} className="flex items-center justify-between gap-3 py-2">
                  <span>
                    {k.backend}
                    {k.detail ? <span className="ml-2 text-xs text-muted-foreground">{k.detail}</span> : null}
                  </span>
                  <StatusBadge status={k.ok ? 'healthy' : 'unavailable'} />
                </li>
              ))}
            </ul>
          </CardContent>
        </Card>
        {can('audit:read') ? <RecentRevocations /> : null}
        {can('audit:read') ? (
          <Card className="lg:col-span-2">
            <CardHeader>
              <CardTitle>Recent activity</CardTitle>
              <CardDescription>
                <Link to="/audit" className="hover:underline">
                  The last audit events →
                </Link>
              </CardDescription>
            </CardHeader>
            <CardContent>
              {d.recentAudit.length === 0 ? (
                <EmptyState icon={AlertTriangle} title="No audit events yet" />
              ) : (
                <ul className="divide-y text-sm">
                  {d.recentAudit.map((e) => (
                    <li key={e.id} className="flex flex-wrap items-center gap-x-3 gap-y-1 py-2">
                      <span className="w-44 shrink-0 font-mono text-xs text-muted-foreground">
                        {formatDateTime(e.time)}
                      </span>
                      <code className="font-medium">{e.action}</code>
                      <span className="text-muted-foreground" data-audit-actor={e.actor} title={e.actor}>
                        {e.actorName ?? e.actor}
                      </span>
                      {e.outcome === 'failure' ? <StatusBadge status="failure" /> : null}
                    </li>
                  ))}
                </ul>
              )}
            </CardContent>
          </Card>
        ) : null}
      </div>
    </div>
  );
}
