import { createPrivateKey, createPublicKey } from 'node:crypto';
import { PkiError, checkPathLen, checkTimestampMs, newId, type KeyType } from '@pkim/shared';
import {
  assertLintClean,
  decodeCsrAsync,
  decodeCsrContentAsync,
  verifyCsrContentAsync,
  generateKeyPairAsync,
  generateSerial,
  issuerFactsOf,
  keyTypeFromSpki,
  lintCaRequest,
  lintCertificate,
  parseCertificate,
  planCertificate,
  resolveProfile,
  serialToHex,
  type CertificateInfo,
  type CertificatePlanInput,
  type DecodedCsr,
  type DistinguishedName,
  type UnverifiedCsr,
  type NameConstraints,
  type Profile,
  type SubjectAltNames,
} from '@pkim/core';
import type { KeyRef } from '@pkim/keys';
import type { CaRow, CertificateRequestRow, CertificateRow, NewAuditEvent, UnitOfWork } from '@pkim/store';
import { authorize } from '../permissions';
import type { Actor, CaView, IssuedCertificate } from '../types';
import { auditEvent } from '../audit-service';
import { loadRenewable, recordFailure, type CaContext, type SigningServiceDeps } from '../ca-context';
import { subjectToDn } from '../subject-input';
import {
  caUrlsChecked,
  lacksRevocationUrls,
  partitionOf,
  partitionUrls,
  urlsFromBase,
  urlsOfCa,
  type PublicUrls,
} from '../url-plan';
import {
  activeCaFields,
  caCreatedEvent,
  caKeyCreatedEvent,
  destroyKeyQuietly,
  existingCaKey,
  newCaRow,
} from '../ca-row';
import { createKmsCertifiedRoot } from './kms-certified-root';
import { signSubordinateCaCsr } from './subordinate-ca-csr';
import { historyEntry, renewCaCertificate } from './ca-renewal';
import { nextCertificateUrls, profileLikeCurrent } from './ca-next-certificate';
import { leafRecord, signCertificatePlan, type CertificateSigner, type SignedCertificate } from './certificate-steps';
import { checkCsrLeaf, checkLeafSubject, type CsrLeaf } from './leaf-checks';
import type { CsrLeafSigned, KeyLeafSigned } from '../compute/compute-protocol';
import { provisionerRef, type Provisioner } from './provisioner';
import { certificateIssuedEvent } from './issued-event';
import {
  applyLifetime,
  applyProfileModifiers,
  checkCa,
  checkCaCertificates,
  checkKeyType,
  checkProfile,
  checkProfileKeyType,
} from './provisioner-policy';
import { provisionersFor } from './provisioner-registry';
import type {
  ApprovedRequestResult,
  ChannelWrites,
  IntermediateCaRequest,
  LeafFromCsrRequest,
  LeafWithGeneratedKeyRequest,
  RootCaRequest,
  SignFunction,
  SignRequest,
  SignResult,
  Via,
} from './sign-request';
import { checkNewCaName, defaultPathLen, lifetimeEnd, wholeSeconds, withinProfileMax } from './plan-rules';

/** Clock-skew allowance: certificates are valid from one minute before issuance. */
const BACKDATE_MS = 60_000;

/** A kept key reused by a renewal: its public key (SPKI DER), checked to be of the expected type. */
function reusedKeyPair(privateKeyPem: string, keyType: KeyType): { publicKey: Uint8Array; privateKeyPem: string } {
  const spki = new Uint8Array(createPublicKey(createPrivateKey(privateKeyPem)).export({ format: 'der', type: 'spki' }));
  if (keyTypeFromSpki(spki) !== keyType) {
    throw new PkiError('input.invalid', `the reused key is ${keyTypeFromSpki(spki)}, not ${keyType}`);
  }
  return { publicKey: spki, privateKeyPem };
}

export interface SigningPipeline {
  sign: SignFunction;
  /**
   * Everything `sign` would check for a leaf from this CSR up to and including the lint — CA, the actor's own
   * provisioner, profile, names, lifetime, the linter on the planned certificate — without signing or writing
   * anything. Requests are checked with it when they are submitted (what the approval would refuse is refused at
   * once); the approval still runs the whole pipeline, with its one lint at signing time.
   */
  preflight(r: { ca: string; csrPem: string; profile: string; lifetimeMs?: number }, via: Via): Promise<void>;
  /**
   * `sign`'s checks of a leaf (permission, CA, provisioners, profile, names, lifetime, the lint of the planned
   * certificate) without generating a key, signing or writing anything: dry runs (bulk CSV). A generated-key
   * request is planned with a sample public key of its type.
   */
  checkLeaf(request: LeafRequest, via: Via): Promise<void>;
  /**
   * Signs every leaf as `sign` would, then commits them all in ONE transaction: all or none (a failure at any
   * request, or at the commit, writes no certificate; one `certificate.issue_failed` event records it).
   * `onSigned` may return a promise: the batch waits for it (backpressure of a progress stream).
   */
  signLeavesTogether(
    requests: LeafRequest[],
    via: Via,
    onSigned?: (done: number) => void | Promise<void>,
  ): Promise<IssuedCertificate[]>;
}

type LeafRequest = LeafFromCsrRequest | LeafWithGeneratedKeyRequest;

/** one unit of work of several (lists concatenated; a unit with a non-list member cannot be merged) */
function mergeUnits(units: UnitOfWork[]): UnitOfWork {
  const out: Record<string, unknown[]> = {};
  for (const u of units) {
    for (const [k, v] of Object.entries(u)) {
      if (v === undefined) continue;
      if (!Array.isArray(v)) throw new PkiError('internal', `cannot merge '${k}' of several units of work`);
      (out[k] ??= []).push(...(v as unknown[]));
    }
  }
  return out;
}

