// The values a job shares with the jobs before it — its profile, issuer certificate and CA key — cross to a worker
// once (compute-shared.ts): the pool's side numbers them per worker by identity, the worker puts them back. Through
// structured clone as the worker gets them: the first message defines them and the next only names them; the worker's
// jobs equal the jobs sent (and use the same objects from job to job); the jobs on the pool's side are left as they
// were; a changed profile or issuer certificate (a new object) is sent and used at once; a full table starts over.
// End to end (real workers, openssl) in compute-pool.test.ts.
import { describe, expect, it } from 'vitest';
import { resolveProfile, type Profile } from '@pkim/core';
import type { ComputeJob } from '../src/compute/compute-protocol';
import { createSharedReceiver, createSharedSender, type JobsMessage } from '../src/compute/compute-shared';

const tls = resolveProfile('tls-server');
const issuerA = Uint8Array.of(0x30, 3, 2, 1, 1);
const caKey = Uint8Array.of(0x30, 2, 5, 0);

function csrLeaf(profile: Profile, certificateDer: Uint8Array, serial: number): ComputeJob {
  return {
    kind: 'csr-leaf',
    csr: `csr ${serial}`,
    now: 1,
    what: 'test',
    key: { uri: 'software:key_a', keyType: 'ec-p256', publicKey: caKey },
    leaf: {
      input: {
        profile,
        issuer: { certificateDer, keyType: 'ec-p256' },
        serial: Uint8Array.of(serial),
        notBefore: 0,
        notAfter: 1000,
      },
      provisioners: [],
      facts: { ca: { id: 'ca_a', name: 'a', notAfter: null }, lifetimeMs: undefined, source: 'csr' },
    },
  };
}

/** a pool side and a worker side with structured clone between them; returns what the worker gets and what was sent */
function pair(max?: number) {
  const sender = createSharedSender(max);
  const receiver = createSharedReceiver();
  return (jobs: ComputeJob[]) => {
    let sent: JobsMessage | undefined;
    sender.post(
      jobs.map((job, id) => ({ id, job })),
      (m) => (sent = structuredClone(m)),
    );
    return { sent: sent!, got: receiver.jobsOf(structuredClone(sent!)).map((j) => j.job) };
  };
}

const inputOf = (j: ComputeJob) => (j as Extract<ComputeJob, { kind: 'csr-leaf' }>).leaf.input;

describe('shared job values (profile, issuer certificate, CA key) sent once per worker', () => {
  it('defines them in the first message, names them after; the worker gets the jobs as sent', () => {
    const post = pair();
    const jobs = [csrLeaf(tls, issuerA, 1), csrLeaf(tls, issuerA, 2)];
    const first = post(jobs);
    expect(first.sent.define?.length).toBe(3); // profile, issuer certificate, CA key: once for both jobs
    expect(first.got).toEqual(jobs);
    // the pool's jobs are left as they were
    expect(inputOf(jobs[0]!).profile).toBe(tls);
    expect(inputOf(jobs[1]!).issuer!.certificateDer).toBe(issuerA);
    const second = post([csrLeaf(tls, issuerA, 3)]);
    expect(second.sent.define).toBeUndefined();
    expect(JSON.stringify(second.sent).length).toBeLessThan(JSON.stringify(first.sent).length / 2);
    expect(second.got).toEqual([csrLeaf(tls, issuerA, 3)]);
    // one object in the worker from job to job (its caches by identity hold)
    expect(inputOf(second.got[0]!).profile).toBe(inputOf(first.got[0]!).profile);
    expect(inputOf(second.got[0]!).issuer!.certificateDer).toBe(inputOf(first.got[1]!).issuer!.certificateDer);
  });

  it('sends a changed profile and a CA’s new certificate at once, and the worker uses them', () => {
    const post = pair();
    post([csrLeaf(tls, issuerA, 1)]);
    const changed: Profile = { ...tls, maxLifetimeMs: 1000, extKeyUsage: ['serverAuth', 'clientAuth'] };
    const issuerB = Uint8Array.of(0x30, 3, 2, 1, 2);
    const { sent, got } = post([csrLeaf(changed, issuerA, 2), csrLeaf(tls, issuerB, 3), csrLeaf(tls, issuerA, 4)]);
    expect(sent.define?.map(([, v]) => v)).toEqual([changed, issuerB]);
    expect(inputOf(got[0]!).profile).toEqual(changed);
    expect(inputOf(got[1]!).issuer!.certificateDer).toEqual(issuerB);
    expect(inputOf(got[2]!).issuer!.certificateDer).toEqual(issuerA);
    expect(inputOf(got[2]!).profile).toEqual(tls);
  });

  it('starts over when the table is full; other jobs (OCSP, CSR) pass as they are', () => {
    const post = pair(8);
    const profiles = Array.from({ length: 5 }, (_, i) => ({ ...tls, name: `p${i}` }));
    for (const p of profiles) post([csrLeaf(p, issuerA, 1)]);
    const { sent, got } = post([csrLeaf(profiles[0]!, issuerA, 9), { kind: 'csr', csr: 'x' }]);
    expect(sent.reset).toBe(true);
    expect(got).toEqual([csrLeaf(profiles[0]!, issuerA, 9), { kind: 'csr', csr: 'x' }]);
  });

  it('freezes what the worker keeps: a job cannot change a profile for the jobs after it', () => {
    const post = pair();
    const { got } = post([csrLeaf(tls, issuerA, 1)]);
    const kept = inputOf(got[0]!).profile as { maxLifetimeMs: number; keyUsage: string[] };
    expect(() => (kept.maxLifetimeMs = 1)).toThrow(TypeError);
    expect(() => kept.keyUsage.push('keyCertSign')).toThrow(TypeError);
  });

  it('a worker that lacks a named value refuses the message (never a job without its profile)', () => {
    const receiver = createSharedReceiver();
    const job = csrLeaf(tls, issuerA, 1);
    (inputOf(job) as unknown as { profile: number }).profile = 7;
    expect(() => receiver.jobsOf({ jobs: [{ id: 1, job }] })).toThrow(/shared value 7/);
  });
});
