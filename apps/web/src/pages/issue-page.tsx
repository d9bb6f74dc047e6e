import { useState } from 'react';
import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { Link, useSearch } from '@tanstack/react-router';
import { Download, FileKey, FileSignature, ShieldAlert } from 'lucide-react';
import { trpc, type RouterOutputs } from '../lib/trpc';
import { LEAF_KEY_TYPES, parseSanList, profileKeyTypeProblems } from '../lib/pki';
import { downloadText } from '../lib/utils';
import { PageHeader } from '../components/page';
import { Button } from '../components/ui/button';
import { Card, CardContent, CardHeader, CardTitle } from '../components/ui/card';
import { Field, Input, NativeSelect } from '../components/ui/input';
import { Alert, ErrorAlert } from '../components/ui/alert';
import { Tabs, TabsContent, TabsList, TabsTrigger } from '../components/ui/tabs';
import { CsrInput } from '../components/csr-input';
import { CaProfileFields, type CaProfileValue } from '../components/ca-profile-fields';

type Issued = RouterOutputs['certificate']['issue'];
type Profile = RouterOutputs['insights']['profiles']['items'][number];

/**
 * Said as the user picks, before anything is sent: the chosen profile cannot issue for the chosen key type (a key type
 * it does not allow, or its API object's `warnings` about that key type). Submitting stays possible: the server's
 * refusal is the rule, this is its warning.
 */
function KeyTypeWarning({ profile, keyType }: { profile: Profile | undefined; keyType: string }) {
  const problems = profile ? profileKeyTypeProblems(profile, keyType) : [];
  if (!profile || problems.length === 0) return null;
  return (
    <div data-testid="key-type-warning">
      <Alert level="warning" title={`Profile ${profile.name} cannot issue for ${keyType} keys: the server refuses it`}>
        <ul className="list-disc pl-4">
          {problems.map((p) => (
            <li key={p}>{p}</li>
          ))}
        </ul>
        <div>Choose another key type or profile.</div>
      </Alert>
    </div>
  );
}

function IssuedResult({ issued }: { issued: Issued }) {
  const c = issued;
  const base = (c.commonName ?? c.serial).replace(/[^A-Za-z0-9._-]+/g, '_');
  const [keySaved, setKeySaved] = useState(false);
  return (
    <Card className="border-success/50" data-testid="issued-result">
      <CardHeader>
        <CardTitle>Issued {c.commonName ?? c.subject}</CardTitle>
      </CardHeader>
      <CardContent className="grid gap-4">
        {issued.privateKeyPem ? (
          <Alert level="warning" title="Download the private key now: it is shown only once and never stored">
            <div className="mt-2 flex flex-wrap gap-2">
              <Button
                onClick={() => {
                  downloadText(`${base}.key`, issued.privateKeyPem!);
                  setKeySaved(true);
                }}
                data-testid="download-key"
              >
                <ShieldAlert /> Download private key
              </Button>
              {keySaved ? <span className="self-center text-xs">Saved. Keep it safe.</span> : null}
            </div>
          </Alert>
        ) : null}
        <div className="flex flex-wrap gap-2">
          <Button variant="outline" onClick={() => downloadText(`${base}.crt`, issued.certificatePem)}>
            <Download /> Certificate
          </Button>
          <Button
            variant="outline"
            onClick={() => downloadText(`${base}-fullchain.pem`, issued.certificatePem.trim() + '\n' + issued.chainPem)}
          >
            <Download /> Full chain
          </Button>
          <Button variant="link" asChild>
            <Link to="/certificates/$certId" params={{ certId: c.id }}>
              Open certificate →
            </Link>
          </Button>
        </div>
      </CardContent>
    </Card>
  );
}