/** what a rotation adds to its successor: the predecessor (`expired`: past its end), a root's cross certificate */
interface Successor {
  predecessor: CaRow;
  cross?: CertificateInfo;
  disable: boolean;
  expired: boolean;
}

function toCoreConstraints(nc: NameConstraints | undefined | null): NameConstraints | undefined {
  if (!nc) return undefined;
  const has = Object.values(nc).some((v) => Array.isArray(v) && v.length > 0);
  return has ? nc : undefined;
}

/** A leaf about to be planned and signed (what the three leaf kinds have in common after their first steps). */
interface LeafSigning {
  ctx: CaContext;
  profile: Profile;
  lifetimeMs?: number;
  requestId?: string | null;
  certificateId?: string;
  extraUnit?: Omit<UnitOfWork, 'insertCertificates' | 'audit'>;
  extraAudit?: NewAuditEvent[];
  /** the channel's rows for this certificate (same transaction) */
  commitWith?: (certificate: CertificateRow) => ChannelWrites;
  provisioner: Provisioner;
  now: number;
  /** keep the leaf's private key (generated or reused: `privateKeyPem` of its subject), sealed, with the certificate */
  keepKey?: boolean;
  renewedFrom?: string;
}

/**
 * What a leaf certifies: a subject and names checked on this thread with a key given (a reused one: its PEM), or with
 * a key to generate of a type — generated and signed in one step, one worker job when there is a pool — or a CSR that
 * is decoded, checked (leaf-checks.ts) and signed in one step (one worker job when there is a pool)
 */
type LeafSubject =
  | { subject: DistinguishedName; sans: SubjectAltNames; publicKey: Uint8Array; privateKeyPem?: string }
  | { subject: DistinguishedName; sans: SubjectAltNames; generate: KeyType }
  | { csrPem: string; leaf: Omit<CsrLeaf, 'input'>; read?: UnverifiedCsr };

/** the plan input of a leaf but what its subject gives (subject, names, key) */
type LeafPlanBase = CsrLeaf['input'];

/**
 * THE signing pipeline. Every certificate PKI Manager makes — a root, an intermediate, a leaf from a CSR or
 * a generated key, an approved request, and every later channel (Vault roles, SPIFFE, ACME, bulk) — is made
 * by `sign(request, via)`:
 *
 *   resolve CA once → provisioner policy (validators + modifiers) → plan → lint ONCE → sign with the CA key
 *   → verify the signature → commit row + audit event (naming the provisioner) in one transaction.
 *
 * A failure at any step records a `*.failed` audit event and writes no certificate. Nothing else in the code
 * base calls the core certificate encoder or signs a certificate (tests/architecture.test.ts checks it).
 */
