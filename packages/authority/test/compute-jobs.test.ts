// A worker's jobs (compute-jobs.ts runJob), run on this thread as a compute worker runs them: the certificate steps'
// signer of a CA key is kept from job to job (the pool sends a CA's public key once; the worker puts the same object
// into each of its jobs), but the key itself is asked for at every signature — a key the backend dropped (destroyed)
// is refused, never used from a kept signer — and a new key under the same URI gets a signer of its own, verified
// against that key. Every certificate is verified by openssl.
import { createPrivateKey, sign, type KeyObject } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { PkiError } from '@pkim/shared';
import {
  generateKeyPair,
  generateSerial,
  issueCertificate,
  parseDn,
  planCertificate,
  resolveProfile,
  toPem,
} from '@pkim/core';
import { runJob, type ComputeJob, type CsrLeafSigned, type KeyOf } from '../src/compute/compute-jobs';
import { opensslCsr } from '../../../tests/support/openssl-tools';
import { opensslVerify } from '../../../tests/support/verifiers';

const now = Math.floor(Date.now() / 1000) * 1000;

/** a root CA of its own key: its certificate, private key and public key (SPKI DER) */
async function rootCa(cn: string): Promise<{ der: Uint8Array; pem: string; key: KeyObject; spki: Uint8Array }> {
  const pair = generateKeyPair('ec-p256');
  const key = createPrivateKey(pair.privateKeyPem);
  const plan = planCertificate({
    profile: resolveProfile('root-ca'),
    subject: parseDn(`CN=${cn}`),
    publicKey: pair.publicKey,
    selfSignedKeyType: 'ec-p256',
    serial: generateSerial(),
    notBefore: now - 60_000,
    notAfter: now + 3650 * 86_400_000,
  });
  const der = await issueCertificate(plan, (d) => new Uint8Array(sign('sha256', d, key)));
  return { der, pem: toPem(der, 'CERTIFICATE'), key, spki: pair.publicKey };
}

const URI = 'software:ca-key';
const { csrPem } = opensslCsr({
  keyType: 'ec-p256',
  subject: '/CN=job.svc.example.com',
  sans: ['DNS:job.svc.example.com'],
});

/** a csr-leaf job signed by `ca` under URI, its public key the object `publicKey` (shared as a worker shares it) */
function csrLeafJob(ca: { der: Uint8Array }, publicKey: Uint8Array): ComputeJob {
  return {
    kind: 'csr-leaf',
    csr: csrPem,
    leaf: {
      input: {
        profile: resolveProfile('tls-server'),
        issuer: { certificateDer: ca.der, keyType: 'ec-p256' },
        serial: generateSerial(),
        notBefore: now - 60_000,
        notAfter: now + 30 * 86_400_000,
      },
      provisioners: [{ kind: 'user', id: 'usr_test', name: 'test', policy: {} }],
      facts: { ca: { id: 'ca_test', name: 'test', notAfter: null }, lifetimeMs: undefined, source: 'csr' },
    },
    now,
    key: { uri: URI, keyType: 'ec-p256', publicKey },
    what: 'the test leaf',
  };
}

describe('compute jobs: the signer of a CA key kept, the key asked for at each signature', () => {
  it('refuses a dropped key after signing with it, signs with a new key of one URI; openssl verifies', async () => {
    const a = await rootCa('Jobs Root A');
    const b = await rootCa('Jobs Root B');
    let held: KeyObject | undefined = a.key;
    let asked = 0;
    const keyOf: KeyOf = () => {
      asked++;
      return held ?? Promise.reject(new PkiError('kms.key_not_found', 'the key was destroyed'));
    };
    const verified = (r: CsrLeafSigned, root: { pem: string }) =>
      opensslVerify({ leafPem: r.certificatePem, rootPem: root.pem, purpose: 'sslserver' });

    // two jobs of CA A: the same public key object, one signer; the key asked for each time
    for (let i = 0; i < 2; i++) {
      const r = (await runJob(csrLeafJob(a, a.spki), keyOf)) as CsrLeafSigned;
      const v = verified(r, a);
      expect(v.ok, v.output).toBe(true);
      expect(r).toMatchObject({ subjectDn: 'CN=job.svc.example.com', sans: { dns: ['job.svc.example.com'] } });
      expect(r.keyType).toBe('ec-p256');
    }
    expect(asked).toBe(2);

    // the backend dropped the key: the kept signer asks again and is refused
    held = undefined;
    await expect(runJob(csrLeafJob(a, a.spki), keyOf)).rejects.toMatchObject({ code: 'kms.key_not_found' });

    // a new key under the same URI (a new public key object): signed with it and verified against it
    held = b.key;
    const r = (await runJob(csrLeafJob(b, b.spki), keyOf)) as CsrLeafSigned;
    const v = verified(r, b);
    expect(v.ok, v.output).toBe(true);
    expect(verified(r, a).ok).toBe(false);

    // a key that arrives later (a promise, as a worker waits for a loan) signs too
    const late = (await runJob(csrLeafJob(a, a.spki), () => Promise.resolve(a.key))) as CsrLeafSigned;
    expect(verified(late, a).ok).toBe(true);
  });
});
