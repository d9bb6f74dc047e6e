import * as React from 'react';
import { AlertDialog as A, Dialog as D } from 'radix-ui';
import { X } from 'lucide-react';
import { cn } from '../../lib/utils';
import { Button } from './button';
import { ErrorAlert } from './alert';

const overlay = 'fixed inset-0 z-50 bg-black/50 backdrop-blur-[1px]';
const content =
  // one column that may shrink below its content's width (minmax(0, 1fr)): a long line in a block (a key, a
  // known_hosts line) scrolls inside that block instead of widening the dialog past its edge
  'fixed left-1/2 top-1/2 z-50 grid w-[calc(100%-2rem)] max-w-lg -translate-x-1/2 -translate-y-1/2 gap-4 ' +
  'grid-cols-[minmax(0,1fr)] ' +
  'max-h-[calc(100vh-2rem)] overflow-y-auto rounded-xl border bg-popover p-6 text-popover-foreground shadow-lg';

export const Dialog = D.Root;

/** the state of the API call a dialog makes (a TanStack Query mutation): pending, its last error, a reset */
export interface DialogMutation {
  isPending: boolean;
  error: unknown;
  reset: () => void;
}

/** forgets the mutation's last error and result once the dialog is closed, however it closed (so it opens clean) */
export function useResetOnClose(open: boolean, mutation: DialogMutation | undefined): void {
  const reset = mutation?.reset;
  React.useEffect(() => {
    if (!open) reset?.();
  }, [open]); // eslint-disable-line react-hooks/exhaustive-deps
}
export const DialogTrigger = D.Trigger;

/** `dismissible={false}`: no Close button, and neither Escape nor a click outside closes it (a step to be done) */
export function DialogContent({
  title,
  description,
  children,
  className,
  dismissible = true,
}: {
  title: string;
  description?: string;
  children: React.ReactNode;
  className?: string;
  dismissible?: boolean;
}) {
  const keep = (e: Event) => {
    if (!dismissible) e.preventDefault();
  };
  return (
    <D.Portal>
      <D.Overlay className={overlay} />
      <D.Content
        className={cn(content, className)}
        onEscapeKeyDown={keep}
        onPointerDownOutside={keep}
        onInteractOutside={keep}
      >
        <div className="space-y-1">
          <D.Title className="text-lg font-semibold">{title}</D.Title>
          {description ? (
            <D.Description className="text-sm text-muted-foreground">{description}</D.Description>
          ) : (
            <D.Description className="sr-only">{title}</D.Description>
          )}
        </div>
        {children}
        {dismissible ? (
          <D.Close asChild>
            <Button variant="ghost" size="icon" className="absolute right-3 top-3" aria-label="Close">
              <X />
            </Button>
          </D.Close>
        ) : null}
      </D.Content>
    </D.Portal>
  );
}

/**
 * A confirmation for destructive actions: nothing happens until the user confirms. `mutation` (what confirming
 * calls) gives the pending state and shows the call's error in the dialog; it is reset when the dialog closes.
 */
export function ConfirmDialog({
  open,
  onOpenChange,
  mutation,
  title,
  description,
  confirmLabel,
  onConfirm,
  pending,
  children,
}: {
  open: boolean;
  onOpenChange: (open: boolean) => void;
  mutation?: DialogMutation;
  title: string;
  description: React.ReactNode;
  confirmLabel: string;
  onConfirm: () => void;
  pending?: boolean;
  children?: React.ReactNode;
}) {
  useResetOnClose(open, mutation);
  return (
    <A.Root open={open} onOpenChange={onOpenChange}>
      <A.Portal>
        <A.Overlay className={overlay} />
        <A.Content className={content}>
          <A.Title className="text-lg font-semibold">{title}</A.Title>
          <A.Description asChild>
            <div className="text-sm text-muted-foreground">{description}</div>
          </A.Description>
          {children}
          {mutation ? <ErrorAlert error={mutation.error} /> : null}
          <div className="flex justify-end gap-2">
            <A.Cancel asChild>
              <Button variant="outline">Cancel</Button>
            </A.Cancel>
            <Button variant="destructive" onClick={onConfirm} disabled={pending || mutation?.isPending}>
              {confirmLabel}
            </Button>
          </div>
        </A.Content>
      </A.Portal>
    </A.Root>
  );
}
