import * as React from 'react';
import { Dialog, DialogContent, useResetOnClose, type DialogMutation } from './ui/dialog';
import { Button } from './ui/button';
import { Alert, ErrorAlert } from './ui/alert';
import { CopyButton } from './ui/copy-button';

/**
 * A dialog holding one form: fields, the API error of the last attempt (with its stable code) and a submit button.
 * `result`, when set, replaces the form (e.g. a secret shown once). `mutation` (what the form submits) gives the
 * pending state and the error, and is reset when the dialog closes (it opens clean the next time).
 */
export function FormDialog({
  open,
  onOpenChange,
  mutation,
  title,
  description,
  submitLabel,
  onSubmit,
  pending,
  disabled,
  destructive,
  error,
  result,
  children,
}: {
  open: boolean;
  onOpenChange: (open: boolean) => void;
  mutation?: DialogMutation;
  title: string;
  description?: string;
  submitLabel: string;
  onSubmit: () => void;
  pending?: boolean;
  /** the form is not complete yet */
  disabled?: boolean;
  /** the submit button says the action cannot be undone (revocation) */
  destructive?: boolean;
  error?: unknown;
  result?: React.ReactNode;
  children: React.ReactNode;
}) {
  useResetOnClose(open, mutation);
  return (
    <Dialog open={open} onOpenChange={onOpenChange}>
      <DialogContent title={title} description={description}>
        {result ?? (
          <form
            className="grid gap-4"
            onSubmit={(e) => {
              e.preventDefault();
              onSubmit();
            }}
          >
            {children}
            <ErrorAlert error={error ?? mutation?.error} />
            <div className="flex justify-end">
              <Button
                type="submit"
                variant={destructive ? 'destructive' : 'default'}
                disabled={pending || mutation?.isPending || disabled}
              >
                {submitLabel}
              </Button>
            </div>
          </form>
        )}
      </DialogContent>
    </Dialog>
  );
}

/** A secret the server returns once (API token, fleet token, EAB key): shown with a copy button, never again. */
export function SecretOnce({
  secret,
  testId,
  copyLabel,
  onDone,
  children,
}: {
  secret: string;
  testId: string;
  copyLabel: string;
  onDone?: () => void;
  children?: React.ReactNode;
}) {
  return (
    <div className="grid gap-3">
      <Alert level="warning" title="Copy it now: it is not stored in the clear and will not be shown again" />
      <code className="break-all rounded-md border bg-muted/40 p-3 text-xs" data-testid={testId}>
        {secret}
      </code>
      {children}
      <div className="flex justify-end gap-2">
        <CopyButton text={secret} label={copyLabel} />
        {onDone ? <Button onClick={onDone}>Done</Button> : null}
      </div>
    </div>
  );
}
