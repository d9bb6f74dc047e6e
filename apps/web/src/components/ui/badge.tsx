import * as React from 'react';
import { cva, type VariantProps } from 'class-variance-authority';
import { cn } from '../../lib/utils';

const badgeVariants = cva('inline-flex items-center gap-1 rounded-full border px-2 py-0.5 text-xs font-medium', {
  variants: {
    variant: {
      default: 'border-transparent bg-primary/10 text-primary',
      secondary: 'border-transparent bg-secondary text-secondary-foreground',
      success: 'border-transparent bg-success/15 text-success',
      warning: 'border-transparent bg-warning/20 text-foreground',
      destructive: 'border-transparent bg-destructive/15 text-destructive',
      outline: 'text-foreground',
    },
  },
  defaultVariants: { variant: 'default' },
});

export function Badge({
  className,
  variant,
  ...props
}: React.HTMLAttributes<HTMLSpanElement> & VariantProps<typeof badgeVariants>) {
  return <span className={cn(badgeVariants({ variant }), className)} {...props} />;
}

const STATUS_VARIANT: Record<string, VariantProps<typeof badgeVariants>['variant']> = {
  active: 'success',
  issued: 'success',
  approved: 'success',
  pending: 'warning',
  disabled: 'secondary',
  expired: 'secondary',
  rejected: 'destructive',
  revoked: 'destructive',
  failure: 'destructive',
  success: 'success',
  healthy: 'success',
  unavailable: 'destructive',
  valid: 'success',
  invalid: 'destructive',
  deactivated: 'secondary',
  ready: 'warning',
  processing: 'warning',
  used: 'secondary',
  delivered: 'success',
  retrying: 'warning',
  failed: 'destructive',
};

export function StatusBadge({ status }: { status: string }) {
  return (
    <Badge variant={STATUS_VARIANT[status] ?? 'outline'} data-status={status}>
      {status}
    </Badge>
  );
}
