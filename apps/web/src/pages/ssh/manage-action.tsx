import type { LucideIcon } from 'lucide-react';
import { Plus } from 'lucide-react';
import { useMe } from '../../lib/auth';
import { Button } from '../../components/ui/button';

/** The button above a tab's table that opens its create dialog; shown only with `ssh:manage`. */
export function ManageAction({
  label,
  icon: Icon = Plus,
  onClick,
}: {
  label: string;
  icon?: LucideIcon;
  onClick: () => void;
}) {
  const { can } = useMe();
  if (!can('ssh:manage')) return null;
  return (
    <div className="flex justify-end">
      <Button onClick={onClick}>
        <Icon /> {label}
      </Button>
    </div>
  );
}
