import { useEffect, useState, type ReactNode } from 'react';
import { useMutation } from '@tanstack/react-query';
import { Upload } from 'lucide-react';
import { trpc } from '../lib/trpc';
import { Field, Textarea } from './ui/input';
import { ErrorAlert } from './ui/alert';
import { DefinitionList } from './page';
import { Card, CardContent } from './ui/card';

/**
 * Paste or upload a CSR; the server decodes it (and checks its signature) for a preview. `aboutKey` adds what the
 * page has to say of the CSR's key type once it is decoded (the Issue page: a profile that cannot issue for it).
 */
export function CsrInput({
  value,
  onChange,
  aboutKey,
}: {
  value: string;
  onChange: (pem: string) => void;
  aboutKey?: (keyType: string) => ReactNode;
}) {
  const decode = useMutation(trpc.insights.decodeCsr.mutationOptions());
  const [seen, setSeen] = useState('');
  useEffect(() => {
    const pem = value.trim();
    if (!pem.includes('CERTIFICATE REQUEST') || pem === seen) return;
    const t = setTimeout(() => {
      setSeen(pem);
      decode.mutate({ pem });
    }, 250);
    return () => clearTimeout(t);
  }, [value]); // eslint-disable-line react-hooks/exhaustive-deps
  const d = decode.data;
  const sans = d ? [...d.sans.dns, ...d.sans.ip, ...d.sans.uri, ...d.sans.email] : [];
  return (
    <div className="grid gap-3">
      <Field
        label="Certificate signing request (PEM)"
        htmlFor="csr"
        hint={
          <span className="inline-flex items-center gap-2">
            Paste it, or
            <label
              className={
                'inline-flex cursor-pointer items-center gap-1 text-primary underline-offset-2 ' + 'hover:underline'
              }
            >
              <Upload className="size-3" /> upload a .csr file
              <input
                type="file"
                accept=".csr,.pem,.req,text/plain"
                className="sr-only"
                onChange={async (e) => {
                  const f = e.target.files?.[0];
                  if (f) onChange(await f.text());
                }}
              />
            </label>
          </span>
        }
      >
        <Textarea
          id="csr"
          value={value}
          onChange={(e) => onChange(e.target.value)}
          placeholder={'-----BEGIN CERTIFICATE REQUEST-----\n…\n-----END CERTIFICATE REQUEST-----'}
          rows={8}
          spellCheck={false}
        />
      </Field>
      {decode.error && value.trim() === seen ? <ErrorAlert error={decode.error} /> : null}
      {d && value.trim() === seen ? (
        <Card className="bg-muted/30" data-testid="csr-preview">
          <CardContent className="pt-5">
            <DefinitionList
              items={[
                ['Subject', <code key="s">{d.subjectDn || '(empty)'}</code>],
                ['Public key', d.keyType],
                ['Requested SANs', sans.length ? sans.join(', ') : '—'],
                ['Key SHA-256', <code key="k">{d.publicKeySha256.slice(0, 32)}…</code>],
                ['Proof of possession', 'signature verified'],
              ]}
            />
          </CardContent>
        </Card>
      ) : null}
      {d && value.trim() === seen ? aboutKey?.(d.keyType) : null}
    </div>
  );
}
