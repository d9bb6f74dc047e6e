import { useEffect, useState } from 'react';
import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { Link2, Save } from 'lucide-react';
import { trpc, type RouterOutputs } from '../lib/trpc';
import { caRevocationUrls, type CaRevocationUrls } from '../lib/pki';
import { formatDate } from '../lib/utils';
import { DefinitionList } from './page';
import { Alert, ErrorAlert } from './ui/alert';
import { Button } from './ui/button';
import { Card, CardContent, CardDescription, CardHeader, CardTitle } from './ui/card';
import { Field, NativeSelect } from './ui/input';
import { FormDialog } from './form-dialog';
import { TextField } from './form-fields';

type Ca = RouterOutputs['ca']['get'];
type LeafNotAfter = Ca['leafNotAfterBehavior'];

/** the server's public URL (`system.info`): null when it has none, undefined while unknown */
function usePublicBaseUrl(): string | null | undefined {
  const info = useQuery(trpc.system.info.queryOptions());
  return info.data ? info.data.publicBaseUrl : undefined;
}

/** the URLs the CA's certificates carry (lib/pki.ts caRevocationUrls); null while not known */
export function useCaRevocationUrls(ca: Pick<Ca, 'id' | 'urls'>): CaRevocationUrls | null {
  return caRevocationUrls(ca, usePublicBaseUrl());
}

/**
 * The warning of a CA whose certificates carry neither a CRL nor an OCSP URL (the server logs it once as
 * `ca.no_urls`): relying parties cannot learn of a revocation. Says why and what to do.
 */
export function CaNoUrlsAlert(p: { ca: Pick<Ca, 'name'>; urls: CaRevocationUrls; onSetUrls?: () => void }) {
  return (
    <div data-testid="ca-no-urls">
      <Alert level="warning" title="Certificates this CA issues carry no CRL or OCSP URL">
        Relying parties cannot check whether one was revoked: a revocation here reaches nobody.{' '}
        {p.urls.source === 'none'
          ? 'The server had no public URL (PKIM_PUBLIC_URL, publicUrl in the config file) when the CA was made, ' +
            'and has none now. '
          : 'Its own URLs were set without either. '}
        Set its URLs — a base URL where relying parties reach this server gives all three (CRL, OCSP, CA issuers) — here
        or with <code>pkim ca set-urls {p.ca.name} --base https://pki.example.com</code>. With the server&apos;s public
        URL set, CAs made afterwards get theirs by themselves. Certificates issued before keep what they carry: renew
        them once the URLs are set.
        {p.onSetUrls ? (
          <div className="mt-2">
            <Button size="sm" onClick={p.onSetUrls}>
              <Link2 /> Set URLs
            </Button>
          </div>
        ) : null}
      </Alert>
    </div>
  );
}

/**
 * `ca.setUrls` with a base URL: the CA's certificates then carry `<base>/crl/<id>.crl`, `<base>/ocsp` and
 * `<base>/aia/<id>.crt` (all three answered by this server). Lists of other URLs: `pkim ca set-urls`.
 */
