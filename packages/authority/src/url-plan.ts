/** Relying-party URLs embedded in certificates when a public base URL is configured. */
export interface PublicUrls {
  crlDistributionPoints?: string[];
  ocspUrls?: string[];
  caIssuersUrls?: string[];
}

export function publicUrlsFor(publicBaseUrl: string | undefined, issuerCaId: string | undefined): PublicUrls {
  if (!publicBaseUrl || !issuerCaId) return {};
  const base = publicBaseUrl.replace(/\/+$/, '');
  return {
    crlDistributionPoints: [`${base}/crl/${issuerCaId}.crl`],
    ocspUrls: [`${base}/ocsp`],
    caIssuersUrls: [`${base}/aia/${issuerCaId}.crt`],
  };
}
