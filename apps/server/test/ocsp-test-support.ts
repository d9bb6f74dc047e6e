// The PKI the OCSP tests answer for (ocsp-presigned, ocsp-answer-memory, ocsp-sha256-subca): a root (P-384), an issuing
// CA below it (P-256, pathLen 0), both made and checked by tests/support/ca-kit (openssl), and leaves of the issuing
// CA; `openssl ocsp` over a response; a hold on the store read of one certificate's status.
import { expect } from 'vitest';
import type { Authority } from '@pkim/authority';
import { internalsOf } from '@pkim/authority/internals';
import { opensslOcspCheck } from '../../../tests/support/verifiers';
import { ACTORS, createIssuingCa, createRootCa } from './server-test-support';

const HOUR = 3_600_000;

export interface OcspLeaf {
  id: string;
  serial: string;
  pem: string;
}

/** a TLS server leaf `cn` (its one DNS name) of the CA `caId`, valid `validityMs` (30 days); CRL tests use it too */
export async function ocspLeaf(
  authority: Authority,
  caId: string,
  cn: string,
  validityMs = 30 * 24 * HOUR,
): Promise<OcspLeaf> {
  const issued = await authority.issuance.issueWithKey(
    {
      caId,
      profile: 'tls-server',
      subject: { commonName: cn },
      sans: { dns: [cn] },
      keyType: 'ec-p256',
      validityMs,
    },
    ACTORS.admin,
  );
  return { id: issued.certificate.id, serial: issued.certificate.serialHex, pem: issued.certificatePem };
}

/** `<name>-root` and `<name>-issuing`, and `n` TLS server leaves `<name>-<i>.example.test` valid 30 days */
export async function ocspPki(authority: Authority, name: string, n: number) {
  const root = await createRootCa(authority, `${name}-root`, {
    subject: { commonName: `${name} Root CA` },
    keyType: 'ec-p384',
  });
  const issuing = await createIssuingCa(authority, root, `${name}-issuing`, {
    subject: { commonName: `${name} Issuing CA` },
    pathLen: 0,
  });
  const leaves: OcspLeaf[] = [];
  for (let i = 0; i < n; i++) leaves.push(await ocspLeaf(authority, issuing.id, `${name}-${i}.example.test`));
  return {
    rootPem: root.pem,
    rootId: root.id,
    issuingPem: issuing.pem,
    issuingId: issuing.id,
    /** the issuing CA certificate's serial (hex), as its parent's OCSP answers name it */
    issuingSerial: issuing.view.ca.serialHex!,
    leaves,
  };
}

export type OcspPki = Awaited<ReturnType<typeof ocspPki>>;

/** `openssl ocsp` over a response: verified against the root, and the certificate's status line */
export function checked(o: {
  der: Uint8Array;
  issuingPem: string;
  rootPem: string;
  leafPem: string;
  requestDer?: Uint8Array;
}): string {
  const r = opensslOcspCheck({
    responseDer: o.der,
    issuerPem: o.issuingPem,
    caFilePem: o.rootPem,
    leafPem: o.leafPem,
    requestDer: o.requestDer,
  });
  expect(r.output).toMatch(/Response verify OK/);
  expect(r.ok).toBe(true);
  return r.output;
}

/** the certificate's status in `openssl ocsp` output */
export const statusOf = (output: string) => /(?:leaf\.pem|Cert Status): (good|revoked|unknown)/.exec(output)?.[1];

/**
 * Holds the next store read of the OCSP status of the certificate `serial` (the read itself done, its result kept
 * back) until `release()`: whatever the test changes meanwhile lands between a read and its answer, without timing.
 * Other reads pass. `readDone` resolves once the held read has been made; `restore()` puts the store back.
 */
export function holdNextStatusRead(authority: Authority, serial: string) {
  const ocspStore = internalsOf(authority).store.ocspResponses;
  const lookup = ocspStore.lookup.bind(ocspStore);
  let release!: () => void;
  const released = new Promise<void>((r) => (release = r));
  let done!: () => void;
  const readDone = new Promise<void>((r) => (done = r));
  let held = false;
  let read: (() => void) | undefined;
  ocspStore.lookup = async (caId, serialHex, ...rest) => {
    const result = await lookup(caId, serialHex, ...rest);
    if (serialHex.toLowerCase() !== serial.toLowerCase()) return result;
    if (!held) {
      held = true;
      done();
      await released;
    } else read?.();
    return result;
  };
  return {
    readDone,
    release,
    /** resolves once a later read of the certificate's status (not held) has been made */
    nextRead: () => new Promise<void>((r) => (read = r)),
    /** the store's own read, not held */
    lookup,
    restore() {
      release();
      ocspStore.lookup = lookup;
    },
  };
}

/**
 * Holds the next signature made with a CA key of `authority` (signed on this thread: no worker pool, as the tests'
 * authorities run) — the signature made, its result kept back — until `release()`: a request signing a response stops
 * between its reads and what it keeps afterwards, without timing. `signing` resolves once the held signature has been
 * made; `restore()` puts the key backends back.
 */
export function holdNextSignature(authority: Authority) {
  const keys = internalsOf(authority).keys;
  const signer = keys.signer.bind(keys);
  let release!: () => void;
  const released = new Promise<void>((r) => (release = r));
  let done!: () => void;
  const signing = new Promise<void>((r) => (done = r));
  let held = false;
  keys.signer = (ref) => {
    const s = signer(ref);
    const sign = async (data: Uint8Array) => {
      const signature = await s.sign(data);
      if (!held) {
        held = true;
        done();
        await released;
      }
      return signature;
    };
    return Object.assign(Object.create(s) as typeof s, { sign });
  };
  return {
    signing,
    release,
    restore() {
      release();
      keys.signer = signer;
    },
  };
}
