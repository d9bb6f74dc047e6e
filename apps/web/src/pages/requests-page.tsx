import { useState } from 'react';
import { keepPreviousData, useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { Link } from '@tanstack/react-router';
import { Check, FileClock, Plus, X } from 'lucide-react';
import { trpc, type RouterOutputs } from '../lib/trpc';
import { useMe } from '../lib/auth';
import { formatDateTime } from '../lib/utils';
import { PageHeader } from '../components/page';
import { Button } from '../components/ui/button';
import { Card, CardContent } from '../components/ui/card';
import { Field, Input, NativeSelect } from '../components/ui/input';
import { StatusBadge } from '../components/ui/badge';
import { Table, TBody, TD, TH, THead, TR } from '../components/ui/table';
import { TableSkeleton } from '../components/ui/skeleton';
import { EmptyState } from '../components/ui/empty-state';
import { Alert, ErrorAlert } from '../components/ui/alert';
import { ConfirmDialog, Dialog, DialogContent } from '../components/ui/dialog';
import { CsrInput } from '../components/csr-input';
import { CaProfileFields, type CaProfileValue } from '../components/ca-profile-fields';

type Request = RouterOutputs['request']['list']['items'][number];
type Status = 'pending' | 'approved' | 'rejected' | 'issued';

function SubmitRequestDialog({ open, onOpenChange }: { open: boolean; onOpenChange: (o: boolean) => void }) {
  const qc = useQueryClient();
  const [target, setTarget] = useState<CaProfileValue>({ caId: '', profile: 'tls-server', validityDays: '' });
  const [csr, setCsr] = useState('');
  const submit = useMutation(
    trpc.request.submit.mutationOptions({
      onSuccess: () => qc.invalidateQueries({ queryKey: trpc.request.pathKey() }),
    }),
  );
  return (
    <Dialog
      open={open}
      onOpenChange={(o) => {
        onOpenChange(o);
        if (!o) submit.reset();
      }}
    >
      <DialogContent
        title="Request a certificate"
        description="An operator reviews the request; the certificate is issued when it is approved."
        className="max-w-2xl"
      >
        {submit.data ? (
          <Alert level="success" title={`Request ${submit.data.id} submitted`}>
            Status: {submit.data.status}
          </Alert>
        ) : (
          <form
            className="grid gap-4"
            onSubmit={(e) => {
              e.preventDefault();
              submit.mutate({
                ca: target.caId,
                profile: target.profile,
                csr,
                ...(target.validityDays ? { ttl: `${Number(target.validityDays)}d` } : {}),
              });
            }}
          >
            <CaProfileFields value={target} onChange={setTarget} idPrefix="req" />
            <CsrInput value={csr} onChange={setCsr} />
            <ErrorAlert error={submit.error} />
            <div className="flex justify-end">
              <Button type="submit" disabled={submit.isPending || !target.caId || !csr.trim()}>
                Submit request
              </Button>
            </div>
          </form>
        )}
      </DialogContent>
    </Dialog>
  );
}

export function RequestsPage() {
  const { can } = useMe();
  const qc = useQueryClient();
  const [status, setStatus] = useState<Status | ''>('pending');
  const [submitOpen, setSubmitOpen] = useState(false);
  // each opening of the request dialog is a new form: no CSR, preview or result of the last request
  const [submitKey, setSubmitKey] = useState(0);
  const [rejecting, setRejecting] = useState<Request | null>(null);
  const [reason, setReason] = useState('');
  const cas = useQuery(trpc.ca.list.queryOptions());
  const list = useQuery({
    ...trpc.request.list.queryOptions({ status: status || undefined, limit: 100 }),
    placeholderData: keepPreviousData,
  });
  const refresh = async () => {
    await qc.invalidateQueries({ queryKey: trpc.request.pathKey() });
    await qc.invalidateQueries({ queryKey: trpc.certificate.pathKey() });
    await qc.invalidateQueries({ queryKey: trpc.insights.pathKey() });
  };
  const approve = useMutation(trpc.request.approve.mutationOptions({ onSuccess: refresh }));
  const reject = useMutation(
    trpc.request.reject.mutationOptions({
      onSuccess: async () => {
        setRejecting(null);
        setReason('');
        await refresh();
      },
    }),
  );
  const caName = new Map((cas.data?.items ?? []).map((c) => [c.id, c.name]));
  return (
    <div>
      <PageHeader
        title="Certificate requests"
        description={can('request:review') ? 'Review what requesters asked for' : 'Your requests and their status'}
        actions={
          can('request:submit') ? (
            <Button
              onClick={() => {
                setSubmitKey((k) => k + 1);
                setSubmitOpen(true);
              }}
            >
              <Plus /> New request
            </Button>
          ) : null
        }
      />
      <ErrorAlert error={approve.error ?? reject.error} className="mb-4" />
      {approve.data ? (
        <Alert level="success" className="mb-4" title={`Approved ${approve.data.request.id}`}>
          Issued{' '}
          <Link to="/certificates/$certId" params={{ certId: approve.data.certificate.id }} className="underline">
            {approve.data.certificate.commonName ?? approve.data.certificate.serial}
          </Link>
        </Alert>
      ) : null}
      <Card>
        <div className="flex items-center gap-2 border-b p-3">
          <NativeSelect
            aria-label="Filter by status"
            className="w-auto"
            value={status}
            onChange={(e) => setStatus(e.target.value as Status | '')}
          >
            <option value="pending">Pending</option>
            <option value="issued">Issued</option>
            <option value="rejected">Rejected</option>
            <option value="">All</option>
          </NativeSelect>
        </div>
        <CardContent className="p-0">
          {list.error ? (
            <ErrorAlert error={list.error} className="m-4" />
          ) : !list.data ? (
            <TableSkeleton />
          ) : list.data.items.length === 0 ? (
            <EmptyState icon={FileClock} title={status === 'pending' ? 'No request waits for review' : 'No requests'} />
          ) : (
            <Table data-testid="requests-table">
              <THead>
                <TR>
                  <TH>Subject</TH>
                  <TH>Status</TH>
                  <TH className="hidden md:table-cell">CA / profile</TH>
                  <TH className="hidden md:table-cell">Requester</TH>
                  <TH className="hidden lg:table-cell">Submitted</TH>
                  <TH className="text-right">Actions</TH>
                </TR>
              </THead>
              <TBody>
                {list.data.items.map((r) => (
                  <TR key={r.id} data-request={r.id}>
                    <TD>
                      <code className="text-xs">{r.subject}</code>
                      {r.sans.dns?.length ? (
                        <div className="text-xs text-muted-foreground">{r.sans.dns.join(', ')}</div>
                      ) : null}
                      {r.reason ? <div className="text-xs text-destructive">{r.reason}</div> : null}
                    </TD>
                    <TD>
                      <StatusBadge status={r.status} />
                    </TD>
                    <TD className="hidden md:table-cell">
                      {caName.get(r.caId) ?? r.caId} · {r.profile}
                    </TD>
                    <TD className="hidden md:table-cell">{r.requester}</TD>
                    <TD className="hidden lg:table-cell">{formatDateTime(r.createdAt)}</TD>
                    <TD className="text-right">
                      {r.status === 'pending' && can('request:review') ? (
                        <div className="flex justify-end gap-2">
                          <Button size="sm" onClick={() => approve.mutate({ id: r.id })} disabled={approve.isPending}>
                            <Check /> Approve
                          </Button>
                          <Button size="sm" variant="outline" onClick={() => setRejecting(r)}>
                            <X /> Reject
                          </Button>
                        </div>
                      ) : r.certificateId && can('certificate:read') ? (
                        <Link
                          to="/certificates/$certId"
                          params={{ certId: r.certificateId }}
                          className="text-sm text-primary hover:underline"
                        >
                          Certificate →
                        </Link>
                      ) : null}
                    </TD>
                  </TR>
                ))}
              </TBody>
            </Table>
          )}
        </CardContent>
      </Card>
      <SubmitRequestDialog key={submitKey} open={submitOpen} onOpenChange={setSubmitOpen} />
      <ConfirmDialog
        open={!!rejecting}
        onOpenChange={(o) => !o && setRejecting(null)}
        title="Reject this request?"
        description={<code>{rejecting?.subject}</code>}
        confirmLabel="Reject request"
        pending={reject.isPending || !reason.trim()}
        onConfirm={() => rejecting && reject.mutate({ id: rejecting.id, reason: reason.trim() })}
      >
        <Field label="Reason (shown to the requester)" htmlFor="reject-reason">
          <Input id="reject-reason" value={reason} onChange={(e) => setReason(e.target.value)} />
        </Field>
      </ConfirmDialog>
    </div>
  );
}
