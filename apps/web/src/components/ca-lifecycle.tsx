import { useState } from 'react';
import { useMutation, useQueryClient } from '@tanstack/react-query';
import { Link } from '@tanstack/react-router';
import { trpc, type RouterOutputs } from '../lib/trpc';
import { CA_KEY_TYPES } from '../lib/pki';
import { formatDate, formatDateTime } from '../lib/utils';
import { DefinitionList } from './page';
import { Button } from './ui/button';
import { Alert } from './ui/alert';
import { FormDialog } from './form-dialog';
import { SelectField, TextField } from './form-fields';
import { PemBlock } from './pem-block';

type CaView = RouterOutputs['ca']['get'];

type LifecycleInput = Pick<CaView, 'status' | 'parentId' | 'issuer' | 'subject' | 'chainPem'>;

/** past its certificate's end: the server reads its status `expired` from its dates; the renewal repairs it */
export function caExpired(ca: Pick<CaView, 'status' | 'notAfter'>): boolean {
  return ca.status === 'expired' || (ca.notAfter !== null && Date.parse(ca.notAfter) <= Date.now());
}
/** the parts of a CA's parent that decide whether it can sign the CA's next certificate */
export interface ParentState {
  name: string;
  status: string;
  notAfter: string | null;
}

/**
 * A root here whose certificate an outside CA signed (`ca import`, import-existing with an outside chain): the
 * server's `checkSignedHere` refuses its renewal and rotation (`ca.externally_signed`). No parent here, and an issuer
 * other than itself or an outside chain served after it.
 */
export function caSignedOutside(ca: LifecycleInput): boolean {
  if (ca.parentId !== null || ca.status === 'pending') return false;
  return ca.issuer !== ca.subject || (ca.chainPem.match(/-----BEGIN CERTIFICATE-----/g) ?? []).length > 1;
}

/** why the server would refuse to renew or rotate a CA (its code), and what to do instead */
export interface LifecycleBlock {
  code: 'ca.not_active' | 'ca.externally_signed';
  reason: string;
  todo: string;
  /** where the next step is done, when it is on another page */
  next?: 'create' | 'create-external';
}

/**
 * Why a CA can be neither renewed nor rotated here — the refusals of `ca.renew` / `ca.rotate` (so the page offers
 * neither action) — with what to do instead; undefined when it can. `parent` is the CA's parent here, when known.
 */
export function caLifecycleBlock(ca: LifecycleInput, parent?: ParentState): LifecycleBlock | undefined {
  const notActive = 'ca.not_active' as const;
  if (ca.status === 'revoked')
    return {
      code: notActive,
      reason: 'The CA is revoked',
      todo: 'A revoked CA is never renewed or rotated: create a new CA to take its place.',
      next: 'create',
    };
  if (ca.status === 'pending')
    return {
      code: notActive,
      reason: 'The CA has no certificate yet',
      todo: 'Import the certificate its outside CA signs (below) first.',
    };
  if (caSignedOutside(ca))
    return {
      code: 'ca.externally_signed',
      reason: `The CA was signed by an outside CA (${ca.issuer})`,
      todo:
        'Its certificates come from that CA, not from here: to renew or replace it, create a CA for the outside CA ' +
        'to sign (its key is made here, you get its CSR), have the outside CA sign the CSR, then import the ' +
        "certificate on the new CA's page.",
      next: 'create-external',
    };
  if (ca.status === 'disabled')
    return {
      code: notActive,
      reason: 'The CA is disabled',
      todo: 'Enable it first (Enable, above), then renew its certificate or rotate its key.',
    };
  const parentExpired =
    parent && (parent.status === 'expired' || (!!parent.notAfter && Date.parse(parent.notAfter) <= Date.now()));
  if (parent && parent.status !== 'active' && !parentExpired)
    return {
      code: notActive,
      reason: `Its parent ${parent.name} is ${parent.status}`,
      todo: `Its parent signs its next certificate: ${parent.status === 'disabled' ? 'enable' : 'replace'} ${
        parent.name
      } first.`,
    };
  if (parent && parentExpired)
    return {
      code: notActive,
      reason: `Its parent ${parent.name} has expired`,
      todo: `Its parent signs its next certificate: renew ${parent.name} first.`,
    };
  return undefined;
}

/** the validity field: whole days, empty for the server's default */
function daysInput(v: string): { validityDays?: number } {
  const n = Number(v.trim());
  return v.trim() && Number.isInteger(n) && n > 0 ? { validityDays: n } : {};
}

const invalidateAll = async (qc: ReturnType<typeof useQueryClient>) => {
  await qc.invalidateQueries({ queryKey: trpc.ca.pathKey() });
  await qc.invalidateQueries({ queryKey: trpc.insights.pathKey() });
};

