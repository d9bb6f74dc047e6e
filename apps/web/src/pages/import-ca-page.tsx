import { useRef, useState } from 'react';
import { useMutation, useQueryClient, useSuspenseQuery } from '@tanstack/react-query';
import { Link, useNavigate } from '@tanstack/react-router';
import { Import } from 'lucide-react';
import { apiError, trpc, trpcClient, type RouterInputs } from '../lib/trpc';
import { KEY_BACKENDS } from '@pkim/contract/vocabulary';
import { PageHeader } from '../components/page';
import { Button } from '../components/ui/button';
import { Card, CardContent } from '../components/ui/card';
import { Input, NativeSelect } from '../components/ui/input';
import { Alert, ErrorAlert } from '../components/ui/alert';
import { LabelledField, PemFileField, type FieldError } from '../components/pem-file-field';
import { CODE_TITLES, importErrorField, REASON_TITLES, type ImportField } from '../lib/ca-import';

type ImportInput = RouterInputs['ca']['importExisting'];
type Backend = NonNullable<ImportInput['backend']>;
/** what the form sends apart from the key and its password */
type PublicPart = Omit<ImportInput, 'privateKey' | 'keyPassword'>;
const looksEncrypted = (pem: string) => /ENCRYPTED PRIVATE KEY|Proc-Type:\s*4,ENCRYPTED/.test(pem);

/**
 * An existing CA — made by openssl scripts, Vault or step-ca — brought with its private key (`ca.importExisting`).
 * The server checks that the key is the certificate's, CA:TRUE, keyCertSign and not expired, and finds the issuer
 * (itself, a CA here, or the chain given); its refusals are shown under the field they are about.
 *
 * The key and its passphrase live only in this component's state: never in the URL, the query cache or the
 * mutation's variables (the mutation reads them from a ref it empties), and both fields are emptied when the form
 * is sent, whatever the answer. Nothing shows the key back.
 */
