import { PkiError, checkDurationMs, newId, type Clock } from '@pkim/shared';
import {
  checkNameCharacters,
  checkSanLimits,
  decodeCsr,
  formatDn,
  resolveProfile,
  validateDn,
  type Profile,
} from '@pkim/core';
import type { CertificateRequestRow, Store } from '@pkim/store';
import type { Logger } from 'pino';
import type { Actor, RequestService } from './types';
import { auditEvent } from './audit-service';
import { recordFailure, resolveCaRef, type CaContextLoader } from './ca-context';
import type { SigningPipeline } from './signing/signing-pipeline';
import type { ProfileView } from './profile-service';
import { checkActorMayUseCa, checkNames, checkProfile, visibleCaIds } from './signing/provisioner-policy';
import { actorProvisioner } from './signing/provisioner-registry';
import { authorize } from './permissions';

export interface RequestServiceDeps {
  store: Store;
  clock: Clock;
  logger: Logger;
  contexts: CaContextLoader;
  pipeline: SigningPipeline;
  customProfiles?: Profile[];
  profileView?: ProfileView;
}

export function createRequestService(deps: RequestServiceDeps): RequestService {
  const { store, clock, contexts, pipeline } = deps;

  async function load(id: string, actor: Actor): Promise<CertificateRequestRow> {
    const row = await store.requests.findById(id);
    // requesters only see their own requests, CA-limited principals those of their CAs; answer as if it did not exist
    const cas = actor.resources?.cas ? visibleCaIds(actor, await store.cas.list()) : undefined;
    if (!row || (actor.role === 'requester' && row.requester !== actor.id) || (cas && !cas.includes(row.caId))) {
      throw new PkiError('request.not_found', `no certificate request ${id}`);
    }
    return row;
  }

  return {
    async submit(input, actor) {
      authorize(actor, 'request:submit'); // the transports check too: an in-process caller cannot skip it
      try {
        if (input.validityMs !== undefined) checkDurationMs(input.validityMs, 'validity');
        const target = await contexts.loadActive(input.caId, clock.now());
        checkActorMayUseCa(actor, target.ca);
        await deps.profileView?.fresh(input.profile);
        const profile = resolveProfile(input.profile, deps.customProfiles);
        const csr = decodeCsr(input.csrPem);
        // what would be refused at approval is refused now: nothing unusable waits in the queue
        validateDn(csr.subject);
        checkNameCharacters(csr.subject, csr.sans);
        checkSanLimits(profile, csr.sans);
        // a requester's own limits are checked when it asks, not only when a reviewer approves
        const own = [actorProvisioner(actor)];
        checkProfile(own, input.profile);
        checkNames(own, csr.subject, csr.sans);
        // and linted now: a CSR without SANs for a TLS profile (or anything else the approval would refuse) is
        // refused at submission, not left waiting for a reviewer
        await pipeline.preflight(
          { ca: input.caId, csrPem: input.csrPem, profile: input.profile, lifetimeMs: input.validityMs },
          { actor },
        );
        const t = clock.now();
        const row: CertificateRequestRow = {
          id: newId('req'),
          caId: (await contexts.load(input.caId)).ca.id,
          csrPem: input.csrPem.trim(),
          subjectDn: formatDn(csr.subject),
          sans: csr.sans,
          profile: input.profile,
          validityMs: input.validityMs ?? null,
          status: 'pending',
          requester: actor.id,
          reviewer: null,
          reason: null,
          certificateId: null,
          certificateNotAfter: null,
          createdAt: t,
          reviewedAt: null,
          updatedAt: t,
        };
        await store.commit({
          insertRequests: [row],
          audit: [
            auditEvent(clock, actor, 'request.submitted', row.id, {
              caId: row.caId,
              profile: row.profile,
              subject: row.subjectDn,
              sans: row.sans,
            }),
          ],
        });
        return row;
      } catch (e) {
        throw await recordFailure(deps, actor, 'request.submit_failed', input.caId, e, { profile: input.profile });
      }
    },

    /** approval signs through the one pipeline: request status, certificate and audit commit together */
    approve: (id, actor) => pipeline.sign({ kind: 'approved-request', requestId: id }, { actor }),

    async reject(id, reason, actor) {
      authorize(actor, 'request:review');
      try {
        if (!reason?.trim()) throw new PkiError('input.invalid', 'a rejection needs a reason');
        const req = await load(id, actor);
        checkActorMayUseCa(actor, await store.cas.findById(req.caId));
        if (req.status !== 'pending')
          throw new PkiError('request.not_pending', `request ${id} is ${req.status}, not pending`);
        const t = clock.now();
        const patch = {
          status: 'rejected' as const,
          reviewer: actor.id,
          reason: reason.trim(),
          reviewedAt: t,
          updatedAt: t,
        };
        await store.commit({
          updateRequests: [{ id, patch, onlyIfStatus: 'pending' }],
          audit: [auditEvent(clock, actor, 'request.rejected', id, { reason: patch.reason })],
        });
        return { ...req, ...patch };
      } catch (e) {
        throw await recordFailure(deps, actor, 'request.reject_failed', id, e);
      }
    },

    get: async (id, actor) => {
      authorize(actor, 'request:read');
      return load(id, actor);
    },

    /**
     * The certificate a request produced, with its chain: the requester who submitted it (requesters never see
     * other requests, so never their certificates) or anyone who may read requests.
     */
    async certificate(id, actor) {
      const req = await load(id, actor);
      if (!req.certificateId) {
        throw new PkiError('request.not_issued', `request ${id} is ${req.status}; it has no certificate`);
      }
      const row = await store.certificates.findById(req.certificateId);
      if (!row) throw new PkiError('certificate.not_found', `certificate ${req.certificateId} no longer exists`);
      const ca = await store.cas.findById(row.caId);
      return {
        certificate: row,
        certificatePem: row.certificatePem,
        chainPem: ca ? await contexts.chainPem(ca) : '',
      };
    },

    async list(query, actor) {
      authorize(actor, 'request:read');
      return store.requests.list({
        ...query,
        caId: query.caId ? await resolveCaRef(store, query.caId) : undefined,
        requester: actor.role === 'requester' ? actor.id : undefined,
        caIds: actor.resources?.cas ? visibleCaIds(actor, await store.cas.list()) : undefined,
      });
    },
  };
}
