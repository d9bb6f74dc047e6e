import { Suspense, useEffect, useRef, useState } from 'react';
import { Link, Outlet, useNavigate, useRouterState } from '@tanstack/react-router';
import { useMutation, useQueryClient } from '@tanstack/react-query';
import { DropdownMenu } from 'radix-ui';
import {
  Bell,
  Activity,
  FileBadge,
  FileClock,
  Fingerprint,
  Globe,
  KeyRound,
  Layers,
  LayoutDashboard,
  LogOut,
  Menu,
  BookOpen,
  Moon,
  Network,
  ScrollText,
  Search,
  Server,
  ShieldCheck,
  Stamp,
  SlidersHorizontal,
  Sun,
  Terminal,
  UserCog,
  Users,
  Vault,
} from 'lucide-react';
import { trpc } from '../lib/trpc';
import { useMe, type Permission } from '../lib/auth';
import { setCsrfToken } from '../lib/session';
import { useMediaQuery } from '../lib/hooks';
import { useTheme } from '../lib/theme';
import { cn } from '../lib/utils';
import { Button } from './ui/button';
import { Input } from './ui/input';
import { PageSkeleton } from './page';
import { ChangePasswordDialog } from './change-password-dialog';
import { Toaster } from './ui/toaster';

const NAV: { to: string; label: string; icon: typeof Activity; permission: Permission; exact?: boolean }[] = [
  { to: '/', label: 'Dashboard', icon: LayoutDashboard, permission: 'system:read', exact: true },
  { to: '/cas', label: 'Authorities', icon: Network, permission: 'ca:read' },
  { to: '/certificates', label: 'Certificates', icon: FileBadge, permission: 'certificate:read' },
  { to: '/issue', label: 'Issue', icon: Stamp, permission: 'certificate:issue' },
  { to: '/bulk', label: 'Bulk', icon: Layers, permission: 'certificate:issue' },
  { to: '/requests', label: 'Requests', icon: FileClock, permission: 'request:read' },
  { to: '/domains', label: 'Domains', icon: Globe, permission: 'certificate:read' },
  { to: '/profiles', label: 'Profiles', icon: SlidersHorizontal, permission: 'ca:read' },
  { to: '/acme', label: 'ACME', icon: Server, permission: 'ca:read' },
  { to: '/vault', label: 'Vault PKI', icon: Vault, permission: 'ca:read' },
  { to: '/ssh', label: 'SSH', icon: Terminal, permission: 'ssh:read' },
  { to: '/spiffe', label: 'Workload identity', icon: Fingerprint, permission: 'spiffe:manage' },
  { to: '/audit', label: 'Audit log', icon: ScrollText, permission: 'audit:read' },
  { to: '/notifications', label: 'Notifications', icon: Bell, permission: 'notification:read' },
  { to: '/access', label: 'Users & tokens', icon: Users, permission: 'user:manage' },
  { to: '/key-backends', label: 'Key backends', icon: KeyRound, permission: 'system:read' },
];

function GlobalSearch() {
  const navigate = useNavigate();
  const ref = useRef<HTMLInputElement>(null);
  const [q, setQ] = useState('');
  useEffect(() => {
    const onKey = (e: KeyboardEvent) => {
      const typing = e.target instanceof HTMLInputElement || e.target instanceof HTMLTextAreaElement;
      if ((e.key === 'k' && (e.metaKey || e.ctrlKey)) || (e.key === '/' && !typing)) {
        e.preventDefault();
        ref.current?.focus();
      }
    };
    window.addEventListener('keydown', onKey);
    return () => window.removeEventListener('keydown', onKey);
  }, []);
  return (
    <form
      role="search"
      className="relative w-full max-w-md"
      onSubmit={(e) => {
        e.preventDefault();
        if (q.trim()) void navigate({ to: '/search', search: { q: q.trim() } });
      }}
    >
      <Search className="pointer-events-none absolute left-2.5 top-2.5 size-4 text-muted-foreground" aria-hidden />
      <Input
        ref={ref}
        value={q}
        onChange={(e) => setQ(e.target.value)}
        placeholder="Search CN, SAN, serial, fingerprint…  ( / )"
        aria-label="Global search"
        className="pl-8"
      />
    </form>
  );
}