export function ImportCaPage() {
  const navigate = useNavigate();
  const qc = useQueryClient();
  const health = useSuspenseQuery(trpc.system.health.queryOptions()).data;
  const available = health.keyBackends.map((k) => k.backend);
  const [certificate, setCertificate] = useState('');
  const [privateKey, setPrivateKey] = useState('');
  const [keyPassword, setKeyPassword] = useState('');
  const [issuerCertificate, setIssuerCertificate] = useState('');
  const [name, setName] = useState('');
  const [backend, setBackend] = useState<Backend>('software');
  /** offered once the server refuses a certificate without a keyUsage extension (`reason: no_key_usage`) */
  const [allowMissingKeyUsage, setAllowMissingKeyUsage] = useState(false);
  /** the key and password of the one request in flight, taken (and dropped) by the mutation */
  const secret = useRef<{ privateKey: string; keyPassword?: string } | null>(null);

  const importCa = useMutation({
    mutationKey: ['ca.importExisting'],
    mutationFn: (input: PublicPart) => {
      const s = secret.current;
      secret.current = null;
      if (!s) throw new Error('the private key was not given');
      return trpcClient.ca.importExisting.mutate({ ...input, ...s });
    },
    onSuccess: async (view) => {
      await qc.invalidateQueries({ queryKey: trpc.ca.pathKey() });
      await qc.invalidateQueries({ queryKey: trpc.insights.pathKey() });
      await navigate({ to: '/cas/$caId', params: { caId: view.id } });
    },
  });

  const e = importCa.error ? apiError(importCa.error) : undefined;
  const field = e ? importErrorField(e) : undefined;
  const errorFor = (f: ImportField): FieldError | undefined => {
    if (!e || field !== f) return undefined;
    const reason = typeof e.details?.reason === 'string' ? e.details.reason : '';
    return { code: e.code, title: REASON_TITLES[reason] ?? CODE_TITLES[e.code] ?? e.code, message: e.message };
  };
  const encrypted = looksEncrypted(privateKey);

  return (
    <div className="mx-auto max-w-3xl">
      <PageHeader
        title="Import an existing CA"
        description="A CA made elsewhere (openssl, Vault, step-ca) brought with its private key, to issue from here"
        actions={
          <Button variant="outline" asChild>
            <Link to="/cas/new" search={{}}>
              Create a new CA instead
            </Link>
          </Button>
        }
      />
      <Card>
        <CardContent className="pt-5">
          <form
            className="grid gap-5"
            autoComplete="off"
            onSubmit={(ev) => {
              ev.preventDefault();
              secret.current = { privateKey: privateKey.trim(), ...(keyPassword ? { keyPassword } : {}) };
              // the key and its password leave the form with this request: nothing keeps them after it
              setPrivateKey('');
              setKeyPassword('');
              importCa.mutate({
                certificate: certificate.trim(),
                ...(issuerCertificate.trim() ? { issuerCertificate: issuerCertificate.trim() } : {}),
                ...(name.trim() ? { name: name.trim() } : {}),
                backend,
                ...(allowMissingKeyUsage ? { allowMissingKeyUsage: true } : {}),
              });
            }}
          >
            <PemFileField
              id="import-ca-certificate"
              label="CA certificate (PEM)"
              hint="The CA's own certificate: a self-signed root, or an intermediate"
              error={errorFor('certificate')}
              value={certificate}
              onChange={setCertificate}
              accept=".pem,.crt,.cer,text/plain"
              fileLabel="from a file"
              placeholder={'-----BEGIN CERTIFICATE-----\n…\n-----END CERTIFICATE-----'}
            />
            {e?.details?.reason === 'no_key_usage' || allowMissingKeyUsage ? (
              <label className="flex items-start gap-2 text-sm">
                <input
                  type="checkbox"
                  className="mt-0.5"
                  checked={allowMissingKeyUsage}
                  onChange={(ev) => setAllowMissingKeyUsage(ev.target.checked)}
                />
                <span>
                  Accept a CA certificate without a keyUsage extension
                  <span className="block text-xs text-muted-foreground">
                    RFC 5280 allows it, but strict verifiers (OpenSSL -x509_strict, Python 3.13 and later) refuse the
                    certificates it signs
                  </span>
                </span>
              </label>
            ) : null}
            <PemFileField
              id="import-ca-key"
              label="Private key (PEM)"
              hint={
                'PKCS#8, PKCS#1 or SEC1, encrypted or not. Sent once, to be kept by the key backend; never shown again'
              }
              error={errorFor('privateKey')}
              value={privateKey}
              onChange={setPrivateKey}
              accept=".pem,.key,text/plain"
              fileLabel="from a file"
              placeholder={'-----BEGIN PRIVATE KEY-----\n…\n-----END PRIVATE KEY-----'}
              secret
              rows={4}
            />
            <div className="grid gap-4 sm:grid-cols-2">
              <LabelledField
                id="import-ca-password"
                label="Key passphrase"
                hint={encrypted ? 'This key is encrypted: its passphrase is needed' : 'Only for an encrypted key'}
                error={errorFor('keyPassword')}
              >
                {(aria) => (
                  <Input
                    id="import-ca-password"
                    type="password"
                    autoComplete="new-password"
                    value={keyPassword}
                    onChange={(ev) => setKeyPassword(ev.target.value)}
                    {...aria}
                  />
                )}
              </LabelledField>
              <LabelledField
                id="import-ca-name"
                label="Name"
                hint="Unique, used in the CLI and URLs; empty: from the certificate's CN"
                error={errorFor('name')}
              >
                {(aria) => (
                  <Input
                    id="import-ca-name"
                    value={name}
                    onChange={(ev) => setName(ev.target.value)}
                    placeholder="legacy-root"
                    {...aria}
                  />
                )}
              </LabelledField>
            </div>
            <PemFileField
              id="import-ca-chain"
              label="Issuer chain (PEM, optional)"
              hint={
                "For a CA signed outside: its issuer's certificate, or the chain up to the root. " +
                'Not needed for a root or a CA signed by a CA here'
              }
              error={errorFor('issuerCertificate')}
              value={issuerCertificate}
              onChange={setIssuerCertificate}
              accept=".pem,.crt,.cer,text/plain"
              fileLabel="from a file"
              placeholder={'-----BEGIN CERTIFICATE-----\n…'}
              rows={4}
            />
            <LabelledField
              id="import-ca-backend"
              label="Key backend"
              hint="Where the private key is kept (software: encrypted under the key-encryption key)"
              error={errorFor('backend')}
              className="sm:max-w-xs"
            >
              {(aria) => (
                <NativeSelect
                  id="import-ca-backend"
                  value={backend}
                  onChange={(ev) => setBackend(ev.target.value as Backend)}
                  {...aria}
                >
                  {KEY_BACKENDS.map((b) => (
                    <option key={b} value={b} disabled={!available.includes(b)}>
                      {b}
                      {available.includes(b) ? '' : ' (not configured)'}
                    </option>
                  ))}
                </NativeSelect>
              )}
            </LabelledField>
            {e && !field ? <ErrorAlert error={importCa.error} /> : null}
            {e && field ? (
              <Alert level="critical" title="Not imported">
                Nothing was stored. The key and passphrase fields were emptied: give them again.
              </Alert>
            ) : null}
            <div>
              <Button type="submit" disabled={!certificate.trim() || !privateKey.trim() || importCa.isPending}>
                <Import /> {importCa.isPending ? 'Importing…' : 'Import CA'}
              </Button>
            </div>
          </form>
        </CardContent>
      </Card>
    </div>
  );
}
