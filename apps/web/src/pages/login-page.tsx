import { useState } from 'react';
import { useMutation, useQueryClient } from '@tanstack/react-query';
import { useNavigate, useSearch } from '@tanstack/react-router';
import { ShieldCheck } from 'lucide-react';
import { trpc } from '../lib/trpc';
import { setCsrfToken } from '../lib/session';
import { Button } from '../components/ui/button';
import { Card, CardContent, CardDescription, CardHeader, CardTitle } from '../components/ui/card';
import { Field, Input } from '../components/ui/input';
import { ErrorAlert } from '../components/ui/alert';

export function LoginPage() {
  const search = useSearch({ from: '/login' });
  const navigate = useNavigate();
  const qc = useQueryClient();
  const [username, setUsername] = useState('');
  const [password, setPassword] = useState('');
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
        <CardContent>
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
              First boot? The server printed the <code>admin</code> password once in its console.
            </p>
          </form>
        </CardContent>
      </Card>
    </div>
  );
}
