import { useEffect, useState } from 'react';
import { useMutation, useQueryClient } from '@tanstack/react-query';
import { Ban, FileArchive, RefreshCw, X } from 'lucide-react';
import { trpc, type RouterInputs } from '../lib/trpc';
import type { Permission } from '../lib/auth';
import { Button } from '../components/ui/button';
import { ErrorAlert } from '../components/ui/alert';
import { ValidityDaysField, validityDaysTtl } from '../components/form-fields';
import { FormDialog } from '../components/form-dialog';
import { RevokeDialog } from '../components/revoke-dialog';
import type { DialogMutation } from '../components/ui/dialog';
import { BulkJobCard, useBulkJob } from '../components/bulk-job';
import type { CertificatesSearch } from './certificates-page';

/** which certificates a batch acts on, as the API takes it: the ticked ones, or every one the filter matches */
export type BatchSelection = RouterInputs['bulk']['download'];

/** The certificates ticked on the list, or "all matching the filter" (never all certificates: a filter is needed). */
export interface Selection {
  ids: ReadonlySet<string>;
  allMatching: boolean;
}
export const NO_SELECTION: Selection = { ids: new Set(), allMatching: false };

/** the list's filters as a batch selection (the API refuses a batch without a criterion) */
export function filterSelection(s: CertificatesSearch): BatchSelection {
  return {
    ...(s.q ? { search: s.q } : {}),
    ...(s.status ? { status: s.status } : {}),
    ...(s.caId ? { ca: s.caId } : {}),
    ...(s.profile ? { profile: s.profile } : {}),
    ...(s.expiring ? { expiringWithin: s.expiring } : {}),
  };
}

type Action = 'revoke' | 'renew' | null;

/**
 * The actions on the selected certificates: Revoke (a reason, confirmed), Renew, Download ZIP. Each starts a bulk
 * job on the server; its progress and per-certificate outcomes show below the bar. Actions the role lacks are not
 * offered (the server checks again).
 */
export function BatchBar({
  selection,
  search,
  can,
  onClear,
}: {
  selection: Selection;
  search: CertificatesSearch;
  can: (p: Permission) => boolean;
  onClear: () => void;
}) {
  const qc = useQueryClient();
  const [action, setAction] = useState<Action>(null);
  const [jobId, setJobId] = useState<string | null>(null);
  const job = useBulkJob(jobId);
  const started = (j: { id: string }) => {
    setAction(null);
    setJobId(j.id);
    onClear();
  };
  const revoke = useMutation(trpc.bulk.revoke.mutationOptions({ onSuccess: started }));
  const renew = useMutation(trpc.bulk.renew.mutationOptions({ onSuccess: started }));
  const download = useMutation(trpc.bulk.download.mutationOptions({ onSuccess: started }));
  const finished = job.data && job.data.state !== 'running';
  useEffect(() => {
    if (finished) void qc.invalidateQueries({ queryKey: trpc.certificate.list.pathKey() });
  }, [finished]); // eslint-disable-line react-hooks/exhaustive-deps

  const target: BatchSelection = selection.allMatching ? filterSelection(search) : { refs: [...selection.ids] };
  const count = selection.allMatching ? 'all matching' : String(selection.ids.size);
  const what = `${count} certificate${selection.ids.size === 1 && !selection.allMatching ? '' : 's'}`;
  const any = selection.allMatching || selection.ids.size > 0;
  return (
    <>
      {any ? (
        <div
          className="mb-3 flex flex-wrap items-center gap-2 rounded-lg border bg-muted/40 p-2 text-sm"
          data-testid="batch-bar"
        >
          <span className="px-2 font-medium">{what} selected</span>
          <Button variant="ghost" size="sm" onClick={onClear}>
            <X /> Clear
          </Button>
          <div className="ml-auto flex flex-wrap gap-2">
            <Button variant="outline" size="sm" disabled={download.isPending} onClick={() => download.mutate(target)}>
              <FileArchive /> Download ZIP
            </Button>
            {can('certificate:issue') ? (
              <Button variant="outline" size="sm" onClick={() => setAction('renew')}>
                <RefreshCw /> Renew
              </Button>
            ) : null}
            {can('certificate:revoke') ? (
              <Button variant="destructive" size="sm" onClick={() => setAction('revoke')}>
                <Ban /> Revoke
              </Button>
            ) : null}
          </div>
        </div>
      ) : null}
      <ErrorAlert error={download.error ?? job.error} className="mb-3" />
      {job.data ? (
        <div className="mb-3">
          <BulkJobCard job={job.data} />
        </div>
      ) : null}
      <RevokeDialog
        id="batch-revoke-reason"
        open={action === 'revoke'}
        onOpenChange={(o) => setAction(o ? 'revoke' : null)}
        mutation={revoke}
        title={`Revoke ${what}?`}
        description="Each is listed on its CA's CRL and reported revoked by OCSP. Revocation cannot be undone."
        confirmLabel="Revoke certificates"
        onConfirm={(reason) => revoke.mutate({ ...target, reason })}
      />
      <RenewDialog
        open={action === 'renew'}
        onOpenChange={(o) => setAction(o ? 'renew' : null)}
        what={what}
        mutation={renew}
        onSubmit={(o) => renew.mutate({ ...target, ...o })}
      />
    </>
  );
}

/**
 * Renew: each certificate again with its subject, names, profile and CA and a new server-generated key, or its old key
 * when "reuse" is ticked (profiles with allowKeyReuse, keys the server kept: the server checks every certificate
 * before it renews one); a validity in days (empty: each profile's default, within its cap), the old ones revoked as
 * superseded if asked.
 */
function RenewDialog({
  what,
  onSubmit,
  ...props
}: {
  open: boolean;
  onOpenChange: (open: boolean) => void;
  what: string;
  mutation: DialogMutation;
  onSubmit: (o: { revokeOld: boolean; reuseKey?: boolean; ttl?: string }) => void;
}) {
  const [revokeOld, setRevokeOld] = useState(false);
  const [reuseKey, setReuseKey] = useState(false);
  const [validityDays, setValidityDays] = useState('');
  const validity = validityDaysTtl(validityDays);
  return (
    <FormDialog
      {...props}
      title={`Renew ${what}?`}
      description={
        'Each gets a new certificate with the same subject, names, profile and CA, and ' +
        (reuseKey ? 'its existing key.' : 'a new key.')
      }
      submitLabel="Renew certificates"
      disabled={validity.error !== null}
      onSubmit={() =>
        onSubmit({ revokeOld, ...(reuseKey ? { reuseKey } : {}), ...(validity.ttl ? { ttl: validity.ttl } : {}) })
      }
    >
      <ValidityDaysField
        id="batch-renew-validity"
        hint="Empty: each profile's default"
        value={validityDays}
        onChange={setValidityDays}
      />
      <label className="flex items-center gap-2 text-sm">
        <input type="checkbox" checked={revokeOld} onChange={(e) => setRevokeOld(e.target.checked)} />
        Revoke the old certificates as superseded
      </label>
      <label className="flex items-center gap-2 text-sm">
        <input type="checkbox" checked={reuseKey} onChange={(e) => setReuseKey(e.target.checked)} />
        Reuse the existing keys (profiles that allow it, keys the server kept; none renewed if one cannot)
      </label>
    </FormDialog>
  );
}
