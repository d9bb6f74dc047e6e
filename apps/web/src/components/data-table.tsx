import * as React from 'react';
import type { LucideIcon } from 'lucide-react';
import { ChevronLeft, ChevronRight } from 'lucide-react';
import { cn } from '../lib/utils';
import { Button } from './ui/button';
import { Card, CardContent } from './ui/card';
import { Table, TBody, TD, TH, THead, TR } from './ui/table';
import { TableSkeleton } from './ui/skeleton';
import { EmptyState } from './ui/empty-state';
import { ErrorAlert } from './ui/alert';

/** One column of a {@link DataTable}: a header and how a row renders in it. */
export interface Column<T> {
  header: React.ReactNode;
  cell: (row: T) => React.ReactNode;
  /** the column shows from this breakpoint up (narrow screens keep the essential columns) */
  from?: 'md' | 'lg' | 'xl';
  align?: 'right';
  className?: string;
}

const FROM = { md: 'hidden md:table-cell', lg: 'hidden lg:table-cell', xl: 'hidden xl:table-cell' } as const;

/** The data-* attributes tests and links use to find a row (`{ 'data-ssh-ca': c.name }`). */
export type RowAttributes = Record<`data-${string}`, string>;

export interface DataTableProps<T> {
  /** undefined while the first page loads (skeleton) */
  rows: readonly T[] | undefined;
  columns: readonly (Column<T> | false | null | undefined)[];
  rowKey: (row: T) => string;
  rowAttributes?: (row: T) => RowAttributes;
  /** shown instead of the table when there are no rows */
  empty: { icon: LucideIcon; title: string; body?: React.ReactNode; action?: React.ReactNode };
  error?: unknown;
  /** filters and search above the table */
  toolbar?: React.ReactNode;
  /** below the table (e.g. a {@link Pager}) */
  footer?: React.ReactNode;
  busy?: boolean;
  testId?: string;
}

/**
 * The console's table: a card with an optional toolbar, loading skeleton, error, empty state, responsive columns
 * and an optional footer. Pages describe columns; every table looks and behaves the same.
 */
export function DataTable<T>(props: DataTableProps<T>) {
  const { rows, rowKey, rowAttributes, empty, error, toolbar, footer, busy, testId } = props;
  const columns = props.columns.filter((c): c is Column<T> => !!c);
  const cellClass = (c: Column<T>) => cn(c.from && FROM[c.from], c.align === 'right' && 'text-right', c.className);
  let body: React.ReactNode;
  if (error) body = <ErrorAlert error={error} className="m-4" />;
  else if (rows === undefined) body = <TableSkeleton cols={Math.min(columns.length, 6)} />;
  else if (rows.length === 0)
    body = (
      <EmptyState icon={empty.icon} title={empty.title} action={empty.action}>
        {empty.body}
      </EmptyState>
    );
  else
    body = (
      <Table aria-busy={busy || undefined} data-testid={testId}>
        <THead>
          <TR>
            {columns.map((c, i) => (
              <TH key={i} className={cellClass(c)}>
                {c.header}
              </TH>
            ))}
          </TR>
        </THead>
        <TBody>
          {rows.map((row) => (
            <TR key={rowKey(row)} {...rowAttributes?.(row)}>
              {columns.map((c, i) => (
                <TD key={i} className={cellClass(c)}>
                  {c.cell(row)}
                </TD>
              ))}
            </TR>
          ))}
        </TBody>
      </Table>
    );
  return (
    <Card>
      {toolbar ? <div className="flex flex-wrap items-center gap-2 border-b p-3">{toolbar}</div> : null}
      <CardContent className="p-0">{body}</CardContent>
      {footer}
    </Card>
  );
}

/**
 * Server-side keyset pagination: the cursors of the pages before the current one. Changing `resetKey` (the
 * filters) goes back to the first page.
 */
export function useCursorPages(resetKey: string) {
  const [cursors, setCursors] = React.useState<(string | null)[]>([null]);
  React.useEffect(() => setCursors([null]), [resetKey]);
  return {
    cursor: cursors[cursors.length - 1] ?? null,
    page: cursors.length,
    next: (cursor: string) => setCursors((c) => [...c, cursor]),
    previous: () => setCursors((c) => (c.length > 1 ? c.slice(0, -1) : c)),
  };
}

/** Previous/next over a {@link useCursorPages} state and the `nextCursor` of the current page. */
export function Pager({
  pages,
  nextCursor,
  shown,
}: {
  pages: ReturnType<typeof useCursorPages>;
  nextCursor: string | null | undefined;
  shown?: number;
}) {
  return (
    <div className="flex items-center justify-between border-t p-3 text-sm text-muted-foreground">
      <span>
        Page {pages.page}
        {shown !== undefined ? ` · ${shown} shown` : ''}
      </span>
      <div className="flex gap-2">
        <Button variant="outline" size="sm" disabled={pages.page <= 1} onClick={pages.previous}>
          <ChevronLeft /> Previous
        </Button>
        <Button variant="outline" size="sm" disabled={!nextCursor} onClick={() => nextCursor && pages.next(nextCursor)}>
          Next <ChevronRight />
        </Button>
      </div>
    </div>
  );
}
