import { useState } from 'react';
import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { useNavigate, useSearch } from '@tanstack/react-router';
import { ShieldCheck } from 'lucide-react';
import { trpc } from '../lib/trpc';
import { loadOidcProvider, setCsrfToken } from '../lib/session';
import { Button } from '../components/ui/button';
import { Card, CardContent, CardDescription, CardHeader, CardTitle } from '../components/ui/card';
import { Field, Input } from '../components/ui/input';
import { Alert, ErrorAlert } from '../components/ui/alert';

/** What a failed OIDC sign-in (`/login?error=<code>`) means for the person at the screen. */
const OIDC_ERRORS: Record<string, string> = {
  'auth.oidc_no_role': 'Your account at the identity provider is not in a group that has a role here.',
  'auth.oidc_invalid_token': 'The identity provider sent a token that could not be verified.',
  'auth.oidc_failed': 'The sign-in with the identity provider did not complete. Try again.',
  'auth.oidc_provider_unavailable': 'The identity provider could not be reached.',
  'auth.oidc_not_configured': 'Single sign-on is not configured on this server.',
  'auth.unauthenticated': 'This account is disabled.',
};

export function LoginPage() {
  const search = useSearch({ from: '/login' });
  const navigate = useNavigate();
  const qc = useQueryClient();
  const [username, setUsername] = useState('');
  const [password, setPassword] = useState('');
  const oidc = useQuery({ queryKey: ['oidc-provider'], queryFn: loadOidcProvider, staleTime: 60_000 });
  const returnTo = search.redirect?.startsWith('/') ? search.redirect : '/';
  const login = useMutation(
    trpc.user.login.mutationOptions({
      onSuccess: async (r) => {
        setCsrfToken(r.csrfToken);
        qc.clear();
        const target = search.redirect?.startsWith('/') ? search.redirect : '/';
        await navigate({ to: target });
      },
    }),
  );
  return (
    <div className="flex min-h-screen items-center justify-center bg-muted/40 p-4">
      <Card className="w-full max-w-sm">
        <CardHeader className="items-center text-center">
          <ShieldCheck className="mb-2 size-10 text-primary" aria-hidden />
          <CardTitle className="text-xl">PKI Manager</CardTitle>
          <CardDescription>Sign in to the certificate authority console</CardDescription>
        </CardHeader>
        <CardContent className="grid gap-4">
          {search.error ? (
            <Alert level="critical" title={<code data-error-code={search.error}>{search.error}</code>}>
              {OIDC_ERRORS[search.error] ?? 'The sign-in did not complete.'}
            </Alert>
          ) : null}
          {oidc.data?.enabled && oidc.data.loginUrl ? (
            <>
              <Button asChild className="w-full">
                <a
                  href={`${oidc.data.loginUrl}?returnTo=${encodeURIComponent(returnTo)}`}
                  // the new session's CSRF token is fetched after the callback; forget any older one
                  onClick={() => setCsrfToken(null)}
                >
                  Sign in with {oidc.data.name}
                </a>
              </Button>
              <p className="text-center text-xs text-muted-foreground">or with a local account (break-glass)</p>
            </>
          ) : null}
          <form
            className="grid gap-4"
            onSubmit={(e) => {
              e.preventDefault();
              login.mutate({ username, password });
            }}
          >
            <Field label="Username" htmlFor="username">
              <Input
                id="username"
                name="username"
                autoComplete="username"
                autoFocus
                value={username}
                onChange={(e) => setUsername(e.target.value)}
                required
              />
            </Field>
            <Field label="Password" htmlFor="password">
              <Input
                id="password"
                name="password"
                type="password"
                autoComplete="current-password"
                value={password}
                onChange={(e) => setPassword(e.target.value)}
                required
              />
            </Field>
            <ErrorAlert error={login.error} />
            <Button type="submit" disabled={login.isPending} className="w-full">
              {login.isPending ? 'Signing in…' : 'Sign in'}
            </Button>
            <p className="text-center text-xs text-muted-foreground">
              First boot? The server printed the <code>admin</code> password once in its console; you choose your own at
              the first sign-in.
            </p>
          </form>
        </CardContent>
      </Card>
    </div>
  );
}
