import { certificateUrls, type CertificateInfo, type Profile } from '@pkim/core';
import type { PublicUrls } from '../url-plan';

/**
 * What a CA's next certificate keeps of its current one (`pkim ca renew`, and `pkim ca rotate`'s successor and cross
 * certificate): the key usage and certificate policies the current certificate carries, not the ones the CA profile
 * says today — a CA imported with its own extensions, or made under a custom profile since changed, keeps what
 * relying parties already accepted. The path length and name constraints are given by the caller (the CA's own).
 */
export function profileLikeCurrent(profile: Profile, current: CertificateInfo): Profile {
  return {
    ...profile,
    // a certificate without keyUsage (an import allowed so) gets the profile's: a CA certificate should carry one
    ...(current.keyUsage.length > 0 && { keyUsage: [...current.keyUsage], rsaKeyUsage: undefined }),
    certificatePolicies: current.certificatePolicies.map((p) => ({ ...p })),
  };
}

const URL_KINDS = ['crlDistributionPoints', 'ocspUrls', 'caIssuersUrls'] as const;

/**
 * The relying-party URLs of a CA's next certificate. Their values come from the signer's URL setting now (`pkim ca
 * set-urls`, else the `PKIM_PUBLIC_URL` default): a relying party follows the new certificate to where the CRL and
 * the issuer certificate are published today, not where they were. Which kinds it carries: for an intermediate (its
 * parent's URLs) every kind the setting has, as when it was created; for a root (its own URLs, self-signed) only the
 * kinds its current certificate carries — a root made without URLs is not given them by a `PKIM_PUBLIC_URL` default
 * the row cannot tell from a setting. A kind the current certificate carries but the setting has none of keeps the
 * current certificate's URLs.
 */
export function nextCertificateUrls(
  currentDer: Uint8Array,
  setting: PublicUrls,
  opts: { addKinds: boolean },
): PublicUrls {
  const current = certificateUrls(currentDer);
  const out: PublicUrls = {};
  for (const kind of URL_KINDS) {
    const now = setting[kind] ?? [];
    const had = current[kind];
    if (had.length > 0) out[kind] = now.length > 0 ? now : had;
    else if (opts.addKinds && now.length > 0) out[kind] = now;
  }
  return out;
}
