import { generateKeyPairSync, sign } from 'node:crypto';
import { buildCsr, parseDn, toPem } from '@pkim/core';

/**
 * `n` P-256 CSRs for `host<i>.example.com` (CN and one DNS SAN), each with its own key: what the issuance benches
 * sign. PEM and DER both (issuance-bench's floor reads the DER).
 */
export async function hostCsrs(n: number): Promise<{ pem: string; der: Uint8Array }[]> {
  const out: { pem: string; der: Uint8Array }[] = [];
  for (let i = 0; i < n; i++) {
    const { publicKey, privateKey } = generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
    const spki = new Uint8Array(publicKey.export({ type: 'spki', format: 'der' }));
    const host = `host${i}.example.com`;
    const der = await buildCsr(
      { subject: parseDn(`CN=${host}`), sans: { dns: [host] }, publicKey: spki, keyType: 'ec-p256' },
      (d) => new Uint8Array(sign('sha256', d, privateKey)),
    );
    out.push({ pem: toPem(der, 'CERTIFICATE REQUEST'), der });
  }
  return out;
}
