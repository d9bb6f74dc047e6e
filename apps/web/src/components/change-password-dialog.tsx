import { useState } from 'react';
import { useMutation, useQueryClient } from '@tanstack/react-query';
import { useNavigate } from '@tanstack/react-router';
import { trpc } from '../lib/trpc';
import { setCsrfToken } from '../lib/session';
import { Dialog, DialogContent, useResetOnClose } from './ui/dialog';
import { Field, Input } from './ui/input';
import { Button } from './ui/button';
import { Alert, ErrorAlert } from './ui/alert';

/**
 * The signed-in user's password change. The server ends every session of the account once it is changed, this one
 * too: the dialog says so and leads to the sign-in page (it opens clean the next time). `required`: the session may
 * do nothing else until the password is changed (the first-boot password, a password an administrator reset —
 * `user.me`'s mustChangePassword): the dialog cannot be dismissed, only left by signing out (`onSignOut`).
 */
export function ChangePasswordDialog({
  open,
  onOpenChange,
  required = false,
  onSignOut,
}: {
  open: boolean;
  onOpenChange: (o: boolean) => void;
  required?: boolean;
  onSignOut?: () => void;
}) {
  const [oldPassword, setOld] = useState('');
  const [newPassword, setNew] = useState('');
  const qc = useQueryClient();
  const navigate = useNavigate();
  const change = useMutation(
    trpc.user.changePassword.mutationOptions({
      onSuccess: () => {
        setOld('');
        setNew('');
      },
    }),
  );
  useResetOnClose(open, change);
  const signInAgain = async () => {
    onOpenChange(false);
    setCsrfToken(null);
    qc.clear();
    await navigate({ to: '/login', search: {} });
  };
  return (
    <Dialog
      open={open}
      onOpenChange={(o) => (!o && change.isSuccess ? void signInAgain() : required ? undefined : onOpenChange(o))}
    >
      <DialogContent
        title={required ? 'Choose a new password' : 'Change password'}
        description={
          required
            ? 'The password you signed in with must be changed before anything else. Then every session of your ' +
              'account is signed out, this one too: you sign in again with the new one.'
            : 'Every session of your account is signed out, this one too: you sign in again with the new one.'
        }
        dismissible={!required || change.isSuccess}
      >
        {change.isSuccess ? (
          <div className="grid gap-4">
            <Alert level="success" title="Password changed">
              Sign in again with the new password.
            </Alert>
            <div className="flex justify-end">
              <Button autoFocus onClick={() => void signInAgain()}>
                Sign in again
              </Button>
            </div>
          </div>
        ) : (
          <form
            className="grid gap-4"
            onSubmit={(e) => {
              e.preventDefault();
              change.mutate({ oldPassword, newPassword });
            }}
          >
            <Field label="Current password" htmlFor="pw-old">
              <Input
                id="pw-old"
                type="password"
                autoComplete="current-password"
                value={oldPassword}
                onChange={(e) => setOld(e.target.value)}
                required
              />
            </Field>
            <Field label="New password" htmlFor="pw-new" hint="At least 12 characters.">
              <Input
                id="pw-new"
                type="password"
                autoComplete="new-password"
                value={newPassword}
                onChange={(e) => setNew(e.target.value)}
                required
              />
            </Field>
            <ErrorAlert error={change.error} />
            <div className="flex justify-end gap-2">
              {required && onSignOut ? (
                <Button type="button" variant="ghost" onClick={onSignOut}>
                  Sign out
                </Button>
              ) : null}
              <Button type="submit" disabled={change.isPending}>
                Change password
              </Button>
            </div>
          </form>
        )}
      </DialogContent>
    </Dialog>
  );
}
