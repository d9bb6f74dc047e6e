import {
  createRootRouteWithContext,
  createRoute,
  createRouter,
  lazyRouteComponent,
  Outlet,
  redirect,
  type ErrorComponentProps,
} from '@tanstack/react-router';
import type { QueryClient } from '@tanstack/react-query';
import { queryClient, trpc, isUnauthenticated } from './lib/trpc';
import { getCsrfToken, loadCsrfToken } from './lib/session';
import { AppShell } from './components/app-shell';
import { ErrorAlert } from './components/ui/alert';
import { LoginPage } from './pages/login-page';
import { DashboardPage } from './pages/dashboard-page';
import { CertificatesPage, expiryWindowOf, type CertificatesSearch } from './pages/certificates-page';
import type { AuditSearch } from './pages/audit-page';
import { PageSkeleton } from './components/page';
import type { CasSearch } from './pages/ca-hierarchy-page';
import { isSshTab, type SshTab } from './pages/ssh/ssh-tabs';

const str = (v: unknown): string | undefined => (typeof v === 'string' && v.length > 0 ? v : undefined);

const rootRoute = createRootRouteWithContext<{ queryClient: QueryClient }>()({
  component: Outlet,
});

export const loginRoute = createRoute({
  getParentRoute: () => rootRoute,
  path: '/login',
  validateSearch: (s: Record<string, unknown>): { redirect?: string; error?: string } => ({
    redirect: str(s.redirect),
    error: str(s.error),
  }),
  component: LoginPage,
});

function RouteError({ error }: ErrorComponentProps) {
  return <ErrorAlert error={error} className="m-6" />;
}

/** Everything behind sign-in: `user.me` must answer, else to /login. */
const appRoute = createRoute({
  getParentRoute: () => rootRoute,
  id: 'app',
  beforeLoad: async ({ context, location }) => {
    try {
      await context.queryClient.query({ ...trpc.user.me.queryOptions(), staleTime: 'static' });
      // a session opened by the OIDC callback has no CSRF token in this browser yet: fetch it once
      if (!getCsrfToken()) await loadCsrfToken();
    } catch (e) {
      // eslint-disable-next-line @typescript-eslint/only-throw-error -- TanStack Router's redirect is thrown
      if (isUnauthenticated(e)) throw redirect({ to: '/login', search: { redirect: location.href } });
      throw e;
    }
  },
  component: AppShell,
  errorComponent: RouteError,
  pendingComponent: PageSkeleton,
});

