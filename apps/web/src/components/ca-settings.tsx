import { useEffect, useState } from 'react';
import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { Link2, Save } from 'lucide-react';
import { trpc, type RouterOutputs } from '../lib/trpc';
import {
  CA_URLS_MAX_PER_KIND,
  caRevocationUrls,
  caUrlsFormCheck,
  type CaRevocationUrls,
  type CaUrlsForm,
} from '../lib/pki';
import { formatDate } from '../lib/utils';
import { DefinitionList } from './page';
import { Alert, ErrorAlert } from './ui/alert';
import { Button } from './ui/button';
import { Card, CardContent, CardDescription, CardHeader, CardTitle } from './ui/card';
import { Field, Input, NativeSelect, Textarea } from './ui/input';
import { FormDialog } from './form-dialog';

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

const URL_MODES: Record<CaUrlsForm['mode'], { title: string; text: string }> = {
  base: { title: 'From one base', text: 'All three under this server (--base)' },
  each: { title: 'Each URL', text: 'One kind at a time (--crl, --ocsp, --aia)' },
  clear: { title: 'Remove its own URLs', text: "The server's public URL, or none (--clear)" },
};

/** each kind of URL a certificate carries: the form's field, its label, what it is for */
const URL_KINDS = [
  ['crl', 'CRL distribution points', "Where relying parties download the CA's CRL (DER)"],
  ['ocsp', 'OCSP responders', 'Where relying parties ask whether a certificate was revoked'],
  ['aia', 'CA issuers', "Where a relying party missing the chain downloads this CA's certificate"],
] as const;

/** one kind's URLs, one a line */
function UrlListField(p: {
  id: string;
  label: string;
  value: string;
  onChange: (v: string) => void;
  error?: string;
  hint: string;
}) {
  return (
    <Field label={p.label} htmlFor={p.id} error={p.error} hint={p.hint}>
      <Textarea
        id={p.id}
        className="min-h-14"
        rows={2}
        value={p.value}
        onChange={(e) => p.onChange(e.target.value)}
        aria-invalid={p.error ? true : undefined}
        spellCheck={false}
      />
    </Field>
  );
}

/**
 * `ca.setUrls`, as `pkim ca set-urls` takes it: a base URL (the certificates then carry `<base>/crl/<id>.crl`,
 * `<base>/ocsp` and `<base>/aia/<id>.crt`, all three answered by this server), each kind's URLs (a CDN's CRL, an
 * outside OCSP responder…), or the CA's own URLs removed. Each field says what is wrong before anything is sent.
 */
