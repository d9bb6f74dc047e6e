import { useEffect, useRef, useState } from 'react';
import { useMutation, useQuery, useQueryClient, useSuspenseQuery } from '@tanstack/react-query';
import { Link, useNavigate, useSearch } from '@tanstack/react-router';
import { Check, ChevronLeft, ChevronRight, Import } from 'lucide-react';
import { trpc, type RouterInputs } from '../lib/trpc';
import { CA_KEY_TYPES } from '../lib/pki';
import { cn } from '../lib/utils';
import { DefinitionList, PageHeader } from '../components/page';
import { Button } from '../components/ui/button';
import { Card, CardContent } from '../components/ui/card';
import { Field, Input, NativeSelect } from '../components/ui/input';
import { Alert, ErrorAlert } from '../components/ui/alert';

type CreateInput = RouterInputs['ca']['create'];
/** root and intermediate are signed here; an external CA's key is made here and its CSR signed by an outside CA */
type Kind = 'root' | 'intermediate' | 'external';
const KINDS: Record<Kind, { title: string; text: string }> = {
  root: { title: 'Root CA', text: 'Self-signed trust anchor; keep it offline-ish and issue from intermediates.' },
  intermediate: { title: 'Intermediate CA', text: 'Signed by a CA here; issues end-entity certificates.' },
  external: {
    title: 'Signed by an outside CA',
    text: 'The key is made here; you get a CSR for an outside CA and import the certificate it signs.',
  },
};
const STEPS = ['Type', 'Subject', 'Key', 'Constraints', 'Review'] as const;
const list = (s: string) =>
  s
    .split(/[\s,]+/)
    .map((x) => x.trim())
    .filter(Boolean);

