import type { LucideIcon } from 'lucide-react';
import { Plus } from 'lucide-react';
import { useMe, type Permission } from '../lib/auth';
import { Button } from './ui/button';

/**
 * The button above a table that opens its create dialog, shown only to an actor with `permission` (the server checks
 * again; this only hides what would fail).
 */
export function ManageAction({
  label,
  permission,
  icon: Icon = Plus,
  disabled,
  onClick,
}: {
  label: string;
  permission: Permission;
  icon?: LucideIcon;
  disabled?: boolean;
  onClick: () => void;
}) {
  const { can } = useMe();
  if (!can(permission)) return null;
  return (
    <div className="flex justify-end">
      <Button disabled={disabled} onClick={onClick}>
        <Icon /> {label}
      </Button>
    </div>
  );
}
