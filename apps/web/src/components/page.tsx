import * as React from 'react';
import { Skeleton } from './ui/skeleton';
import { cn } from '../lib/utils';

export function PageHeader({
  title,
  description,
  actions,
}: {
  title: string;
  description?: React.ReactNode;
  actions?: React.ReactNode;
}) {
  return (
    <div className="mb-6 flex flex-wrap items-start justify-between gap-4">
      <div className="min-w-0 space-y-1">
        <h1 className="text-2xl font-semibold tracking-tight">{title}</h1>
        {description ? <div className="text-sm text-muted-foreground">{description}</div> : null}
      </div>
      {actions ? <div className="flex flex-wrap items-center gap-2">{actions}</div> : null}
    </div>
  );
}

export function PageSkeleton() {
  return (
    <div className="space-y-4 p-6" role="status" aria-label="Loading">
      <Skeleton className="h-8 w-64" />
      <Skeleton className="h-4 w-96" />
      <div className="grid gap-4 md:grid-cols-3">
        <Skeleton className="h-28" />
        <Skeleton className="h-28" />
        <Skeleton className="h-28" />
      </div>
      <Skeleton className="h-64" />
    </div>
  );
}

/** label/value rows for decoded certificate fields */
/**
 * Names and values, side by side from the `sm` width on; `stacked` keeps each name over its value at every width —
 * for a narrow card (a third of the page), where a 12rem name column left the value a few characters a line and
 * cut its words ('ec-p256 (so ftware)').
 */
export function DefinitionList({ items, stacked }: { items: [string, React.ReactNode][]; stacked?: boolean }) {
  return (
    <dl className={cn('grid grid-cols-1 gap-x-6 text-sm', stacked ? 'gap-y-1' : 'gap-y-3 sm:grid-cols-[12rem_1fr]')}>
      {items.map(([k, v]) => (
        <React.Fragment key={k}>
          <dt className={cn('text-muted-foreground', stacked && 'mt-2 first:mt-0')}>{k}</dt>
          <dd className={cn('min-w-0', stacked ? 'break-words' : 'break-all')}>{v}</dd>
        </React.Fragment>
      ))}
    </dl>
  );
}