export function CreateCaPage() {
  const search = useSearch({ from: '/app/cas/new' });
  const navigate = useNavigate();
  const qc = useQueryClient();
  const {
    data: { items: cas },
  } = useSuspenseQuery(trpc.ca.list.queryOptions());
  const health = useSuspenseQuery(trpc.system.health.queryOptions()).data;
  // the server's public URL: a new CA's certificates carry CRL, OCSP and CA-issuer URLs under it (none without one)
  const publicBaseUrl = useQuery(trpc.system.info.queryOptions()).data?.publicBaseUrl;
  const parents = cas.filter((c) => c.status === 'active');
  const [step, setStep] = useState(0);
  const [kind, setKind] = useState<Kind>(search.kind ?? (search.parentId ? 'intermediate' : 'root'));
  const [parentId, setParentId] = useState(search.parentId ?? parents[0]?.id ?? '');
  const [name, setName] = useState('');
  const [cn_, setCn] = useState('');
  const [org, setOrg] = useState('');
  const [country, setCountry] = useState('');
  const [keyType, setKeyType] = useState<(typeof CA_KEY_TYPES)[number]>('ec-p384');
  const [backend, setBackend] = useState<'software' | 'pkcs11' | 'kmip'>('software');
  const [validityDays, setValidityDays] = useState('');
  const [pathLen, setPathLen] = useState('');
  const [permittedDns, setPermittedDns] = useState('');
  const [excludedDns, setExcludedDns] = useState('');

  const onCreated = async (ca: { id: string }) => {
    await qc.invalidateQueries({ queryKey: trpc.ca.pathKey() });
    await qc.invalidateQueries({ queryKey: trpc.insights.pathKey() });
    await navigate({ to: '/cas/$caId', params: { caId: ca.id } });
  };
  const createHere = useMutation(trpc.ca.create.mutationOptions({ onSuccess: onCreated }));
  const createExternal = useMutation(trpc.ca.createExternal.mutationOptions({ onSuccess: onCreated }));
  const external = kind === 'external';
  const create = external ? createExternal : createHere;

  const input: CreateInput = {
    name: name.trim(),
    subject: {
      commonName: cn_.trim(),
      ...(org.trim() ? { organization: org.trim() } : {}),
      ...(country.trim() ? { country: country.trim().toUpperCase() } : {}),
    },
    keyType,
    backend,
    ...(kind === 'intermediate' && parentId ? { parent: parentId } : {}),
    // the outside CA sets an external CA's dates: no lifetime is sent (the server would refuse it)
    ...(validityDays && !external ? { ttl: `${Number(validityDays)}d` } : {}),
    ...(pathLen !== '' ? { pathLen: Number(pathLen) } : {}),
    ...(permittedDns || excludedDns
      ? {
          nameConstraints: {
            ...(permittedDns ? { permittedDns: list(permittedDns) } : {}),
            ...(excludedDns ? { excludedDns: list(excludedDns) } : {}),
          },
        }
      : {}),
  };
  const stepValid = [
    kind !== 'intermediate' || !!parentId,
    name.trim().length > 0 && cn_.trim().length > 0 && (!country || /^[A-Za-z]{2}$/.test(country)),
    true,
    (external || !validityDays || Number(validityDays) > 0) && (pathLen === '' || Number(pathLen) >= 0),
    true,
  ];
  const availableBackends = health.keyBackends.map((k) => k.backend);
  // a step shown by Next or Back puts the focus on its first field (the review: on the button that creates the
  // CA), so the keyboard goes on where the eyes do; the first step keeps the page's own focus
  const form = useRef<HTMLFormElement>(null);
  const submitButton = useRef<HTMLButtonElement>(null);
  const shownStep = useRef(step);
  useEffect(() => {
    if (shownStep.current === step) return;
    shownStep.current = step;
    if (step === STEPS.length - 1) submitButton.current?.focus();
    else form.current?.querySelector<HTMLElement>('input:not([type=radio]), select, input:checked')?.focus();
  }, [step]);

  return (
    <div className="mx-auto max-w-3xl">
      <PageHeader
        title="Create a certificate authority"
        description="A root, an intermediate signed by one of your CAs, or one an outside CA signs"
        actions={
          <Button variant="outline" asChild>
            <Link to="/cas/import">
              <Import /> Import an existing CA
            </Link>
          </Button>
        }
      />
      <ol className="mb-6 flex flex-wrap gap-2" aria-label="Steps">
        {STEPS.map((s, i) => (
          <li
            key={s}
            aria-current={i === step ? 'step' : undefined}
            className={cn(
              'flex items-center gap-2 rounded-full border px-3 py-1 text-xs font-medium',
              i === step ? 'border-primary bg-primary/10 text-primary' : 'text-muted-foreground',
            )}
          >
            <span className="tabular-nums">{i < step ? <Check className="size-3" /> : i + 1}</span> {s}
          </li>
        ))}
      </ol>
      <Card>
        <CardContent className="grid gap-5 pt-5">
          <form
            ref={form}
            className="grid gap-5"
            onSubmit={(e) => {
              e.preventDefault();
              if (!stepValid[step]) return;
              if (step < STEPS.length - 1) setStep(step + 1);
              else if (external) {
                const { name: n, subject, keyType: k, backend: b, pathLen: p, nameConstraints: nc } = input;
                createExternal.mutate({ name: n, subject, keyType: k, backend: b, pathLen: p, nameConstraints: nc });
              } else createHere.mutate(input);
            }}
          >
            {step === 0 ? (
              <>
                <fieldset className="grid gap-3 sm:grid-cols-3">
                  <legend className="mb-2 text-sm font-medium">What kind of CA?</legend>
                  {(['root', 'intermediate', 'external'] as const).map((k) => (
                    <label
                      key={k}
                      className={cn(
                        'flex cursor-pointer flex-col gap-1 rounded-lg border p-4 ' +
                          'has-[:checked]:border-primary has-[:checked]:bg-primary/5',
                      )}
                    >
                      <span className="flex items-center gap-2 font-medium">
                        <input type="radio" name="kind" value={k} checked={kind === k} onChange={() => setKind(k)} />
                        {KINDS[k].title}
                      </span>
                      <span className="text-xs text-muted-foreground">{KINDS[k].text}</span>
                    </label>
                  ))}
                </fieldset>
                {kind === 'intermediate' ? (
                  <Field
                    label="Parent CA"
                    htmlFor="ca-parent"
                    error={parents.length === 0 ? 'No active CA to sign with: create a root first' : undefined}
                  >
                    <NativeSelect id="ca-parent" value={parentId} onChange={(e) => setParentId(e.target.value)}>
                      {parents.map((p) => (
                        <option key={p.id} value={p.id}>
                          {p.name} — {p.subject}
                        </option>
                      ))}
                    </NativeSelect>
                  </Field>
                ) : null}
              </>
            ) : null}
            {step === 1 ? (
              <div className="grid gap-4 sm:grid-cols-2">
                <Field label="Name (unique, used in the CLI and URLs)" htmlFor="ca-name" className="sm:col-span-2">
                  <Input
                    id="ca-name"
                    value={name}
                    onChange={(e) => setName(e.target.value)}
                    placeholder="corp-root"
                    required
                  />
                </Field>
                <Field label="Common name (CN)" htmlFor="ca-cn" className="sm:col-span-2">
                  <Input
                    id="ca-cn"
                    value={cn_}
                    onChange={(e) => setCn(e.target.value)}
                    placeholder="Example Corp Root CA"
                    required
                  />
                </Field>
                <Field label="Organization (O)" htmlFor="ca-o">
                  <Input id="ca-o" value={org} onChange={(e) => setOrg(e.target.value)} placeholder="Example Corp" />
                </Field>
                <Field
                  label="Country (C)"
                  htmlFor="ca-c"
                  hint="Two letters, e.g. US"
                  error={country && !/^[A-Za-z]{2}$/.test(country) ? 'Two letters' : undefined}
                >
                  <Input id="ca-c" value={country} onChange={(e) => setCountry(e.target.value)} maxLength={2} />
                </Field>
              </div>
            ) : null}
            {step === 2 ? (
              <div className="grid gap-4 sm:grid-cols-2">
                <Field label="Key type" htmlFor="ca-key">
                  <NativeSelect
                    id="ca-key"
                    value={keyType}
                    onChange={(e) => setKeyType(e.target.value as typeof keyType)}
                  >
                    {CA_KEY_TYPES.map((k) => (
                      <option key={k} value={k}>
                        {k}
                      </option>
                    ))}
                  </NativeSelect>
                </Field>
                <Field label="Key backend" htmlFor="ca-backend" hint="Where the private key is generated and stays">
                  <NativeSelect
                    id="ca-backend"
                    value={backend}
                    onChange={(e) => setBackend(e.target.value as typeof backend)}
                  >
                    {(['software', 'pkcs11', 'kmip'] as const).map((b) => (
                      <option key={b} value={b} disabled={!availableBackends.includes(b)}>
                        {b}
                        {availableBackends.includes(b) ? '' : ' (not configured)'}
                      </option>
                    ))}
                  </NativeSelect>
                </Field>
              </div>
            ) : null}
            {step === 3 ? (
              <div className="grid gap-4 sm:grid-cols-2">
                {external ? (
                  <p className="text-sm text-muted-foreground" data-testid="external-validity">
                    Validity: set by the outside CA that signs the CSR.
                  </p>
                ) : (
                  <Field label="Validity (days)" htmlFor="ca-validity" hint="Empty: the profile default">
                    <Input
                      id="ca-validity"
                      type="number"
                      min={1}
                      value={validityDays}
                      onChange={(e) => setValidityDays(e.target.value)}
                    />
                  </Field>
                )}
                <Field label="Path length" htmlFor="ca-pathlen" hint="Empty: unlimited; 0: may not sign CAs">
                  <Input
                    id="ca-pathlen"
                    type="number"
                    min={0}
                    max={10}
                    value={pathLen}
                    onChange={(e) => setPathLen(e.target.value)}
                  />
                </Field>
                <Field
                  label="Permitted DNS subtrees"
                  htmlFor="ca-permitted"
                  hint="Comma separated, e.g. .example.com"
                  className="sm:col-span-2"
                >
                  <Input id="ca-permitted" value={permittedDns} onChange={(e) => setPermittedDns(e.target.value)} />
                </Field>
                <Field label="Excluded DNS subtrees" htmlFor="ca-excluded" className="sm:col-span-2">
                  <Input id="ca-excluded" value={excludedDns} onChange={(e) => setExcludedDns(e.target.value)} />
                </Field>
              </div>
            ) : null}
            {step === 4 ? (
              <DefinitionList
                items={[
                  [
                    'Kind',
                    kind === 'root'
                      ? 'Root CA (self-signed)'
                      : external
                        ? 'Intermediate signed by an outside CA (a CSR, then its certificate imported)'
                        : `Intermediate of ${cas.find((c) => c.id === parentId)?.name ?? parentId}`,
                  ],
                  ['Name', input.name],
                  [
                    'Subject',
                    [`CN=${input.subject.commonName}`, org && `O=${org}`, country && `C=${country.toUpperCase()}`]
                      .filter(Boolean)
                      .join(', '),
                  ],
                  ['Key', `${keyType} in ${backend}`],
                  [
                    'Validity',
                    external ? 'set by the outside CA' : validityDays ? `${validityDays} days` : 'profile default',
                  ],
                  ['Path length', pathLen === '' ? 'unlimited' : pathLen],
                  ['Name constraints', input.nameConstraints ? JSON.stringify(input.nameConstraints) : 'none'],
                  [
                    'Revocation URLs',
                    publicBaseUrl
                      ? `CRL, OCSP and CA issuers under ${publicBaseUrl}`
                      : publicBaseUrl === null
                        ? 'none'
                        : "under the server's public URL, if it has one",
                  ],
                ]}
              />
            ) : null}
            {step === 4 && publicBaseUrl === null ? (
              <div data-testid="ca-review-no-urls">
                <Alert level="warning" title="Its certificates will carry no CRL or OCSP URL">
                  The server has no public URL (PKIM_PUBLIC_URL, publicUrl in the config file), so relying parties could
                  not check whether a certificate of this CA was revoked. Set the CA&apos;s URLs on its page once it is
                  made (Set URLs), before it issues — or start the server with its public URL first.
                </Alert>
              </div>
            ) : null}
            <ErrorAlert error={create.error} />
            <div className="flex justify-between">
              <Button variant="outline" onClick={() => setStep(Math.max(0, step - 1))} disabled={step === 0}>
                <ChevronLeft /> Back
              </Button>
              <Button ref={submitButton} type="submit" disabled={!stepValid[step] || create.isPending}>
                {step < STEPS.length - 1 ? (
                  <>
                    Next <ChevronRight />
                  </>
                ) : create.isPending ? (
                  'Creating…'
                ) : external ? (
                  'Create CA and CSR'
                ) : (
                  'Create CA'
                )}
              </Button>
            </div>
          </form>
        </CardContent>
      </Card>
    </div>
  );
}
