import { PkiError } from '@pkim/shared';
import type { CaRow, CaUrlsJson } from '@pkim/store';

/** Relying-party URLs embedded in certificates (CRL distribution points, OCSP, CA issuers). */
export interface PublicUrls {
  crlDistributionPoints?: string[];
  ocspUrls?: string[];
  caIssuersUrls?: string[];
}

/** `<base>/crl/<caId>.crl`, `<base>/ocsp`, `<base>/aia/<caId>.crt` — what PKI Manager's server answers. */
export function urlsFromBase(base: string, caId: string): CaUrlsJson {
  const b = checkHttpUrl(base, 'base URL').replace(/\/+$/, '');
  return {
    base: b,
    crlDistributionPoints: [`${b}/crl/${caId}.crl`],
    ocspUrls: [`${b}/ocsp`],
    caIssuersUrls: [`${b}/aia/${caId}.crt`],
  };
}

export function checkHttpUrl(u: string, what: string): string {
  if (!/^https?:\/\/[^\s/?#]+(\/[^\s]*)?$/i.test(u) || u.length > 2048) {
    throw new PkiError('input.invalid', `invalid ${what} '${u.slice(0, 80)}' (an http:// or https:// URL)`);
  }
  return u;
}

/**
 * The URLs a certificate issued by `issuer` carries: the CA's own configuration (`pkim ca set-urls`, the Vault
 * `config/urls` of its mounts — one setting in the database, the same for every process that signs). A CA created
 * before URLs were stored per CA (urls null) falls back to the signing process's `PKIM_PUBLIC_URL`.
 */
export function urlsOfCa(issuer: Pick<CaRow, 'id' | 'urls'> | undefined, fallbackBase?: string): PublicUrls {
  if (!issuer) return {};
  if (issuer.urls) {
    return {
      crlDistributionPoints: issuer.urls.crlDistributionPoints,
      ocspUrls: issuer.urls.ocspUrls,
      caIssuersUrls: issuer.urls.caIssuersUrls,
    };
  }
  return fallbackBase ? urlsFromBase(fallbackBase, issuer.id) : {};
}

/** true when a relying party has no way to check revocation: no CRL distribution point and no OCSP URL */
export function lacksRevocationUrls(u: PublicUrls): boolean {
  return !u.crlDistributionPoints?.length && !u.ocspUrls?.length;
}
