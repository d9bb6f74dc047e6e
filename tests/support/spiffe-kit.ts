// Helpers for the SPIFFE tests (not a test file itself).
import { opensslCsr } from './openssl-tools';

export const TD = 'example.org';

/** A CSR made by `openssl req` asking for `uris` as URI SANs (plus `dns`), with its private key. */
export function svidCsr(
  uris: string | string[],
  opts: { keyType?: string; dns?: string[] } = {},
): { csrPem: string; keyPem: string } {
  const list = Array.isArray(uris) ? uris : [uris];
  return opensslCsr({
    keyType: opts.keyType ?? 'ec-p384',
    subject: '/O=workload',
    sans: [...list.map((u) => `URI:${u}`), ...(opts.dns ?? []).map((d) => `DNS:${d}`)],
  });
}

export const spiffeIdFor = (serviceType: string, instanceId: string, td = TD): string =>
  `spiffe://${td}/${serviceType}/${instanceId}`;