export function IssuePage() {
  const search = useSearch({ from: '/app/issue' });
  const qc = useQueryClient();
  const [target, setTarget] = useState<CaProfileValue>({
    caId: search.caId ?? '',
    profile: 'tls-server',
    validityDays: '',
  });
  const [csr, setCsr] = useState('');
  const [sanOverride, setSanOverride] = useState('');
  const [cn, setCn] = useState('');
  const [sans, setSans] = useState('');
  const [keyType, setKeyType] = useState<(typeof LEAF_KEY_TYPES)[number]>('ec-p256');
  const onIssued = () => {
    void qc.invalidateQueries({ queryKey: trpc.certificate.pathKey() });
    void qc.invalidateQueries({ queryKey: trpc.insights.pathKey() });
  };
  const fromCsr = useMutation(trpc.certificate.issue.mutationOptions({ onSuccess: onIssued }));
  const withKey = useMutation(trpc.certificate.issueWithKey.mutationOptions({ onSuccess: onIssued }));
  const validity = target.validityDays ? { ttl: `${Number(target.validityDays)}d` } : {};
  // the chosen profile's API object (its `warnings`), from the list the profile field shows
  const profile = useQuery(trpc.insights.profiles.queryOptions()).data?.items.find((p) => p.name === target.profile);
  return (
    <div className="mx-auto max-w-4xl">
      <PageHeader
        title="Issue a certificate"
        description="From a CSR you bring, or with a key generated on the server"
      />
      <Tabs defaultValue="csr">
        <TabsList>
          <TabsTrigger value="csr">
            <FileSignature className="size-4" /> From a CSR
          </TabsTrigger>
          <TabsTrigger value="key">
            <FileKey className="size-4" /> Generate a key
          </TabsTrigger>
        </TabsList>
        <TabsContent value="csr" className="grid gap-4">
          <Card>
            <CardContent className="pt-5">
              <form
                className="grid gap-5"
                onSubmit={(e) => {
                  e.preventDefault();
                  const override = sanOverride.trim() ? { sans: parseSanList(sanOverride) } : {};
                  fromCsr.mutate({ ca: target.caId, profile: target.profile, csr, ...validity, ...override });
                }}
              >
                <CaProfileFields value={target} onChange={setTarget} idPrefix="csr" />
                <CsrInput
                  value={csr}
                  onChange={setCsr}
                  aboutKey={(t) => <KeyTypeWarning profile={profile} keyType={t} />}
                />
                <Field label="SANs (optional override)" htmlFor="csr-sans" hint="Empty: the names the CSR requests">
                  <Input id="csr-sans" value={sanOverride} onChange={(e) => setSanOverride(e.target.value)} />
                </Field>
                <ErrorAlert error={fromCsr.error} />
                <div className="flex justify-end">
                  <Button type="submit" disabled={fromCsr.isPending || !target.caId || !csr.trim()}>
                    {fromCsr.isPending ? 'Issuing…' : 'Issue certificate'}
                  </Button>
                </div>
              </form>
            </CardContent>
          </Card>
          {fromCsr.data ? <IssuedResult issued={fromCsr.data} /> : null}
        </TabsContent>
        <TabsContent value="key" className="grid gap-4">
          <Card>
            <CardContent className="pt-5">
              <form
                className="grid gap-5"
                onSubmit={(e) => {
                  e.preventDefault();
                  const list = parseSanList(sans);
                  withKey.mutate({
                    ca: target.caId,
                    profile: target.profile,
                    subject: { commonName: cn.trim() },
                    keyType,
                    ...validity,
                    ...(Object.keys(list).length ? { sans: list } : {}),
                  });
                }}
              >
                <CaProfileFields value={target} onChange={setTarget} idPrefix="gen" />
                <div className="grid gap-4 sm:grid-cols-3">
                  <Field label="Common name" htmlFor="gen-cn" className="sm:col-span-2">
                    <Input id="gen-cn" value={cn} onChange={(e) => setCn(e.target.value)} required />
                  </Field>
                  <Field label="Key type" htmlFor="gen-key">
                    <NativeSelect
                      id="gen-key"
                      value={keyType}
                      onChange={(e) => setKeyType(e.target.value as typeof keyType)}
                    >
                      {LEAF_KEY_TYPES.map((k) => (
                        <option key={k} value={k}>
                          {k}
                        </option>
                      ))}
                    </NativeSelect>
                  </Field>
                  <Field
                    label="Subject alternative names"
                    htmlFor="gen-sans"
                    hint="DNS names, IPs, e-mails or URIs, comma separated"
                    className="sm:col-span-3"
                  >
                    <Input
                      id="gen-sans"
                      value={sans}
                      onChange={(e) => setSans(e.target.value)}
                      placeholder="www.example.com, 10.0.0.5"
                    />
                  </Field>
                </div>
                <KeyTypeWarning profile={profile} keyType={keyType} />
                <ErrorAlert error={withKey.error} />
                <div className="flex justify-end">
                  <Button type="submit" disabled={withKey.isPending || !target.caId || !cn.trim()}>
                    {withKey.isPending ? 'Generating…' : 'Generate key and issue'}
                  </Button>
                </div>
              </form>
            </CardContent>
          </Card>
          {withKey.data ? <IssuedResult issued={withKey.data} /> : null}
        </TabsContent>
      </Tabs>
    </div>
  );
}
