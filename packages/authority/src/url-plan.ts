import { isHttpUrl, PkiError, serverUrlsUnder } from '@pkim/shared';
import type { CaRow, CaUrlsJson } from '@pkim/store';

/** Relying-party URLs embedded in certificates (CRL distribution points, OCSP, CA issuers). */
export interface PublicUrls {
  crlDistributionPoints?: string[];
  ocspUrls?: string[];
  caIssuersUrls?: string[];
}

/** `<base>/crl/<caId>.crl`, `<base>/ocsp`, `<base>/aia/<caId>.crt` — what the server answers (the base checked) */
export function urlsFromBase(base: string, caId: string): CaUrlsJson {
  return serverUrlsUnder(checkHttpUrl(base, 'base URL'), caId);
}

/** a new CA's URL lists (CreateCaInput.urls), each an http(s) URL, as the CA's URL setting stores them */
export function caUrlsChecked(u: {
  crlDistributionPoints: string[];
  ocspUrls: string[];
  caIssuersUrls: string[];
}): CaUrlsJson {
  const each = (list: string[], what: string) => list.map((x) => checkHttpUrl(x.trim(), what));
  return {
    crlDistributionPoints: each(u.crlDistributionPoints, 'CRL distribution point'),
    ocspUrls: each(u.ocspUrls, 'OCSP URL'),
    caIssuersUrls: each(u.caIssuersUrls, 'CA issuers URL'),
  };
}

export function checkHttpUrl(u: string, what: string): string {
  if (!isHttpUrl(u)) {
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

/** a CRL partition (docs/crl.md): the revoked certificates of a CA whose notAfter is in [start, end), Unix ms */
export interface CrlPartition {
  start: number;
  end: number;
}

const DAY_MS = 86_400_000;

/** the partition of a certificate expiring at `notAfter` when partitions are `windowDays` wide (aligned windows) */
export function partitionOf(notAfter: number, windowDays: number): CrlPartition {
  const w = windowDays * DAY_MS;
  const start = Math.floor(notAfter / w) * w;
  return { start, end: start + w };
}

/**
 * The partition's URLs: each CRL distribution point of the CA that PKI Manager's server answers (`…/crl/<caId>.crl`)
 * becomes `…/crl/<caId>/<start>-<end>.crl` (Unix seconds), e.g.
 * `https://pki.example.com/crl/ca_x/1798761600-1799366400.crl`; other URLs (CRLs published elsewhere) are left out.
 * Empty when no URL can be partitioned: the certificate then keeps the complete CRL.
 */
export function partitionUrls(caId: string, crlDistributionPoints: readonly string[], p: CrlPartition): string[] {
  const own = `/crl/${caId}.crl`;
  return crlDistributionPoints
    .filter((u) => u.endsWith(own))
    .map((u) => `${u.slice(0, -4)}/${p.start / 1000}-${p.end / 1000}.crl`);
}

/** `<start>-<end>.crl` of a partition URL, checked: whole days from 1 to 366 wide, aligned on its width */
export function parsePartitionFile(file: string): CrlPartition | undefined {
  const m = /^(\d{1,11})-(\d{1,11})\.crl$/.exec(file);
  if (!m) return undefined;
  const start = Number(m[1]) * 1000;
  const end = Number(m[2]) * 1000;
  const w = end - start;
  if (w <= 0 || w % DAY_MS !== 0 || w > 366 * DAY_MS || start % w !== 0) return undefined;
  return { start, end };
}
