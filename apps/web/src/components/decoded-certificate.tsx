import { useQuery } from '@tanstack/react-query';
import { trpc } from '../lib/trpc';
import { colonHex, formatDateTime } from '../lib/utils';
import { DefinitionList } from './page';
import { Skeleton } from './ui/skeleton';
import { ErrorAlert } from './ui/alert';

const SIG_ALGS: Record<string, string> = {
  '1.2.840.10045.4.3.2': 'ecdsa-with-SHA256',
  '1.2.840.10045.4.3.3': 'ecdsa-with-SHA384',
  '1.2.840.10045.4.3.4': 'ecdsa-with-SHA512',
  '1.2.840.113549.1.1.11': 'sha256WithRSAEncryption',
  '1.2.840.113549.1.1.12': 'sha384WithRSAEncryption',
  '1.2.840.113549.1.1.13': 'sha512WithRSAEncryption',
  '1.3.101.112': 'Ed25519',
};

/**
 * URLs a certificate carries, one a line; `links`: each a link (a file a browser fetches: a CRL, a CA certificate —
 * not OCSP, which answers a request, not a GET of its base). "none" when it carries none.
 */
function UrlList({ urls, links }: { urls: readonly string[]; links?: boolean }) {
  if (urls.length === 0) return 'none';
  return (
    <ul className="space-y-0.5 break-all">
      {urls.map((u) => (
        <li key={u}>
          {links ? (
            <a className="underline" href={u}>
              {u}
            </a>
          ) : (
            <code>{u}</code>
          )}
        </li>
      ))}
    </ul>
  );
}

/** Every decoded field of a certificate, decoded by the server (insights.decodeCertificate). */
export function DecodedCertificate({ pem }: { pem: string }) {
  const q = useQuery(trpc.insights.decodeCertificate.queryOptions({ pem }, { staleTime: Infinity }));
  if (q.error) return <ErrorAlert error={q.error} />;
  if (!q.data) return <Skeleton className="h-72" />;
  const c = q.data;
  const sans = [
    ...c.sans.dns.map((v) => `DNS:${v}`),
    ...c.sans.ip.map((v) => `IP:${v}`),
    ...c.sans.uri.map((v) => `URI:${v}`),
    ...c.sans.email.map((v) => `email:${v}`),
  ];
  return (
    <DefinitionList
      items={[
        ['Subject', <code key="s">{c.subjectDn}</code>],
        ['Issuer', <code key="i">{c.issuerDn}</code>],
        ['Serial number', <code key="n">{colonHex(c.serialHex)}</code>],
        ['Valid from', formatDateTime(c.notBefore)],
        ['Valid until', formatDateTime(c.notAfter)],
        ['Public key', c.keyType],
        ['Signature algorithm', SIG_ALGS[c.signatureAlgorithmOid] ?? c.signatureAlgorithmOid],
        ['Subject alternative names', sans.length ? sans.join(', ') : '—'],
        ['Basic constraints', c.isCa ? `CA${c.pathLen !== null ? `, pathLen ${c.pathLen}` : ''}` : 'end entity'],
        ['Key usage', c.keyUsage.join(', ') || '—'],
        ['Extended key usage', c.extKeyUsage.join(', ') || '—'],
        [
          'Certificate policies',
          c.certificatePolicies.length ? (
            <ul key="cp" className="space-y-1" data-testid="certificate-policies">
              {c.certificatePolicies.map((p) => (
                <li key={p.oid}>
                  <code>{p.oid}</code>
                  {p.cps ? (
                    <>
                      {' '}
                      CPS <code>{p.cps}</code>
                    </>
                  ) : null}
                  {p.notice ? <> notice “{p.notice}”</> : null}
                </li>
              ))}
            </ul>
          ) : (
            '—'
          ),
        ],
        ['Name constraints', c.nameConstraints ? <code key="nc">{JSON.stringify(c.nameConstraints)}</code> : '—'],
        ['Subject key identifier', c.subjectKeyIdentifierHex ? colonHex(c.subjectKeyIdentifierHex) : '—'],
        ['Authority key identifier', c.authorityKeyIdentifierHex ? colonHex(c.authorityKeyIdentifierHex) : '—'],
        ['SHA-256 fingerprint', <code key="f">{colonHex(c.fingerprintSha256)}</code>],
        // where a relying party learns of a revocation and finds the issuer (what the certificate carries)
        ['CRL distribution points', <UrlList key="crl" urls={c.crlDistributionPoints} links />],
        ['OCSP', <UrlList key="ocsp" urls={c.ocspUrls} />],
        ['CA issuers', <UrlList key="aia" urls={c.caIssuersUrls} links />],
      ]}
    />
  );
}
