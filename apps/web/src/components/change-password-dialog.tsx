import { useState } from 'react';
import { useMutation } from '@tanstack/react-query';
import { trpc } from '../lib/trpc';
import { Dialog, DialogContent } from './ui/dialog';
import { Field, Input } from './ui/input';
import { Button } from './ui/button';
import { Alert, ErrorAlert } from './ui/alert';

export function ChangePasswordDialog({ open, onOpenChange }: { open: boolean; onOpenChange: (o: boolean) => void }) {
  const [oldPassword, setOld] = useState('');
  const [newPassword, setNew] = useState('');
  const change = useMutation(trpc.user.changePassword.mutationOptions());
  return (
    <Dialog open={open} onOpenChange={onOpenChange}>
      <DialogContent title="Change password" description="Other sessions of your account are signed out.">
        {change.isSuccess ? (
          <Alert level="success" title="Password changed" />
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
            <div className="flex justify-end">
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
