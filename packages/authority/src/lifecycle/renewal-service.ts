import type { Logger } from 'pino';
import { PkiError, type Clock, type KeyType } from '@pkim/shared';
import { fromPem, issuerFactsOf, resolveProfile, type Profile } from '@pkim/core';
import type { CertificateKeyRow, CertificateRow, SanJson, Store } from '@pkim/store';
import { auditEvent } from '../audit-service';
import { recordFailure } from '../ca-context';
import type { KeySealer } from '../exports/key-sealer';
import type { ProfileView } from '../profile-service';
import { checkActorMayUseCa } from '../signing/provisioner-policy';
import type { ChannelWrites, SignFunction, SubordinateCaCsrRequest, Via } from '../signing/sign-request';
import type { Actor, IssuedCertificate } from '../types';

export interface RenewOptions {
  /** new lifetime (default: the profile's default, as for a new certificate) */
  validityMs?: number;
  /** new SANs (default: the old certificate's) */
  sans?: SanJson;
  /** revoke the old certificate as `superseded`, in the same transaction as the new one */
  revokeOld?: boolean;
  /** a new key from a CSR (its subject is replaced by the old certificate's) */
  csrPem?: string;
  /** keep the old key: only where the profile has `allowKeyReuse` and the server kept the old key */
  reuseKey?: boolean;
  /** type of the new server-generated key (default: the old certificate's key type) */
  keyType?: KeyType;
  /** keep the new generated key for exports (default: when the old key was kept) */
  keepKey?: boolean;
}

export interface RenewalResult {
  issued: IssuedCertificate;
  previous: CertificateRow;
  /** true when the old certificate was revoked as superseded with this renewal */
  previousRevoked: boolean;
}

export interface RenewalService {
  /**
   * renews a certificate: same subject, SANs (unless given), profile and CA, through the signing pipeline; a new key
   * by default (server-generated, or from a CSR). The new certificate records `renewedFrom`; the old one's
   * `renewedBy` is derived from it.
   */
  renew(ref: string, options: RenewOptions, actor: Actor, via?: Omit<Via, 'actor'>): Promise<RenewalResult>;
  /**
   * refuses as `renew(…, { reuseKey: true })` would (`renewal.key_reuse_not_allowed`, `export.key_not_held`) when a
   * renewal of this certificate could not reuse its key; signs and changes nothing (a batch checks every certificate
   * with it before it renews one)
   */
  checkKeyReuse(old: CertificateRow): Promise<void>;
}

export interface RenewalServiceDeps {
  store: Store;
  clock: Clock;
  logger: Logger;
  sign: SignFunction;
  keySealer: KeySealer;
  customProfiles?: Profile[];
  profileView?: ProfileView;
  findCertificate(ref: string): Promise<CertificateRow>;
  /** told after a revocation commits: the CAs whose CRL changed, the certificates revoked (their OCSP responses) */
  onRevoked?: (caIds: string[], revoked?: { caId: string; serialHex: string }[]) => void;
}

