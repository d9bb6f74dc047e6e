// A custom profile with extra EKU OIDs and certificate policies (CPS URI, user notice), and what openssl reads of
// those in a certificate: console-policies-e2e (the console, REST) and cert-show-policies-cli (`pkim cert show`)
// compare what they show with it.
import { opensslText } from './verifiers';

export const POLICIES = [
  { oid: '1.3.6.1.4.1.32473.1.2.4', cps: 'https://pki.example.com/cps' },
  { oid: '1.3.6.1.4.1.32473.1.2.5', notice: 'Internal services only' },
  { oid: '2.23.140.1.2.1' },
];
export const POLICIES_PROFILE = {
  name: 'tls-server-policies',
  description: 'TLS servers under the example policies',
  isCa: false,
  keyUsage: ['digitalSignature'],
  extKeyUsage: ['serverAuth'],
  extKeyUsageOids: ['1.3.6.1.4.1.32473.9.1'],
  certificatePolicies: POLICIES,
  allowedSanTypes: ['dns', 'ip'],
  sanRequired: true,
  allowedKeyTypes: ['ec-p256'],
  defaultLifetime: '30d',
  maxLifetime: '90d',
};

const OPENSSL_EKU: Record<string, string> = {
  'TLS Web Server Authentication': 'serverAuth',
  'TLS Web Client Authentication': 'clientAuth',
};

/** what openssl reads in a certificate: its EKUs (our names for the known ones) and policies with qualifiers */
export function opensslPurposes(pem: string) {
  const text = opensslText(pem);
  const eku = /X509v3 Extended Key Usage: \n\s+(.+)\n/.exec(text)?.[1] ?? '';
  const policies: { oid: string; cps?: string; notice?: string }[] = [];
  const section =
    /X509v3 Certificate Policies: \n([\s\S]*?)\n\s{12}X509v3|X509v3 Certificate Policies: \n([\s\S]*)$/.exec(text);
  for (const line of (section?.[1] ?? section?.[2] ?? '').split('\n')) {
    let m: RegExpExecArray | null;
    if ((m = /^\s+Policy: (\S+)$/.exec(line))) policies.push({ oid: m[1]! });
    else if ((m = /^\s+CPS: (\S+)$/.exec(line))) policies.at(-1)!.cps = m[1]!;
    else if ((m = /^\s+Explicit Text: (.+)$/.exec(line))) policies.at(-1)!.notice = m[1]!;
  }
  return { extKeyUsage: eku.split(', ').map((e) => OPENSSL_EKU[e] ?? e), certificatePolicies: policies };
}
