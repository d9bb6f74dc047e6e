import * as React from 'react';
import { REVOCATION_REASON_OPTIONS, type RevocationReason } from '../lib/pki';
import { ConfirmDialog, type DialogMutation } from './ui/dialog';
import { SelectField } from './form-fields';

/**
 * The confirmation of a revocation (a certificate, a batch of them, a CA) with its RFC 5280 reason picker: nothing
 * is revoked until the user confirms; the API error stays in the dialog.
 */
export function RevokeDialog({
  id,
  open,
  onOpenChange,
  mutation,
  title,
  description,
  confirmLabel,
  onConfirm,
}: {
  /** the id of the reason field (unique on the page) */
  id: string;
  open: boolean;
  onOpenChange: (open: boolean) => void;
  mutation: DialogMutation;
  title: string;
  description: React.ReactNode;
  confirmLabel: string;
  onConfirm: (reason: RevocationReason) => void;
}) {
  const [reason, setReason] = React.useState<RevocationReason>('unspecified');
  return (
    <ConfirmDialog
      open={open}
      onOpenChange={onOpenChange}
      mutation={mutation}
      title={title}
      description={description}
      confirmLabel={confirmLabel}
      onConfirm={() => onConfirm(reason)}
    >
      <SelectField id={id} label="Reason" value={reason} onChange={setReason} options={REVOCATION_REASON_OPTIONS} />
    </ConfirmDialog>
  );
}