export function createSigningPipeline(deps: SigningServiceDeps): SigningPipeline {
  const { store, keys, clock, logger, contexts, compute } = deps;
  /** CAs this process already warned about (no CRL/OCSP URL): once per CA and process */
  const warnedWithoutUrls = new Set<string>();

  /** a CSR decoded and its proof of possession checked: in a worker when there is a pool */
  function decodeCsrOf(csr: string): Promise<DecodedCsr> {
    return compute ? compute.decodeCsr(csr) : decodeCsrAsync(csr);
  }

  /**
   * Signing whose certificate is committed in the turn it ends (a worker job, or an HSM/KMS signature here): the
   * store's group commit holds its batch (briefly) while such work runs, so their units share one transaction
   * (Store.expectCommit). Nothing is announced when the store's policy never holds (SQLite's default).
   */
  function committing<T>(job: Promise<T>): Promise<T> {
    if (!store.holdsCommits) return job;
    const done = store.expectCommit();
    job.then(done, done);
    return job;
  }

  /**
   * Runs `steps`, which come before a CSR is decoded; when they fail, the CSR's own error comes first (a CSR that
   * fails two checks gives the error the pipeline always gave: the CSR is decoded before the policy is applied).
   */
  async function csrFirst<T>(csrPem: string, steps: () => T | Promise<T>): Promise<T> {
    try {
      return await steps();
    } catch (e) {
      await decodeCsrOf(csrPem);
      throw e;
    }
  }

  /**
   * plan → lint once → encode → sign → assemble → verify (certificate-steps.ts): in a worker thread when there is a
   * pool and the CA key can be lent to it (software keys), else here (HSM/KMS keys sign through their backend)
   */
  async function signPlan(
    input: CertificatePlanInput,
    now: number,
    signer: { keyUri: string; keyType: KeyType; publicKey: Uint8Array },
    what: string,
  ): Promise<SignedCertificate> {
    checkTimestampMs(input.notAfter, 'notAfter');
    if (compute?.signsWith(signer.keyUri)) {
      const key = { uri: signer.keyUri, keyType: signer.keyType, publicKey: signer.publicKey };
      return committing(compute.signCertificate(input, now, key, what));
    }
    return committing(signCertificatePlan(input, now, signerOf(signer), what));
  }

  /**
   * The signer of each CA key, made once per key: keyed by its public key's bytes object, which the CA context keeps
   * while the CA's certificate is unchanged (ca-context.ts), and checked against the URI and type asked for; a new
   * object (another CA, a changed certificate) gets a new one. Not a handle per certificate (keys.signer: a lookup
   * of the backend, an object and two closures each time).
   */
  const signers = new WeakMap<Uint8Array, { keyUri: string; keyType: KeyType; signer: CertificateSigner }>();
  function signerOf(s: { keyUri: string; keyType: KeyType; publicKey: Uint8Array }): CertificateSigner {
    const hit = signers.get(s.publicKey);
    if (hit?.keyUri === s.keyUri && hit.keyType === s.keyType) return hit.signer;
    const key = keys.signer({ uri: s.keyUri, keyType: s.keyType, publicKey: s.publicKey });
    const signer: CertificateSigner = { publicKey: s.publicKey, sign: (tbs) => key.sign(tbs) };
    signers.set(s.publicKey, { keyUri: s.keyUri, keyType: s.keyType, signer });
    return signer;
  }

  /**
   * A leaf from a CSR: decode + proof of possession → the leaf checks → the certificate steps. ONE worker job when
   * the CA key can be lent and no provisioner has validator functions (they run here); else the CSR is decoded (in a
   * worker when there is a pool), checked here and signed by signPlan. The same checks either way (leaf-checks.ts).
   */
  async function signCsrLeaf(
    csrPem: string,
    leaf: CsrLeaf,
    now: number,
    signer: { keyUri: string; keyType: KeyType; publicKey: Uint8Array },
    what: string,
    read?: UnverifiedCsr,
  ): Promise<CsrLeafSigned> {
    if (compute?.signsWith(signer.keyUri) && leaf.provisioners.every((p) => !p.policy.validators?.length)) {
      await csrFirst(csrPem, () => checkTimestampMs(leaf.input.notAfter, 'notAfter'));
      const key = { uri: signer.keyUri, keyType: signer.keyType, publicKey: signer.publicKey };
      // what the checks read of each provisioner, as data (its modifiers are applied already)
      const provisioners = leaf.provisioners.map(({ kind, id, name, policy }) => ({ kind, id, name, policy }));
      return committing(compute.signCsrLeaf(csrPem, { ...leaf, provisioners }, now, key, what));
    }
    // without a pool: the CSR's content only (no copy of its DER, no subject string: the checks do not read them)
    // (a CSR the channel read already, from this PEM: only its signature verified)
    const csr = compute
      ? compute.decodeCsr(csrPem)
      : read?.input === csrPem
        ? verifyCsrContentAsync(read)
        : decodeCsrContentAsync(csrPem);
    const checked = checkCsrLeaf(await csr, leaf);
    const { der } = await signPlan(checked.input, now, signer, what);
    return leafRecord(der, checked.subject, checked.sans, checked.keyType); // one object, as a worker's answer
  }

  /**
   * A leaf with a key generated for it: generate → the certificate steps. ONE worker job when the CA key can be lent
   * (the key is generated in the worker: EC and Ed25519 on its thread, RSA on libuv's thread pool); else the key is
   * generated on libuv's thread pool and the certificate signed by signPlan. The same steps in the same order either
   * way (generateLeafKey, then signCertificatePlan).
   */
  async function signKeyLeaf(
    keyType: KeyType,
    input: Omit<CertificatePlanInput, 'publicKey'>,
    now: number,
    signer: { keyUri: string; keyType: KeyType; publicKey: Uint8Array },
    what: string,
  ): Promise<KeyLeafSigned> {
    if (compute?.signsWith(signer.keyUri)) {
      checkTimestampMs(input.notAfter, 'notAfter');
      const key = { uri: signer.keyUri, keyType: signer.keyType, publicKey: signer.publicKey };
      return committing(compute.signKeyLeaf(keyType, input, now, key, what));
    }
    const pair = await generateKeyPairAsync(keyType);
    const { der } = await signPlan({ ...input, publicKey: pair.publicKey }, now, signer, what);
    return { ...leafRecord(der, input.subject), ...pair };
  }

  /**
   * the API's profiles current enough for `name` (profile-service.ts): no await and no read while the ones kept may
   * be used (PROFILE_RECHECK_MS), a settings read when another connection committed since or the name is unknown
   */
  function profilesFor(name: string | undefined): Promise<void> | undefined {
    return deps.profileView?.fresh(name);
  }

  /** provisioner policy for a leaf on a resolved CA: CA, profile (+ modifiers), key type, names, lifetime */
  function leafPolicy(
    via: Via,
    ctx: CaContext,
    profileName: string | undefined,
    lifetimeMs: number | undefined,
  ): { all: Provisioner[]; effective: Provisioner; profile: Profile; lifetimeMs: number | undefined } {
    const { all, effective } = provisionersFor(via);
    checkCa(all, ctx.ca);
    const name = profileName ?? effective.modifiers?.defaultProfile;
    if (!name) throw new PkiError('input.invalid', 'a profile is required (this channel has no default profile)');
    checkProfile(all, name);
    const base = resolveProfile(name, deps.customProfiles);
    if (base.isCa) {
      throw new PkiError(
        'policy.profile_not_allowed',
        `profile ${base.name} issues CA certificates: create a CA with 'pkim ca create --parent' (its key made ` +
          "here), or sign a CA's CSR with the Vault API's sign-intermediate (its key held elsewhere)",
      );
    }
    const profile = applyProfileModifiers(effective, base);
    return { all, effective, profile, lifetimeMs: applyLifetime(all, effective, lifetimeMs, profile) };
  }

  /**
   * certificates per CA (the partitioning threshold): read from the counters at most every 10 s, counting this
   * process's signatures in between (other processes' are seen at the next read)
   */
  const caSizes = new Map<string, { n: number; at: number }>();
  async function caSize(caId: string): Promise<number> {
    const now = performance.now();
    const known = caSizes.get(caId);
    if (known && now - known.at < 10_000) return known.n++;
    const counts = await store.certificates.countByStatus(caId);
    const n = Object.values(counts).reduce((a, b) => a + b, 0);
    caSizes.set(caId, { n: n + 1, at: now });
    return n;
  }

  /**
   * The URLs of a leaf: the channel's, else the CA's — with the CRL partition of its notAfter as CRL distribution
   * point once the CA has passed PKIM_CRL_PARTITION_ABOVE certificates (docs/crl.md)
   */
  async function leafUrls(s: Pick<LeafSigning, 'ctx' | 'provisioner'>, notAfter: number): Promise<PublicUrls> {
    const channel = s.provisioner.modifiers?.urls;
    if (channel) return channel;
    const urls = urlsOfCa(s.ctx.ca, deps.publicBaseUrl);
    const settings = deps.crlPartition;
    if (!settings || settings.aboveCertificates <= 0 || !urls.crlDistributionPoints?.length) return urls;
    if ((await caSize(s.ctx.ca.id)) < settings.aboveCertificates) return urls;
    const partitioned = partitionUrls(
      s.ctx.ca.id,
      urls.crlDistributionPoints,
      partitionOf(notAfter, settings.windowDays),
    );
    return partitioned.length ? { ...urls, crlDistributionPoints: partitioned } : urls;
  }

  /**
   * the plan input of a leaf: validity from the profile or the asked lifetime, URLs, the CA's constraints. A lifetime
   * asked past the CA's own notAfter follows the CA's `leafNotAfterBehavior` (OpenBao's `leaf_not_after_behavior`):
   * `err` leaves it to the linter, which refuses it; `truncate` ends the leaf at the CA's notAfter; `permit` signs it
   * (the linter told so). A default lifetime always ends with the CA.
   */
  async function leafPlanBase(
    s: Pick<LeafSigning, 'ctx' | 'profile' | 'lifetimeMs' | 'provisioner' | 'now'>,
    serial: Uint8Array,
  ): Promise<LeafPlanBase> {
    const { ctx, profile, now } = s;
    const backdate = s.provisioner.modifiers?.backdateMs ?? BACKDATE_MS;
    const notBefore = wholeSeconds(Math.max(now - backdate, ctx.ca.notBefore ?? 0));
    const caEnd = ctx.ca.notAfter ?? Number.MAX_SAFE_INTEGER;
    let notAfter = withinProfileMax(
      s.lifetimeMs !== undefined
        ? lifetimeEnd(now, s.lifetimeMs, s.provisioner.modifiers?.notAfter)
        : Math.min(now + profile.defaultLifetimeMs, caEnd),
      s.lifetimeMs ?? profile.defaultLifetimeMs,
      notBefore,
      profile,
    );
    const behavior = ctx.ca.leafNotAfterBehavior;
    if (behavior === 'truncate' && notAfter > caEnd) notAfter = caEnd;
    return {
      profile,
      issuer: ctx.issuer,
      ancestorNameConstraints: await contexts.ancestorNameConstraints(ctx.ca),
      permitBeyondIssuer: behavior === 'permit',
      serial,
      notBefore,
      notAfter,
      ...(await leafUrls(s, notAfter)),
    };
  }

  async function signLeaf(
    s: LeafSigning,
    of: LeafSubject,
    actor: Actor,
    sink?: (unit: UnitOfWork) => void,
  ): Promise<IssuedCertificate> {
    const { ctx, profile, now } = s;
    const serial = generateSerial();
    const base =
      'csrPem' in of ? await csrFirst(of.csrPem, () => leafPlanBase(s, serial)) : await leafPlanBase(s, serial);
    const { notBefore, notAfter } = base;
    const signer = { keyUri: ctx.ca.keyUri, keyType: ctx.ca.keyType, publicKey: ctx.info.publicKey };
    const what = `the signed certificate of CA ${ctx.ca.name}`;
    // the row's PEM, fingerprint and subject strings come with the signature (leafRecord: in the worker for a job)
    let signed: CsrLeafSigned & { privateKeyPem?: string };
    if ('csrPem' in of) signed = await signCsrLeaf(of.csrPem, { ...of.leaf, input: base }, now, signer, what, of.read);
    else if ('generate' in of) {
      const { subject, sans, generate: keyType } = of;
      signed = { ...(await signKeyLeaf(keyType, { ...base, subject, sans }, now, signer, what)), sans, keyType };
    } else {
      const { subject, sans, publicKey, privateKeyPem } = of;
      const { der } = await signPlan({ ...base, subject, sans, publicKey }, now, signer, what);
      signed = { ...leafRecord(der, subject), sans, keyType: keyTypeFromSpki(publicKey), privateKeyPem };
    }
    const { sans, privateKeyPem } = signed;
    const warnings: string[] = [];
    if (lacksRevocationUrls(base) && !warnedWithoutUrls.has(ctx.ca.id)) {
      warnedWithoutUrls.add(ctx.ca.id);
      const w =
        `CA '${ctx.ca.name}' has no CRL or OCSP URL: relying parties cannot check revocation of what it issues ` +
        `(set them once with: pkim ca set-urls ${ctx.ca.name} --base https://pki.example.com)`;
      warnings.push(w);
      logger.warn({ caId: ctx.ca.id, code: 'ca.no_urls' }, w);
    }
    const t = clock.now();
    const row: CertificateRow = {
      id: s.certificateId ?? newId('crt'),
      caId: ctx.ca.id,
      serialHex: serialToHex(serial),
      subjectDn: signed.subjectDn,
      commonName: signed.commonName,
      sans,
      profile: profile.name,
      keyType: signed.keyType,
      notBefore,
      notAfter,
      status: 'active',
      revokedAt: null,
      revocationReason: null,
      fingerprintSha256: signed.fingerprintSha256,
      certificatePem: signed.certificatePem,
      requestId: s.requestId ?? null,
      issuedBy: actor.id,
      createdAt: t,
      renewedFrom: s.renewedFrom ?? null,
      provisioner: s.provisioner.id,
    };
    const { audit: channelAudit, ...channelUnit } = s.commitWith?.(row) ?? {};
    const stored = s.provisioner.modifiers?.noStore !== true;
    const keepKeyPem = s.keepKey ? privateKeyPem : undefined;
    const keepKey = stored && keepKeyPem !== undefined;
    if (keepKey && !deps.keySealer) throw new PkiError('internal', 'no key sealer configured to keep the key');
    const unit: UnitOfWork = {
      ...s.extraUnit,
      ...channelUnit,
      insertCertificates: stored ? [row] : undefined,
      insertCertificateKeys:
        keepKey && deps.keySealer && keepKeyPem !== undefined
          ? [{ certificateId: row.id, sealedKey: deps.keySealer.seal(row.id, keepKeyPem), createdAt: t }]
          : undefined,
      audit: [
        ...(s.extraAudit ?? []),
        ...(channelAudit ?? []),
        certificateIssuedEvent(clock, actor, row, s.provisioner, {
          ...(stored ? {} : { stored: false }),
          ...(keepKey ? { keyKept: true } : {}),
          ...(s.renewedFrom ? { renewedFrom: s.renewedFrom } : {}),
        }),
      ],
    };
    // a certificate not stored is not checked by the commit (Store.checksIssuingCaAtCommit): its CA is read now
    if (!stored && store.checksIssuingCaAtCommit) await contexts.loadActive(ctx.ca.id, now, true);
    if (sink) sink(unit);
    else await store.commit(unit);
    return {
      certificate: row,
      certificatePem: row.certificatePem,
      chainPem: await contexts.chainPem(ctx.ca),
      ...(privateKeyPem !== undefined ? { privateKeyPem } : {}),
      ...(warnings.length ? { warnings } : {}),
    };
  }

  /**
   * Every check of a leaf that needs no key — CA, the actor's and the channel's provisioners, profile, SAN limits,
   * validators, key type, names — and what the later steps need (no audit event, nothing written).
   */
  async function prepareLeaf(
    r: LeafRequest,
    via: Via,
  ): Promise<{
    signing: LeafSigning;
    subject: DistinguishedName;
    sans: SubjectAltNames;
    keyType: KeyType;
    csrPublicKey?: Uint8Array;
  }> {
    const now = clock.now();
    const ctx = await contexts.loadActive(r.ca, now, false, via.actor);
    await profilesFor(r.profile); // after the CA check: the Store.otherCommits value it took (create-authority.ts)
    const csr = r.kind === 'leaf-csr' ? await decodeCsrOf(r.csrPem) : undefined;
    const subject = r.subject === undefined && csr ? csr.subject : subjectToDn(r.subject ?? '');
    const keyType = csr ? csr.keyType : (r as LeafWithGeneratedKeyRequest).keyType;
    // every check that needs no key first, so a refused request costs no key generation
    const policy = leafPolicy(via, ctx, r.profile, r.lifetimeMs);
    const facts = {
      ca: ctx.ca,
      profile: policy.profile,
      subject,
      keyType,
      lifetimeMs: policy.lifetimeMs,
      source: csr ? ('csr' as const) : ('generated-key' as const),
    };
    const sans = checkLeafSubject(policy.all, facts, r.sans ?? csr?.sans);
    return {
      signing: leafSigning(r, ctx, policy, now),
      subject,
      sans,
      keyType,
      csrPublicKey: csr?.publicKey,
    };
  }

  function leafSigning(
    r: LeafRequest,
    ctx: CaContext,
    policy: ReturnType<typeof leafPolicy>,
    now: number,
  ): LeafSigning {
    return {
      ctx,
      profile: policy.profile,
      lifetimeMs: policy.lifetimeMs,
      provisioner: policy.effective,
      commitWith: r.commitWith,
      renewedFrom: r.renewedFrom,
      now,
    };
  }

  /**
   * A leaf from a CSR: CA, subject, profile and lifetime decided here; the CSR decoded, its names and key checked
   * and the certificate signed in one step (signCsrLeaf: one worker job when there is a pool)
   */
  async function issueLeafFromCsr(
    r: LeafFromCsrRequest,
    via: Via,
    sink?: (unit: UnitOfWork) => void,
  ): Promise<IssuedCertificate> {
    const now = clock.now();
    const ctx = await contexts.loadActive(r.ca, now, false, via.actor);
    await profilesFor(r.profile); // after the CA check: the Store.otherCommits value it took (create-authority.ts)
    const { subject, policy } = await csrFirst(r.csrPem, () => ({
      subject: r.subject === undefined ? undefined : subjectToDn(r.subject),
      policy: leafPolicy(via, ctx, r.profile, r.lifetimeMs),
    }));
    const { id, name, notAfter } = ctx.ca;
    const leaf = {
      subject,
      sans: r.sans,
      provisioners: policy.all,
      facts: { ca: { id, name, notAfter }, lifetimeMs: policy.lifetimeMs, source: 'csr' as const },
    };
    return signLeaf(leafSigning(r, ctx, policy, now), { csrPem: r.csrPem, leaf, read: r.csrRead }, via.actor, sink);
  }

  /** a leaf from a CSR or a generated key, signed; committed at once, or handed to `sink` (one batch transaction) */
  async function issueLeaf(r: LeafRequest, via: Via, sink?: (unit: UnitOfWork) => void): Promise<IssuedCertificate> {
    authorize(via.actor, via.provisioner?.permission ?? 'certificate:issue');
    if (r.kind === 'leaf-csr') return issueLeafFromCsr(r, via, sink);
    const { signing, subject, sans, keyType } = await prepareLeaf(r, via);
    // a new key is generated with the certificate (signKeyLeaf: one worker job when there is a pool)
    const key = r.reuseKeyPem !== undefined ? reusedKeyPair(r.reuseKeyPem, keyType) : { generate: keyType };
    return signLeaf({ ...signing, keepKey: r.keepKey }, { subject, sans, ...key }, via.actor, sink);
  }

  async function leaf(r: LeafRequest, via: Via): Promise<IssuedCertificate> {
    try {
      return await issueLeaf(r, via);
    } catch (e) {
      throw await recordFailure(deps, via.actor, 'certificate.issue_failed', r.ca, e, {
        profile: r.profile,
        source: r.kind === 'leaf-csr' ? 'csr' : 'server-generated-key',
        ...r.auditDetails,
      });
    }
  }

  /** a public key of this type for checks that sign nothing (dry runs): one per type and process */
  const sampleKeys = new Map<KeyType, Promise<Uint8Array>>();
  function sampleKey(keyType: KeyType): Promise<Uint8Array> {
    let k = sampleKeys.get(keyType);
    if (!k) {
      k = generateKeyPairAsync(keyType).then((p) => p.publicKey);
      sampleKeys.set(keyType, k);
    }
    return k;
  }

  /** `sign`'s checks of a leaf up to and including the lint of its planned certificate; signs and writes nothing */
  async function checkLeafPlan(r: LeafRequest, via: Via): Promise<void> {
    const { signing, subject, sans, keyType, csrPublicKey } = await prepareLeaf(r, via);
    const base = await leafPlanBase(signing, generateSerial());
    const publicKey = csrPublicKey ?? (await sampleKey(keyType));
    checkTimestampMs(base.notAfter, 'notAfter');
    assertLintClean(lintCertificate(planCertificate({ ...base, subject, sans, publicKey }), { now: signing.now }));
  }

  async function checkLeaf(r: LeafRequest, via: Via): Promise<void> {
    authorize(via.actor, via.provisioner?.permission ?? 'certificate:issue');
    await checkLeafPlan(r, via);
  }

  async function signLeavesTogether(
    requests: LeafRequest[],
    via: Via,
    onSigned?: (done: number) => void | Promise<void>,
  ): Promise<IssuedCertificate[]> {
    const units: UnitOfWork[] = [];
    const issued: IssuedCertificate[] = [];
    let current: LeafRequest | undefined;
    try {
      for (const r of requests) {
        current = r;
        issued.push(await issueLeaf(r, via, (u) => units.push(u)));
        await onSigned?.(issued.length);
      }
      current = undefined;
      await store.commit(mergeUnits(units));
      return issued;
    } catch (e) {
      throw await recordFailure(deps, via.actor, 'certificate.issue_failed', current?.ca ?? null, e, {
        profile: current?.profile,
        batch: requests.length,
        signed: issued.length,
        committed: 0,
        ...current?.auditDetails,
      });
    }
  }

  async function approvedRequest(
    r: Extract<SignRequest, { kind: 'approved-request' }>,
    via: Via,
  ): Promise<ApprovedRequestResult> {
    const { actor } = via;
    try {
      authorize(actor, 'request:review');
      const req = await store.requests.findById(r.requestId);
      if (!req || (actor.role === 'requester' && req.requester !== actor.id)) {
        throw new PkiError('request.not_found', `no certificate request ${r.requestId}`);
      }
      if (req.status !== 'pending') {
        throw new PkiError('request.not_pending', `request ${req.id} is ${req.status}, not pending`);
      }
      const now = clock.now();
      const ctx = await contexts.loadActive(req.caId, now);
      await profilesFor(req.profile);
      // the reviewer's channel must allow what the request asks for: CA, profile and lifetime here (a CSR that fails
      // too gives its own error first, as it is decoded first), the CSR's names and key with the leaf checks of
      // signCsrLeaf — one worker job that decodes, checks and signs, as for a leaf from a CSR
      const policy = await csrFirst(req.csrPem, () => leafPolicy(via, ctx, req.profile, req.validityMs ?? undefined));
      const { id, name, notAfter } = ctx.ca;
      const leaf = {
        provisioners: policy.all,
        facts: { ca: { id, name, notAfter }, lifetimeMs: policy.lifetimeMs, source: 'approved-request' as const },
      };
      const t = clock.now();
      const certificateId = newId('crt');
      // request status, certificate row and both audit events commit in one transaction
      const issued = await signLeaf(
        {
          ctx,
          profile: policy.profile,
          lifetimeMs: policy.lifetimeMs,
          requestId: req.id,
          certificateId,
          provisioner: policy.effective,
          now,
          // the request names its certificate and keeps its notAfter: a requester's listing by expiry walks
          // (requester, certificate_not_after) — certificate_requests_requester_expiry_idx, migration 0038
          commitWith: (row) => ({
            updateRequests: [
              {
                id: req.id,
                onlyIfStatus: 'pending',
                patch: {
                  status: 'issued',
                  reviewer: actor.id,
                  reviewedAt: t,
                  updatedAt: t,
                  certificateId,
                  certificateNotAfter: row.notAfter,
                },
              },
            ],
          }),
          extraAudit: [auditEvent(clock, actor, 'request.approved', req.id, { certificateId })],
        },
        { csrPem: req.csrPem, leaf },
        actor,
      );
      const request: CertificateRequestRow = {
        ...req,
        status: 'issued',
        reviewer: actor.id,
        reviewedAt: t,
        updatedAt: t,
        certificateId: issued.certificate.id,
        certificateNotAfter: issued.certificate.notAfter,
      };
      return { request, issued };
    } catch (e) {
      throw await recordFailure(deps, actor, 'request.approve_failed', r.requestId, e);
    }
  }

  async function preflight(
    r: { ca: string; csrPem: string; profile: string; lifetimeMs?: number },
    via: Via,
  ): Promise<void> {
    // no permission check: a requester submits what a reviewer will approve
    await checkLeafPlan({ kind: 'leaf-csr', ...r }, via);
  }

  const checkCaName = (name: string): Promise<void> => checkNewCaName(store.cas, name);

  /**
   * What a rotation (`pkim ca rotate`) adds to its successor CA: the predecessor, active now and checked by the CA
   * service (the same parent, signed here); for a root, the cross certificate — the successor's subject and new key
   * signed by the predecessor root's key, valid while both are — through the same certificate steps (the one lint,
   * the signature verified), so that relying parties that trust only the old root verify what the new one issues.
   */
  async function successorParts(
    r: RootCaRequest | IntermediateCaRequest,
    parent: CaContext | undefined,
    now: number,
    subject: DistinguishedName,
    publicKey: Uint8Array,
    pathLen: number | null,
    rootNotAfter: number,
  ): Promise<Successor> {
    const pred = await loadRenewable(contexts, r.successorOf!.caId, 'rotated');
    const disable = !!r.successorOf!.disablePredecessor;
    const expired = pred.ca.notAfter !== null && pred.ca.notAfter <= now;
    if (parent) {
      if (pred.ca.parentId !== parent.ca.id)
        throw new PkiError('input.invalid', `the successor of CA ${pred.ca.name} is signed by its parent`);
      return { predecessor: pred.ca, disable, expired };
    }
    // an expired old root signs no cross certificate: nobody verifies through a root past its end
    if (expired) return { predecessor: pred.ca, disable, expired };
    // the cross certificate carries what the successor's does (the predecessor's key usage and policies)
    const profile = profileLikeCurrent(resolveProfile('intermediate-ca', deps.customProfiles), pred.info);
    const notBefore = wholeSeconds(Math.max(now - BACKDATE_MS, pred.ca.notBefore ?? 0));
    const { der } = await signPlan(
      {
        profile,
        subject,
        publicKey,
        issuer: pred.issuer,
        ancestorNameConstraints: await contexts.ancestorNameConstraints(pred.ca),
        serial: generateSerial(),
        notBefore,
        // the new root's end, cut at the old root's and the profile's maximum (a CA outliving its issuer: refused)
        notAfter: wholeSeconds(
          Math.min(rootNotAfter, pred.ca.notAfter ?? rootNotAfter, notBefore + profile.maxLifetimeMs),
        ),
        // the path through the cross certificate is one CA longer than the new root's own: below an old root with a
        // path length the cross certificate's is one less (the new root's when smaller)
        pathLen: pred.info.pathLen === null ? pathLen : Math.min(pathLen ?? Infinity, pred.info.pathLen - 1),
        nameConstraints: toCoreConstraints(r.nameConstraints),
        ...urlsOfCa(pred.ca, deps.publicBaseUrl),
      },
      now,
      { keyUri: pred.ca.keyUri, keyType: pred.ca.keyType, publicKey: pred.info.publicKey },
      `the cross certificate of the successor of CA ${pred.ca.name}`,
    );
    return { predecessor: pred.ca, cross: parseCertificate(der), disable, expired };
  }

  /** `ca.rotated` on the predecessor (and `ca.disabled` when asked): ids, names, serials — never a key */
  function rotatedEvents(s: Successor, row: CaRow, actor: Actor): NewAuditEvent[] {
    return [
      auditEvent(clock, actor, 'ca.rotated', s.predecessor.id, {
        name: s.predecessor.name,
        successorId: row.id,
        successorName: row.name,
        subject: row.subjectDn,
        keyType: row.keyType,
        backend: row.keyBackend,
        previousKeyUri: s.predecessor.keyUri,
        keyUri: row.keyUri,
        serial: row.serialHex,
        ...(s.cross && { crossSerial: s.cross.serialHex, crossNotAfter: s.cross.notAfter }),
        ...(s.expired && { predecessorExpired: true }),
        predecessorDisabled: s.disable,
      }),
      ...(s.disable ? [auditEvent(clock, actor, 'ca.disabled', s.predecessor.id, { rotatedTo: row.id })] : []),
    ];
  }

  async function caCertificate(r: RootCaRequest | IntermediateCaRequest, via: Via): Promise<CaView> {
    const { actor } = via;
    const parentRef = r.kind === 'intermediate-ca' ? r.parent : undefined;
    let backendName = r.backend ?? 'software';
    if (r.kind === 'root-ca' && r.kmsCertify) {
      if (r.backdateMs !== undefined || r.notAfter !== undefined || r.urls !== undefined || r.keyUri !== undefined)
        throw new PkiError(
          'input.invalid',
          'a KMS-certified root takes its key, dates and extensions from the KMS: no key, backdate, notAfter or URLs',
        );
      return createKmsCertifiedRoot(deps, r, via, { checkCaName });
    }
    let keyRef: KeyRef | undefined;
    let signingKey: KeyRef;
    try {
      authorize(actor, 'ca:write');
      const { all, effective } = provisionersFor(via);
      checkCaCertificates(all);
      await checkCaName(r.name);
      const subject = subjectToDn(r.subject);
      const now = clock.now();
      const parent = parentRef !== undefined ? await contexts.loadActive(parentRef, now) : undefined;
      if (parent) checkCa(all, parent.ca);
      // a rotation's successor is made like its predecessor's current certificate (ca-next-certificate.ts)
      const pred = r.successorOf && (await loadRenewable(contexts, r.successorOf.caId, 'rotated'));
      const baseProfile = resolveProfile(parent ? 'intermediate-ca' : 'root-ca', deps.customProfiles);
      const profile = pred ? profileLikeCurrent(baseProfile, pred.info) : baseProfile;
      const id = newId('ca');
      // a successor's URL setting: its own URLs under the predecessor's base (explicit lists name the old CA's)
      const successorUrls = pred?.ca.urls?.base ? urlsFromBase(pred.ca.urls.base, id) : undefined;
      checkProfileKeyType(profile, r.keyType);
      checkKeyType(all, r.keyType);
      const ownUrls = r.urls && caUrlsChecked(r.urls);
      const lifetimeMs = applyLifetime(all, effective, r.lifetimeMs, profile);
      const backdate = r.backdateMs ?? BACKDATE_MS;
      if (!Number.isSafeInteger(backdate) || backdate < 0)
        throw new PkiError('input.invalid', `backdate must be a whole number of ms, 0 or more, got ${backdate}`);
      const notBefore = wholeSeconds(parent ? Math.max(now - backdate, parent.ca.notBefore ?? 0) : now - backdate);
      let notAfter =
        lifetimeMs === undefined ? now + profile.defaultLifetimeMs : lifetimeEnd(now, lifetimeMs, r.notAfter);
      if (parent && lifetimeMs === undefined && parent.ca.notAfter !== null)
        notAfter = Math.min(notAfter, parent.ca.notAfter);
      notAfter = withinProfileMax(notAfter, lifetimeMs ?? profile.defaultLifetimeMs, notBefore, profile);
      const nameConstraints = toCoreConstraints(r.nameConstraints);
      const pathLen = r.pathLen === undefined ? defaultPathLen(profile.pathLen, parent?.ca.pathLen) : r.pathLen;
      checkPathLen(pathLen); // one rule and message for every channel (MAX_PATH_LEN)
      // everything that can be checked is checked before a key is created in the backend: the lint's own rules on the
      // parent's path length and the name constraints' syntax (a key made on an HSM or a KMIP server for nothing)
      const issuerPathLen = parent ? issuerFactsOf(parent.certificateDer).pathLen : undefined;
      assertLintClean(lintCaRequest({ issuerPathLen, pathLen, nameConstraints }));
      const serial = generateSerial();
      if (r.keyUri !== undefined) {
        // a key made before (Vault's keys/generate): checked, never destroyed here (keyRef stays unset)
        const existing = await existingCaKey(deps, r.keyUri, r.keyType, r.shareKeyWith);
        backendName = existing.backend;
        signingKey = keys.signer(existing.ref);
      } else {
        keyRef = await keys.get(backendName).generateKey({ keyType: r.keyType, label: r.name });
        signingKey = keyRef;
      }
      const { der } = await signPlan(
        {
          profile,
          subject,
          publicKey: signingKey.publicKey,
          issuer: parent?.issuer,
          ancestorNameConstraints: parent ? await contexts.ancestorNameConstraints(parent.ca) : undefined,
          selfSignedKeyType: parent ? undefined : r.keyType,
          serial,
          notBefore,
          notAfter,
          pathLen,
          nameConstraints,
          // an intermediate carries its parent's URLs, a root its own setting when given (OpenBao's root/generate,
          // root/rotate); else a successor root the kinds its predecessor's certificate carries, under its own setting
          ...(parent
            ? urlsOfCa(parent.ca, deps.publicBaseUrl)
            : pred && !ownUrls
              ? nextCertificateUrls(
                  pred.certificateDer,
                  urlsOfCa({ id, urls: successorUrls ?? null }, deps.publicBaseUrl),
                  {
                    addKinds: false,
                  },
                )
              : (ownUrls ?? {})),
        },
        now,
        parent
          ? { keyUri: parent.ca.keyUri, keyType: parent.ca.keyType, publicKey: parent.info.publicKey }
          : { keyUri: signingKey.uri, keyType: r.keyType, publicKey: signingKey.publicKey },
        'the new CA certificate',
      );
      const successor =
        r.successorOf && (await successorParts(r, parent, now, subject, signingKey.publicKey, pathLen, notAfter));
      const t = clock.now();
      const row = newCaRow(
        id,
        activeCaFields(parseCertificate(der), {
          name: r.name,
          parentId: parent?.ca.id ?? null,
          key: signingKey,
          keyType: r.keyType,
          keyBackend: backendName,
          nameConstraints: nameConstraints ?? null,
        }),
        deps.publicBaseUrl,
        t,
      );
      if (successorUrls) row.urls = successorUrls;
      if (ownUrls) row.urls = ownUrls;
      if (successor) {
        row.predecessorId = successor.predecessor.id;
        if (successor.cross)
          row.certificateHistory = [historyEntry('cross', successor.cross, successor.predecessor.id, t)];
      }
      await store.commit({
        insertCa: [row],
        updateCa: successor?.disable
          ? [{ id: successor.predecessor.id, patch: { status: 'disabled', updatedAt: t }, unlessRevoked: true }]
          : undefined,
        audit: [
          ...(r.keyUri === undefined ? [caKeyCreatedEvent(clock, actor, row)] : []),
          caCreatedEvent(clock, actor, row, {
            provisioner: provisionerRef(effective),
            ...(r.keyUri !== undefined && { existingKey: true }),
            ...(ownUrls && { urls: ownUrls }),
            ...(successor && { predecessorId: successor.predecessor.id }),
          }),
          ...(successor ? rotatedEvents(successor, row, actor) : []),
        ],
      });
      logger.info({ caId: row.id, name: row.name, backend: backendName }, 'CA created');
      return { ca: row, certificatePem: row.certificatePem, chainPem: await contexts.chainPem(row) };
    } catch (e) {
      await destroyKeyQuietly(deps, keyRef);
      // the parent's id when it resolves (audit targets are ids), else the reference as given
      const target = parentRef === undefined ? null : ((await store.cas.findByName(parentRef))?.id ?? parentRef);
      throw await recordFailure(deps, actor, 'ca.create_failed', target, e, {
        name: r.name,
        keyType: r.keyType,
        backend: backendName,
      });
    }
  }

  const sign = (async (request: SignRequest, via: Via) => {
    switch (request.kind) {
      case 'leaf-csr':
      case 'leaf-generated-key':
        return leaf(request, via);
      case 'approved-request':
        return approvedRequest(request, via);
      case 'root-ca':
      case 'intermediate-ca':
        return caCertificate(request, via);
      case 'subordinate-ca-csr':
        return signSubordinateCaCsr(deps, request, via, { signPlan, decodeCsr: decodeCsrOf });
      case 'ca-renewal':
        return renewCaCertificate(deps, request, via, { signPlan });
      default: {
        const kind = (request as { kind?: unknown }).kind;
        throw new PkiError('input.invalid', `unknown signing request kind '${String(kind)}'`);
      }
    }
  }) as <R extends SignRequest>(request: R, via: Via) => Promise<SignResult<R>>;

  return { sign, preflight, checkLeaf, signLeavesTogether };
}