export function SetCaUrlsDialog(p: { ca: Pick<Ca, 'id' | 'urls'>; open: boolean; onOpenChange: (o: boolean) => void }) {
  const qc = useQueryClient();
  const publicBaseUrl = usePublicBaseUrl();
  const [base, setBase] = useState('');
  // each opening starts from the CA's base, the server's public URL or the console's address (the page opens it)
  useEffect(() => {
    if (p.open) setBase(p.ca.urls?.base ?? publicBaseUrl ?? window.location.origin);
  }, [p.open]); // eslint-disable-line react-hooks/exhaustive-deps
  const setUrls = useMutation(
    trpc.ca.setUrls.mutationOptions({
      onSuccess: async () => {
        p.onOpenChange(false);
        await qc.invalidateQueries({ queryKey: trpc.ca.pathKey() });
      },
    }),
  );
  const valid = /^https?:\/\/[^\s/?#]+(\/\S*)?$/i.test(base.trim());
  return (
    <FormDialog
      open={p.open}
      onOpenChange={p.onOpenChange}
      mutation={setUrls}
      title="Relying-party URLs"
      description="Where relying parties fetch this CA's CRL, ask OCSP and find its certificate."
      submitLabel="Set URLs"
      disabled={!valid}
      onSubmit={() => setUrls.mutate({ ref: p.ca.id, base: base.trim() })}
    >
      <TextField
        id="ca-urls-base"
        label="Base URL"
        value={base}
        onChange={setBase}
        placeholder="https://pki.example.com"
        required
        hint={
          <>
            This server&apos;s address as relying parties reach it. The certificates get{' '}
            <code>
              {(base.trim() || 'https://pki.example.com').replace(/\/+$/, '')}/crl/{p.ca.id}.crl
            </code>
            , <code>…/ocsp</code> and <code>…/aia/{p.ca.id}.crt</code>; certificates issued before keep theirs.
          </>
        }
      />
    </FormDialog>
  );
}

const LEAF_NOT_AFTER: Record<LeafNotAfter, { label: string; text: (end: string) => string }> = {
  err: {
    label: 'Refuse it (default)',
    text: () => 'Nothing is issued; the request fails with lint.lifetime_beyond_issuer.',
  },
  truncate: {
    label: 'End it with the CA',
    text: (end) => `The certificate is issued and ends with the CA (${end}).`,
  },
  permit: {
    label: 'Sign it as asked',
    text: () =>
      'The certificate outlives the CA; relying parties reject its chain once the CA has expired (RFC 5280 checks ' +
      "every certificate's dates), unless the CA is renewed with the same key in time.",
  },
};

/** `ca.setLeafNotAfterBehavior`: what a certificate asked to end after the CA gets, on every channel */
function LeafNotAfterSetting({ ca, canWrite }: { ca: Ca; canWrite: boolean }) {
  const qc = useQueryClient();
  const [value, setValue] = useState<LeafNotAfter>(ca.leafNotAfterBehavior);
  const save = useMutation(
    trpc.ca.setLeafNotAfterBehavior.mutationOptions({
      onSuccess: async (row) => {
        setValue(row.leafNotAfterBehavior);
        await qc.invalidateQueries({ queryKey: trpc.ca.pathKey() });
      },
    }),
  );
  const end = ca.notAfter ? formatDate(ca.notAfter) : "the CA's end";
  const changed = value !== ca.leafNotAfterBehavior;
  return (
    <section className="space-y-3" data-testid="ca-leaf-not-after" data-value={ca.leafNotAfterBehavior}>
      <h3 className="text-sm font-medium">A certificate asked to end after this CA</h3>
      <p className="text-sm text-muted-foreground">
        A certificate never gets a default lifetime past the CA&apos;s end ({end}): it is cut there. This is for a
        lifetime asked for (a validity, <code>--ttl</code>) that runs past it — on every channel: console, CLI, REST,
        ACME, the Vault API, renewals.
      </p>
      <form
        className="flex flex-wrap items-end gap-3"
        onSubmit={(e) => {
          e.preventDefault();
          save.mutate({ ref: ca.id, behavior: value });
        }}
      >
        <Field label="When asked past the CA's end" htmlFor="ca-leaf-not-after" className="min-w-64">
          <NativeSelect
            id="ca-leaf-not-after"
            value={value}
            disabled={!canWrite}
            onChange={(e) => setValue(e.target.value as LeafNotAfter)}
          >
            {(Object.keys(LEAF_NOT_AFTER) as LeafNotAfter[]).map((b) => (
              <option key={b} value={b}>
                {LEAF_NOT_AFTER[b].label}
              </option>
            ))}
          </NativeSelect>
        </Field>
        {canWrite ? (
          <Button type="submit" variant={changed ? 'default' : 'outline'} disabled={!changed || save.isPending}>
            <Save /> {save.isPending ? 'Saving…' : 'Save'}
          </Button>
        ) : null}
      </form>
      <p className="text-sm" data-testid="ca-leaf-not-after-effect">
        {LEAF_NOT_AFTER[value].text(end)}
      </p>
      <ErrorAlert error={save.error} />
    </section>
  );
}

/** The CA's settings: the relying-party URLs its certificates carry, and its leaves' end against its own. */
export function CaSettingsCard(p: { ca: Ca; urls: CaRevocationUrls | null; canWrite: boolean; onSetUrls: () => void }) {
  const { ca, urls } = p;
  const list = (xs: string[] | undefined) =>
    xs?.length ? (
      <span className="grid gap-0.5">
        {xs.map((x) => (
          <code key={x} className="text-xs">
            {x}
          </code>
        ))}
      </span>
    ) : (
      <span className="text-muted-foreground">none</span>
    );
  return (
    <Card>
      <CardHeader>
        <CardTitle>Settings</CardTitle>
        <CardDescription>
          What the certificates this CA issues carry, and how their end is held to its own
        </CardDescription>
      </CardHeader>
      <CardContent className="space-y-6">
        <section className="space-y-3" data-testid="ca-urls" data-source={urls?.source ?? 'unknown'}>
          <h3 className="text-sm font-medium">Relying-party URLs</h3>
          <DefinitionList
            items={[
              ['CRL distribution points', list(urls?.crlDistributionPoints)],
              ['OCSP', list(urls?.ocspUrls)],
              ['CA issuers', list(urls?.caIssuersUrls)],
              [
                'From',
                urls === null
                  ? 'not known'
                  : urls.source === 'ca'
                    ? 'this CA’s own setting'
                    : urls.source === 'server'
                      ? 'the server’s public URL (this CA has none of its own)'
                      : 'nowhere: neither this CA nor the server has any',
              ],
            ]}
          />
          {p.canWrite ? (
            <Button variant="outline" size="sm" onClick={p.onSetUrls}>
              <Link2 /> Set URLs
            </Button>
          ) : null}
        </section>
        <LeafNotAfterSetting key={ca.leafNotAfterBehavior} ca={ca} canWrite={p.canWrite} />
      </CardContent>
    </Card>
  );
}