export function createRenewalService(deps: RenewalServiceDeps): RenewalService {
  const { store, clock, sign, keySealer } = deps;

  /** whether `old` is a CA certificate among the certificates (a subordinate CA's, from Vault `sign-intermediate`) */
  function isCaCertificate(old: CertificateRow): boolean {
    try {
      return resolveProfile(old.profile, deps.customProfiles).isCa;
    } catch {
      return false; // a profile no longer defined: the pipeline refuses it with its own code
    }
  }

  /**
   * A subordinate CA certificate of Vault `sign-intermediate` has its key held elsewhere and its CSR was not kept: it
   * is renewed only with a new CSR from its key holder (signed as sign-intermediate signs, renew()), never with a key
   * made or kept here — refused, naming the ways it is renewed, before anything is signed.
   */
  function checkRenewable(old: CertificateRow, o: Pick<RenewOptions, 'csrPem' | 'reuseKey'>): void {
    if (!isCaCertificate(old) || (o.csrPem !== undefined && !o.reuseKey)) return;
    throw new PkiError(
      'policy.profile_not_allowed',
      `certificate ${old.serialHex} is a subordinate CA certificate (profile ${old.profile}) whose key is held ` +
        'elsewhere: it is renewed only with a new CSR from its key holder (pkim cert renew <ref> --csr <file>, ' +
        "csrPem over REST or tRPC), or that CSR signed with the Vault API's sign-intermediate " +
        '(<mount>/root/sign-intermediate or <mount>/issuer/:ref/sign-intermediate)',
      { details: { certificate: old.id, serial: old.serialHex, profile: old.profile } },
    );
  }

  /**
   * The subordinate CA certificate `old` renewed for a new CSR: the signing pipeline's subordinate-CA path (the one
   * sign-intermediate takes: `ca:write`, the CSR's proof of possession, the CA-request lint, the intermediate-ca
   * profile), with the old certificate's subject, path length and name constraints, below the same parent.
   */
  function subordinateRenewal(
    old: CertificateRow,
    o: RenewOptions & { csrPem: string },
  ): Omit<SubordinateCaCsrRequest, 'commitWith'> {
    if (o.sans !== undefined) {
      throw new PkiError('input.invalid', `certificate ${old.serialHex} is a CA certificate: a renewal takes no SANs`);
    }
    const facts = issuerFactsOf(fromPem(old.certificatePem, 'CERTIFICATE'));
    return {
      kind: 'subordinate-ca-csr',
      parent: old.caId,
      csrPem: o.csrPem,
      subject: old.subjectDn,
      lifetimeMs: o.validityMs,
      pathLen: facts.pathLen,
      nameConstraints: facts.nameConstraints ?? undefined,
      renewedFrom: old.id,
    };
  }

  /** the sealed key a renewal of `old` reuses: only where its profile has `allowKeyReuse` and the server kept it */
  async function reusableKey(old: CertificateRow): Promise<CertificateKeyRow> {
    await deps.profileView?.fresh(old.profile);
    const profile = resolveProfile(old.profile, deps.customProfiles);
    if (!profile.allowKeyReuse) {
      throw new PkiError(
        'renewal.key_reuse_not_allowed',
        `profile ${profile.name} does not allow a renewal to reuse the key (allowKeyReuse): a new key is made`,
      );
    }
    const kept = await store.certificates.findSealedKey(old.id);
    if (!kept) {
      throw new PkiError(
        'export.key_not_held',
        `the server does not hold the key of ${old.serialHex}: renew with a new key or a CSR`,
      );
    }
    return kept;
  }

  async function renew(
    ref: string,
    o: RenewOptions,
    actor: Actor,
    channel: Omit<Via, 'actor'> = {},
  ): Promise<RenewalResult> {
    let target = ref;
    try {
      const old = await deps.findCertificate(ref);
      target = old.id;
      checkActorMayUseCa(actor, await store.cas.findById(old.caId));
      checkRenewable(old, o);
      if (old.status === 'revoked') {
        throw new PkiError(
          'certificate.not_active',
          `certificate ${old.serialHex} is revoked: issue a new one instead`,
        );
      }
      if (o.csrPem !== undefined && o.reuseKey) {
        throw new PkiError('input.invalid', 'a renewal takes a new CSR or reuses the old key, not both');
      }
      const revokeOld = o.revokeOld === true && old.status === 'active';
      const via: Via = { ...channel, actor };
      // the renewal and (optionally) the supersession commit with the new certificate, in its transaction
      const commitWith = (row: CertificateRow): ChannelWrites => {
        const t = clock.now();
        return {
          updateCertificates: revokeOld
            ? [
                {
                  id: old.id,
                  patch: { status: 'revoked', revokedAt: t, revocationReason: 'superseded' },
                  onlyIfStatus: 'active',
                },
              ]
            : undefined,
          audit: [
            auditEvent(clock, actor, 'certificate.renewed', row.id, {
              caId: row.caId,
              serial: row.serialHex,
              renewedFrom: old.id,
              previousSerial: old.serialHex,
              previousRevoked: revokeOld,
            }),
            ...(revokeOld
              ? [
                  auditEvent(clock, actor, 'certificate.revoked', old.id, {
                    caId: old.caId,
                    serial: old.serialHex,
                    reason: 'superseded',
                    supersededBy: row.id,
                  }),
                ]
              : []),
          ],
        };
      };
      const common = {
        ca: old.caId,
        profile: old.profile,
        lifetimeMs: o.validityMs,
        sans: o.sans ?? old.sans,
        renewedFrom: old.id,
        commitWith,
      };
      let issued: IssuedCertificate;
      if (o.csrPem !== undefined && isCaCertificate(old)) {
        issued = await sign({ ...subordinateRenewal(old, { ...o, csrPem: o.csrPem }), commitWith }, via);
      } else if (o.csrPem !== undefined) {
        issued = await sign({ kind: 'leaf-csr', ...common, csrPem: o.csrPem, subject: old.subjectDn }, via);
      } else {
        const kept = o.reuseKey ? await reusableKey(old) : await store.certificates.findSealedKey(old.id);
        const reuseKeyPem = o.reuseKey && kept ? keySealer.open(old.id, kept.sealedKey) : undefined;
        issued = await sign(
          {
            kind: 'leaf-generated-key',
            ...common,
            subject: old.subjectDn,
            keyType: o.reuseKey ? old.keyType : (o.keyType ?? old.keyType),
            keepKey: o.keepKey ?? (!!kept || !!reuseKeyPem),
            reuseKeyPem,
          },
          via,
        );
      }
      if (revokeOld) deps.onRevoked?.([old.caId], [{ caId: old.caId, serialHex: old.serialHex }]);
      return { issued, previous: old, previousRevoked: revokeOld };
    } catch (e) {
      throw await recordFailure(deps, actor, 'certificate.renew_failed', target, e, {
        revokeOld: o.revokeOld === true,
      });
    }
  }

  return {
    renew,
    async checkKeyReuse(old) {
      checkRenewable(old, { reuseKey: true });
      await reusableKey(old);
    },
  };
}
