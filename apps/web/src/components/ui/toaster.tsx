import { useEffect, useState } from 'react';
import { CheckCircle2, X } from 'lucide-react';
import { dismissToast, TOAST_MS, useToasts, type Toast } from '../../lib/toast';
import { Button } from './button';

/** The toasts of lib/toast.ts, bottom right, announced politely to screen readers. */
export function Toaster() {
  const toasts = useToasts();
  return (
    <div
      aria-live="polite"
      className="pointer-events-none fixed bottom-4 right-4 z-50 flex w-full max-w-sm flex-col gap-2"
    >
      {toasts.map((t) => (
        <ToastItem key={t.id} toast={t} />
      ))}
    </div>
  );
}

function ToastItem({ toast }: { toast: Toast }) {
  const [hovered, setHovered] = useState(false);
  useEffect(() => {
    if (hovered) return;
    const timer = setTimeout(() => dismissToast(toast.id), TOAST_MS);
    return () => clearTimeout(timer);
  }, [hovered, toast.id]);
  return (
    <div
      role="status"
      data-testid="toast"
      onMouseEnter={() => setHovered(true)}
      onMouseLeave={() => setHovered(false)}
      className="pointer-events-auto flex gap-3 rounded-lg border border-success/40 bg-card p-3 text-sm shadow-lg"
    >
      <CheckCircle2 className="mt-0.5 size-4 shrink-0 text-success" aria-hidden />
      <div className="min-w-0 flex-1 space-y-1">
        <div className="font-medium">{toast.title}</div>
        {toast.description ? <div className="break-words text-muted-foreground">{toast.description}</div> : null}
      </div>
      <Button
        variant="ghost"
        size="icon"
        className="-m-1 size-6"
        aria-label="Dismiss"
        onClick={() => dismissToast(toast.id)}
      >
        <X />
      </Button>
    </div>
  );
}
