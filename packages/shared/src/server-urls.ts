/**
 * The relying-party URLs PKI Manager's server answers under a base URL (its public URL, or a CA's `set-urls --base`):
 * the CA's CRL `<base>/crl/<caId>.crl`, the OCSP responder `<base>/ocsp`, the CA's certificate `<base>/aia/<caId>.crt`.
 * One place for the paths: the authority writes them into certificates (url-plan.ts urlsFromBase, after checking the
 * base) and the console shows what a CA's certificates will carry (apps/web lib/pki.ts caRevocationUrls). Browser-safe:
 * `@pkim/shared/server-urls` imports nothing.
 */
export function serverUrlsUnder(
  base: string,
  caId: string,
): { base: string; crlDistributionPoints: string[]; ocspUrls: string[]; caIssuersUrls: string[] } {
  const b = base.replace(/\/+$/, '');
  return {
    base: b,
    crlDistributionPoints: [`${b}/crl/${caId}.crl`],
    ocspUrls: [`${b}/ocsp`],
    caIssuersUrls: [`${b}/aia/${caId}.crt`],
  };
}

/**
 * An http:// or https:// URL as a certificate may carry it (a CRL distribution point, an OCSP or CA-issuers URL, a
 * base URL): a host, no spaces, at most 2,048 characters. One check for the API's schema (`ca.setUrls`), the
 * authority (url-plan.ts checkHttpUrl) and the console's Set URLs form.
 */
export const HTTP_URL_PATTERN = /^https?:\/\/[^\s/?#]+(\/\S*)?$/i;
export const HTTP_URL_MAX = 2048;

export function isHttpUrl(u: string): boolean {
  return u.length <= HTTP_URL_MAX && HTTP_URL_PATTERN.test(u);
}