export function SetCaUrlsDialog(p: {
  ca: Pick<Ca, 'id' | 'name' | 'urls'>;
  open: boolean;
  onOpenChange: (o: boolean) => void;
}) {
  const qc = useQueryClient();
  const publicBaseUrl = usePublicBaseUrl();
  const current = caRevocationUrls(p.ca, publicBaseUrl);
  const [form, setForm] = useState<CaUrlsForm>({ mode: 'base', base: '', crl: '', ocsp: '', aia: '' });
  const set = (patch: Partial<CaUrlsForm>) => setForm((f) => ({ ...f, ...patch }));
  // each opening starts from what the CA's certificates carry now: its base (or the server's public URL, or the
  // console's address) and each kind's URLs; URLs set one by one open on "Each URL"
  useEffect(() => {
    if (!p.open) return;
    const lines = (xs: string[] | undefined) => (xs ?? []).join('\n');
    setForm({
      mode: p.ca.urls && !p.ca.urls.base ? 'each' : 'base',
      base: p.ca.urls?.base ?? publicBaseUrl ?? window.location.origin,
      crl: lines(current?.crlDistributionPoints),
      ocsp: lines(current?.ocspUrls),
      aia: lines(current?.caIssuersUrls),
    });
  }, [p.open]); // eslint-disable-line react-hooks/exhaustive-deps
  const setUrls = useMutation(
    trpc.ca.setUrls.mutationOptions({
      onSuccess: async () => {
        p.onOpenChange(false);
        await qc.invalidateQueries({ queryKey: trpc.ca.pathKey() });
      },
    }),
  );
  const check = caUrlsFormCheck(form);
  const shownBase = (form.base.trim() || 'https://pki.example.com').replace(/\/+$/, '');
  return (
    <FormDialog
      open={p.open}
      onOpenChange={p.onOpenChange}
      mutation={setUrls}
      title="Relying-party URLs"
      description="Where relying parties fetch this CA's CRL, ask OCSP and find its certificate."
      submitLabel={form.mode === 'clear' ? 'Remove URLs' : 'Set URLs'}
      destructive={form.mode === 'clear'}
      disabled={!check.input}
      onSubmit={() => check.input && setUrls.mutate({ ref: p.ca.id, ...check.input })}
    >
      <fieldset className="grid gap-2 sm:grid-cols-3" data-testid="ca-urls-mode">
        <legend className="mb-2 text-sm font-medium">What to set</legend>
        {(Object.keys(URL_MODES) as CaUrlsForm['mode'][]).map((m) => (
          // the label holds the title only: a field's label elsewhere in the form ("CA issuers") names no radio
          <div
            key={m}
            className={
              'flex flex-col gap-1 rounded-lg border p-3 has-[:checked]:border-primary has-[:checked]:bg-primary/5'
            }
          >
            <label className="flex cursor-pointer items-center gap-2 text-sm font-medium">
              <input
                type="radio"
                name="ca-urls-mode"
                checked={form.mode === m}
                onChange={() => set({ mode: m })}
                aria-describedby={`ca-urls-mode-${m}`}
              />
              {URL_MODES[m].title}
            </label>
            <span id={`ca-urls-mode-${m}`} className="text-xs text-muted-foreground">
              {URL_MODES[m].text}
            </span>
          </div>
        ))}
      </fieldset>
      {form.mode === 'base' ? (
        <Field
          label="Base URL"
          htmlFor="ca-urls-base"
          error={check.errors.base}
          hint={
            <>
              This server&apos;s address as relying parties reach it. The certificates get{' '}
              <code>
                {shownBase}/crl/{p.ca.id}.crl
              </code>
              , <code>{shownBase}/ocsp</code> and <code>…/aia/{p.ca.id}.crt</code>.
            </>
          }
        >
          <Input
            id="ca-urls-base"
            value={form.base}
            onChange={(e) => set({ base: e.target.value })}
            placeholder="https://pki.example.com"
            aria-invalid={check.errors.base ? true : undefined}
            spellCheck={false}
          />
        </Field>
      ) : null}
      {form.mode === 'each' ? (
        <>
          <p className="text-sm text-muted-foreground">
            One URL a line (http:// or https://), at most {CA_URLS_MAX_PER_KIND} of each; a kind left empty is carried
            by no certificate. A URL elsewhere than this server must serve what it does (a CDN in front, an outside OCSP
            responder).
          </p>
          {URL_KINDS.map(([field, label, hint]) => (
            <UrlListField
              key={field}
              id={`ca-urls-${field}`}
              label={label}
              value={form[field]}
              onChange={(v) => set({ [field]: v })}
              error={check.errors[field]}
              hint={hint}
            />
          ))}
          {check.errors.form ? (
            <p className="text-sm text-destructive" role="alert" data-testid="ca-urls-form-error">
              {check.errors.form}
            </p>
          ) : check.noRevocation ? (
            <Alert level="warning" title="No CRL or OCSP URL: relying parties cannot check revocation" />
          ) : null}
        </>
      ) : null}
      {form.mode === 'clear' ? (
        <p className="text-sm" data-testid="ca-urls-clear-effect">
          {publicBaseUrl
            ? `The CA's certificates then carry the URLs under the server's public URL (${publicBaseUrl}).`
            : "The server has no public URL: the CA's certificates then carry no CRL, OCSP or CA-issuers URL."}
        </p>
      ) : null}
      <p className="text-xs text-muted-foreground">
        Certificates issued before keep the URLs they carry. The same from the CLI:{' '}
        <code>pkim ca set-urls {p.ca.name} --base|--crl|--ocsp|--aia|--clear</code>.
      </p>
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
  // a CRL or the CA's certificate is a file a browser can fetch: a link, to check the endpoint a relying party uses;
  // an OCSP URL answers only a POSTed (or encoded) request, so it stays text
  const list = (xs: string[] | undefined, linked = false) =>
    xs?.length ? (
      <span className="grid gap-0.5">
        {xs.map((x) =>
          linked ? (
            <a key={x} href={x} target="_blank" rel="noreferrer" className="underline underline-offset-2">
              <code className="text-xs">{x}</code>
            </a>
          ) : (
            <code key={x} className="text-xs">
              {x}
            </code>
          ),
        )}
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
              ['CRL distribution points', list(urls?.crlDistributionPoints, true)],
              ['OCSP', list(urls?.ocspUrls)],
              ['CA issuers', list(urls?.caIssuersUrls, true)],
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