const dashboardRoute = createRoute({ getParentRoute: () => appRoute, path: '/', component: DashboardPage });
const casRoute = createRoute({
  getParentRoute: () => appRoute,
  path: '/cas',
  validateSearch: (s: Record<string, unknown>): CasSearch => ({
    view: s.view === 'expiry' ? 'expiry' : undefined,
    expiring: s.view === 'expiry' ? expiryWindowOf(s.expiring) : undefined,
  }),
  component: lazyRouteComponent(() => import('./pages/ca-hierarchy-page'), 'CaHierarchyPage'),
});
export const createCaRoute = createRoute({
  getParentRoute: () => appRoute,
  path: '/cas/new',
  validateSearch: (s: Record<string, unknown>): { parentId?: string; kind?: 'external' } => ({
    parentId: str(s.parentId),
    kind: s.kind === 'external' ? 'external' : undefined,
  }),
  component: lazyRouteComponent(() => import('./pages/create-ca-page'), 'CreateCaPage'),
});
export const importCaRoute = createRoute({
  getParentRoute: () => appRoute,
  path: '/cas/import',
  component: lazyRouteComponent(() => import('./pages/import-ca-page'), 'ImportCaPage'),
});
export const caDetailRoute = createRoute({
  getParentRoute: () => appRoute,
  path: '/cas/$caId',
  component: lazyRouteComponent(() => import('./pages/ca-detail-page'), 'CaDetailPage'),
});
export const certificatesRoute = createRoute({
  getParentRoute: () => appRoute,
  path: '/certificates',
  validateSearch: (s: Record<string, unknown>): CertificatesSearch => ({
    q: str(s.q),
    status: str(s.status) as CertificatesSearch['status'],
    caId: str(s.caId),
    profile: str(s.profile),
    expiring: expiryWindowOf(s.expiring),
    sort: str(s.sort) as CertificatesSearch['sort'],
  }),
  component: CertificatesPage,
});
export const certificateDetailRoute = createRoute({
  getParentRoute: () => appRoute,
  path: '/certificates/$certId',
  component: lazyRouteComponent(() => import('./pages/certificate-detail-page'), 'CertificateDetailPage'),
});
export const issueRoute = createRoute({
  getParentRoute: () => appRoute,
  path: '/issue',
  validateSearch: (s: Record<string, unknown>): { caId?: string } => ({ caId: str(s.caId) }),
  component: lazyRouteComponent(() => import('./pages/issue-page'), 'IssuePage'),
});
const requestsRoute = createRoute({
  getParentRoute: () => appRoute,
  path: '/requests',
  component: lazyRouteComponent(() => import('./pages/requests-page'), 'RequestsPage'),
});
const auditRoute = createRoute({
  getParentRoute: () => appRoute,
  path: '/audit',
  // the filters are in the address: a certificate's or CA's page links its events (`?target=<id>`), a reload keeps them
  validateSearch: (s: Record<string, unknown>): AuditSearch => ({
    action: str(s.action),
    actor: str(s.actor),
    target: str(s.target),
  }),
  component: lazyRouteComponent(() => import('./pages/audit-page'), 'AuditPage'),
});
const accessRoute = createRoute({
  getParentRoute: () => appRoute,
  path: '/access',
  component: lazyRouteComponent(() => import('./pages/access-page'), 'AccessPage'),
});
const bulkRoute = createRoute({
  getParentRoute: () => appRoute,
  path: '/bulk',
  component: lazyRouteComponent(() => import('./pages/bulk-page'), 'BulkPage'),
});
const notificationsRoute = createRoute({
  getParentRoute: () => appRoute,
  path: '/notifications',
  component: lazyRouteComponent(() => import('./pages/notifications-page'), 'NotificationsPage'),
});
const profilesRoute = createRoute({
  getParentRoute: () => appRoute,
  path: '/profiles',
  component: lazyRouteComponent(() => import('./pages/profiles-page'), 'ProfilesPage'),
});
export const profileDetailRoute = createRoute({
  getParentRoute: () => appRoute,
  path: '/profiles/$name',
  component: lazyRouteComponent(() => import('./pages/profiles-page'), 'ProfileDetailPage'),
});
const keyBackendsRoute = createRoute({
  getParentRoute: () => appRoute,
  path: '/key-backends',
  component: lazyRouteComponent(() => import('./pages/key-backends-page'), 'KeyBackendsPage'),
});
export const searchRoute = createRoute({
  getParentRoute: () => appRoute,
  path: '/search',
  validateSearch: (s: Record<string, unknown>): { q?: string } => ({ q: str(s.q) }),
  component: lazyRouteComponent(() => import('./pages/search-page'), 'SearchPage'),
});
const domainsRoute = createRoute({
  getParentRoute: () => appRoute,
  path: '/domains',
  component: lazyRouteComponent(() => import('./pages/domains-page'), 'DomainsPage'),
});

const sshRoute = createRoute({
  getParentRoute: () => appRoute,
  path: '/ssh',
  validateSearch: (s: Record<string, unknown>): { tab?: SshTab } => ({ tab: isSshTab(s.tab) ? s.tab : undefined }),
  component: lazyRouteComponent(() => import('./pages/ssh-page'), 'SshPage'),
});
const acmeRoute = createRoute({
  getParentRoute: () => appRoute,
  path: '/acme',
  component: lazyRouteComponent(() => import('./pages/acme-page'), 'AcmePage'),
});
const vaultRoute = createRoute({
  getParentRoute: () => appRoute,
  path: '/vault',
  component: lazyRouteComponent(() => import('./pages/vault-page'), 'VaultPage'),
});
const spiffeRoute = createRoute({
  getParentRoute: () => appRoute,
  path: '/spiffe',
  component: lazyRouteComponent(() => import('./pages/spiffe-page'), 'SpiffePage'),
});

const routeTree = rootRoute.addChildren([
  loginRoute,
  appRoute.addChildren([
    dashboardRoute,
    casRoute,
    createCaRoute,
    importCaRoute,
    caDetailRoute,
    certificatesRoute,
    certificateDetailRoute,
    issueRoute,
    requestsRoute,
    auditRoute,
    accessRoute,
    notificationsRoute,
    bulkRoute,
    keyBackendsRoute,
    profilesRoute,
    profileDetailRoute,
    searchRoute,
    domainsRoute,
    sshRoute,
    spiffeRoute,
    acmeRoute,
    vaultRoute,
  ]),
]);

export const router = createRouter({
  routeTree,
  context: { queryClient },
  defaultPreload: 'intent',
  defaultPendingMs: 150,
  scrollRestoration: true,
});

declare module '@tanstack/react-router' {
  interface Register {
    router: typeof router;
  }
}