function ThemeToggle() {
  const [theme, setTheme] = useTheme();
  return (
    <Button
      variant="ghost"
      size="icon"
      aria-label={theme === 'dark' ? 'Switch to light theme' : 'Switch to dark theme'}
      onClick={() => setTheme(theme === 'dark' ? 'light' : 'dark')}
    >
      {theme === 'dark' ? <Sun /> : <Moon />}
    </Button>
  );
}

/** Sign out: the session ends, then the sign-in page (an OIDC user also at the provider). */
function useSignOut() {
  const { me } = useMe();
  const qc = useQueryClient();
  const navigate = useNavigate();
  return useMutation(
    trpc.user.logout.mutationOptions({
      onSettled: async () => {
        setCsrfToken(null);
        qc.clear();
        // an OIDC user is also signed out at the provider (RP-initiated logout), which returns to /login
        if (me.authMethod === 'oidc') {
          window.location.assign('/auth/oidc/logout');
          return;
        }
        await navigate({ to: '/login', search: {} });
      },
    }),
  );
}

function UserMenu() {
  const { me } = useMe();
  const [pwOpen, setPwOpen] = useState(false);
  const logout = useSignOut();
  return (
    <>
      <DropdownMenu.Root>
        <DropdownMenu.Trigger asChild>
          <Button variant="ghost" className="gap-2" aria-label="Account menu">
            <UserCog />
            <span className="hidden sm:inline">{me.name ?? me.id}</span>
            <span className="rounded bg-muted px-1.5 text-xs text-muted-foreground" data-role={me.role}>
              {me.role}
            </span>
          </Button>
        </DropdownMenu.Trigger>
        <DropdownMenu.Portal>
          <DropdownMenu.Content
            align="end"
            sideOffset={6}
            className="z-50 min-w-48 rounded-md border bg-popover p-1 text-popover-foreground shadow-md"
          >
            <DropdownMenu.Item
              className={
                'flex cursor-pointer items-center gap-2 rounded px-2 py-1.5 text-sm outline-none ' +
                'data-[highlighted]:bg-accent'
              }
              onSelect={() => setPwOpen(true)}
            >
              <KeyRound className="size-4" /> Change password
            </DropdownMenu.Item>
            <DropdownMenu.Item
              className={
                'flex cursor-pointer items-center gap-2 rounded px-2 py-1.5 text-sm outline-none ' +
                'data-[highlighted]:bg-accent'
              }
              onSelect={() => logout.mutate()}
            >
              <LogOut className="size-4" /> Sign out
            </DropdownMenu.Item>
          </DropdownMenu.Content>
        </DropdownMenu.Portal>
      </DropdownMenu.Root>
      <ChangePasswordDialog open={pwOpen} onOpenChange={setPwOpen} />
    </>
  );
}

function Nav({ onNavigate }: { onNavigate?: () => void }) {
  const { can } = useMe();
  const path = useRouterState({ select: (s) => s.location.pathname });
  return (
    <nav aria-label="Main" className="flex flex-col gap-0.5 p-3">
      {NAV.filter((n) => can(n.permission)).map((n) => {
        const active = n.exact ? path === n.to : path === n.to || path.startsWith(`${n.to}/`);
        return (
          <Link
            key={n.to}
            to={n.to}
            onClick={onNavigate}
            aria-current={active ? 'page' : undefined}
            className={cn(
              'flex items-center gap-2.5 rounded-md px-3 py-2 text-sm font-medium text-muted-foreground ' +
                'transition-colors hover:bg-accent hover:text-accent-foreground',
              active && 'bg-accent text-accent-foreground',
            )}
          >
            <n.icon className="size-4" aria-hidden />
            {n.label}
          </Link>
        );
      })}
      {/* the REST API's reference (Swagger UI over /api/v1/openapi.json), served by this server */}
      <a
        href="/api/docs"
        target="_blank"
        rel="noopener"
        className={
          'mt-2 flex items-center gap-2.5 rounded-md px-3 py-2 text-sm font-medium text-muted-foreground ' +
          'transition-colors hover:bg-accent hover:text-accent-foreground'
        }
      >
        <BookOpen className="size-4" aria-hidden />
        API docs
      </a>
    </nav>
  );
}