/** `ca.renew`: a new certificate for the CA's own key (same subject and SKI), a new serial and validity */
export function RenewCaDialog(p: { ca: CaView; open: boolean; onOpenChange(open: boolean): void }) {
  const qc = useQueryClient();
  const [days, setDays] = useState('');
  const renew = useMutation(trpc.ca.renew.mutationOptions({ onSuccess: () => invalidateAll(qc) }));
  const done = renew.data;
  const fileBase = p.ca.name.replace(/[^A-Za-z0-9._-]+/g, '_');
  return (
    <FormDialog
      open={p.open}
      onOpenChange={(open) => {
        if (!open) setDays('');
        p.onOpenChange(open);
      }}
      mutation={renew}
      title={`Renew the certificate of ${p.ca.name}`}
      description={
        caExpired(p.ca)
          ? `Its certificate expired on ${formatDate(p.ca.notAfter)}. A new certificate for the same key ` +
            `(${p.ca.parentId ? 'signed by its parent' : 'self-signed'}) makes it active again: it signs again, ` +
            'and what it issued verifies again under the new certificate (until each one’s own end).'
          : p.ca.parentId
            ? 'A new certificate for the same key, signed by its parent; what it issued stays valid under it.'
            : 'A new self-signed certificate for the same key; what it issued stays valid under it.'
      }
      submitLabel="Renew certificate"
      onSubmit={() => renew.mutate({ ref: p.ca.id, ...daysInput(days) })}
      result={
        done ? (
          <div className="grid gap-4" data-testid="ca-renewed">
            <Alert level="success" title="Renewed: the CA's current certificate is the new one" />
            <DefinitionList
              items={[
                ['Serial', <code key="s">{done.serial}</code>],
                ['Valid from', <span key="f">{formatDateTime(done.notBefore)}</span>],
                ['Valid until', <span key="u">{formatDateTime(done.notAfter)}</span>],
              ]}
            />
            {done.certificatePem ? (
              <PemBlock pem={done.certificatePem} filename={`${fileBase}-renewed.crt`} label="New CA certificate" />
            ) : null}
            <div className="flex justify-end">
              <Button onClick={() => p.onOpenChange(false)}>Done</Button>
            </div>
          </div>
        ) : undefined
      }
    >
      <TextField
        id="ca-renew-days"
        label="Validity (days)"
        hint="Empty: as long as the current one (an intermediate's ends with its parent's at the latest)"
        inputMode="numeric"
        value={days}
        onChange={setDays}
      />
    </FormDialog>
  );
}

/** what a rotation makes: for an intermediate, a root, an expired root (no cross certificate) */
function rotateText(ca: CaView): string {
  const stays = 'This CA stays active until you disable it.';
  if (ca.parentId) return `A successor CA with a new key and the same subject, signed by the parent. ${stays}`;
  if (caExpired(ca))
    return (
      'A successor root with a new key and the same subject. This root has expired: it signs no cross certificate, ' +
      'so relying parties must be given the successor root itself.'
    );
  return (
    'A successor root with a new key and the same subject, and a cross certificate: the new key signed by this ' +
    `root, so relying parties that trust only this root verify what the successor issues. ${stays}`
  );
}

/** `ca.rotate`: a successor CA with a new key; a root's with a cross certificate signed by the old root */
export function RotateCaDialog(p: { ca: CaView; open: boolean; onOpenChange(open: boolean): void }) {
  const qc = useQueryClient();
  const keyTypes = CA_KEY_TYPES as readonly string[];
  // the form's first values: the successor named `<name>-2`, the old key type (the server's defaults too)
  const [name, setName] = useState(`${p.ca.name}-2`);
  const [keyType, setKeyType] = useState<string>(keyTypes.includes(p.ca.keyType) ? p.ca.keyType : 'ec-p256');
  const [days, setDays] = useState('');
  const rotate = useMutation(trpc.ca.rotate.mutationOptions({ onSuccess: () => invalidateAll(qc) }));
  const done = rotate.data;
  return (
    <FormDialog
      open={p.open}
      onOpenChange={(open) => {
        if (!open) {
          setName(`${p.ca.name}-2`);
          setKeyType(keyTypes.includes(p.ca.keyType) ? p.ca.keyType : 'ec-p256');
          setDays('');
        }
        p.onOpenChange(open);
      }}
      mutation={rotate}
      title={`Rotate the key of ${p.ca.name}`}
      description={rotateText(p.ca)}
      submitLabel="Rotate key"
      disabled={!name.trim()}
      onSubmit={() =>
        rotate.mutate({
          ref: p.ca.id,
          name: name.trim(),
          keyType: keyType as (typeof CA_KEY_TYPES)[number],
          ...daysInput(days),
        })
      }
      result={
        done ? (
          <div className="grid gap-4" data-testid="ca-rotated">
            <Alert level="success" title={`Rotated: ${done.name} succeeds ${done.predecessor.name}`} />
            <DefinitionList
              items={[
                [
                  'Successor',
                  <Link
                    key="n"
                    to="/cas/$caId"
                    params={{ caId: done.id }}
                    className="font-medium hover:underline"
                    onClick={() => p.onOpenChange(false)}
                  >
                    {done.name}
                  </Link>,
                ],
                ['Key', `${done.keyType} (${done.keyBackend})`],
                ['Valid from', <span key="f">{formatDateTime(done.notBefore)}</span>],
                ['Valid until', <span key="u">{formatDateTime(done.notAfter)}</span>],
              ]}
            />
            {done.crossCertificatePem ? (
              <PemBlock
                pem={done.crossCertificatePem}
                filename={`${done.name.replace(/[^A-Za-z0-9._-]+/g, '_')}-cross.crt`}
                label="Cross certificate (the new key signed by the old root)"
              />
            ) : null}
            <div className="flex justify-end">
              <Button onClick={() => p.onOpenChange(false)}>Done</Button>
            </div>
          </div>
        ) : undefined
      }
    >
      <TextField id="ca-rotate-name" label="Successor's name" value={name} onChange={setName} required />
      <SelectField id="ca-rotate-key" label="Key type" value={keyType} onChange={setKeyType} options={[...keyTypes]} />
      <TextField
        id="ca-rotate-days"
        label="Validity (days)"
        hint="Empty: the server's default for a CA (an intermediate's ends with its parent's at the latest)"
        inputMode="numeric"
        value={days}
        onChange={setDays}
      />
    </FormDialog>
  );
}
