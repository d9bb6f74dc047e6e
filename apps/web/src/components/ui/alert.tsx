import * as React from 'react';
import { AlertTriangle, CheckCircle2, Info, XCircle } from 'lucide-react';
import { cn } from '../../lib/utils';
import { apiError } from '../../lib/trpc';

const STYLES = {
  info: 'border-primary/30 bg-primary/5',
  success: 'border-success/40 bg-success/10',
  warning: 'border-warning/50 bg-warning/10',
  critical: 'border-destructive/40 bg-destructive/10',
} as const;
const ICONS = { info: Info, success: CheckCircle2, warning: AlertTriangle, critical: XCircle } as const;

export function Alert({
  level = 'info',
  title,
  children,
  className,
}: {
  level?: keyof typeof STYLES;
  title?: React.ReactNode;
  children?: React.ReactNode;
  className?: string;
}) {
  const Icon = ICONS[level];
  return (
    <div
      role={level === 'critical' ? 'alert' : 'status'}
      className={cn('flex gap-3 rounded-lg border p-3 text-sm', STYLES[level], className)}
    >
      <Icon className="mt-0.5 size-4 shrink-0" aria-hidden />
      <div className="min-w-0 space-y-1">
        {title ? <div className="font-medium">{title}</div> : null}
        {children ? <div className="text-muted-foreground break-words">{children}</div> : null}
      </div>
    </div>
  );
}

/** An API error shown with its stable code (e.g. `auth.forbidden`) and the server's message. */
export function ErrorAlert({ error, className }: { error: unknown; className?: string }) {
  if (!error) return null;
  const e = apiError(error);
  return (
    <Alert level="critical" className={className} title={<code data-error-code={e.code}>{e.code}</code>}>
      {e.message}
      {e.issues?.length ? (
        <ul className="mt-1 list-disc pl-4">
          {e.issues.map((i) => (
            <li key={i.path + i.message}>
              {i.path ? <code>{i.path}</code> : null} {i.message}
            </li>
          ))}
        </ul>
      ) : null}
      {e.requestId ? <div className="mt-1 text-xs">request {e.requestId}</div> : null}
    </Alert>
  );
}