/**
 * A session whose password must be changed first (the first-boot password, a reset one: `user.me`'s
 * mustChangePassword) sees only the change-password dialog, which cannot be dismissed: no page behind it asks the
 * server for what it would refuse (auth.password_change_required).
 */
function PasswordChangeRequired() {
  const logout = useSignOut();
  return (
    <div className="min-h-screen bg-muted/40" data-password-change-required>
      <ChangePasswordDialog open required onOpenChange={() => undefined} onSignOut={() => logout.mutate()} />
    </div>
  );
}

export function AppShell() {
  const { me } = useMe();
  if (me.mustChangePassword) return <PasswordChangeRequired />;
  return <SignedInShell />;
}

function SignedInShell() {
  const [mobileOpen, setMobileOpen] = useState(false);
  // below lg the navigation is a drawer: closed, it is off screen and out of the tab order (inert); Escape closes
  // it and gives the focus back to the button that opened it
  const wide = useMediaQuery('(min-width: 1024px)');
  const drawer = !wide;
  const menuButton = useRef<HTMLButtonElement>(null);
  const aside = useRef<HTMLElement>(null);
  const closeDrawer = () => {
    setMobileOpen(false);
    menuButton.current?.focus();
  };
  useEffect(() => {
    if (!drawer || !mobileOpen) return;
    aside.current?.querySelector<HTMLElement>('nav a')?.focus();
    const onKey = (e: KeyboardEvent) => {
      if (e.key !== 'Escape') return;
      setMobileOpen(false);
      menuButton.current?.focus();
    };
    window.addEventListener('keydown', onKey);
    return () => window.removeEventListener('keydown', onKey);
  }, [drawer, mobileOpen]);
  return (
    <div className="flex min-h-screen">
      <a
        href="#main"
        className={
          'sr-only focus:not-sr-only focus:absolute focus:left-2 focus:top-2 focus:z-50 ' +
          'focus:rounded focus:bg-card focus:p-2'
        }
      >
        Skip to content
      </a>
      <aside
        ref={aside}
        id="main-navigation"
        inert={drawer && !mobileOpen}
        className={cn(
          // from lg on it stays in view while a long page scrolls (a CA's history, the audit log)
          'fixed inset-y-0 left-0 z-40 w-60 shrink-0 overflow-y-auto border-r bg-card transition-transform ' +
            'lg:sticky lg:top-0 lg:h-screen lg:translate-x-0',
          mobileOpen ? 'translate-x-0' : '-translate-x-full',
        )}
      >
        <div className="flex h-14 items-center gap-2 border-b px-5">
          <ShieldCheck className="size-5 text-primary" aria-hidden />
          <span className="font-semibold tracking-tight">PKI Manager</span>
        </div>
        <Nav onNavigate={() => drawer && mobileOpen && closeDrawer()} />
      </aside>
      {mobileOpen ? (
        <div className="fixed inset-0 z-30 bg-black/40 lg:hidden" onClick={closeDrawer} aria-hidden />
      ) : null}
      <div className="flex min-w-0 flex-1 flex-col">
        <header className="sticky top-0 z-20 flex h-14 items-center gap-3 border-b bg-background/90 px-4 backdrop-blur">
          <Button
            ref={menuButton}
            variant="ghost"
            size="icon"
            className="lg:hidden"
            aria-label="Open navigation"
            aria-controls="main-navigation"
            aria-expanded={mobileOpen}
            onClick={() => setMobileOpen(true)}
          >
            <Menu />
          </Button>
          <GlobalSearch />
          <div className="ml-auto flex items-center gap-1">
            <ThemeToggle />
            <UserMenu />
          </div>
        </header>
        <main id="main" className="mx-auto w-full max-w-7xl flex-1 p-4 md:p-6">
          <Suspense fallback={<PageSkeleton />}>
            <Outlet />
          </Suspense>
        </main>
      </div>
      <Toaster />
    </div>
  );
}
