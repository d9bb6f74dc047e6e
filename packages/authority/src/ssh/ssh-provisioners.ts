/**
 * Provisioners of the SSH signing pipeline, on the same model as the X.509 pipeline (signing/provisioner.ts):
 * the actor's own grant (role + token/user resources: which CAs, how long) must allow every request, and a
 * fleet token is a channel provisioner on top (one environment, the operations it was created with). The audit
 * event and the certificate row name the effective provisioner.
 */
import { PkiError, formatLifetime } from '@pkim/shared';
import type { SshCaRow, SshCertType, SshFleetTokenRow } from '@pkim/store';
import { authorize } from '../permissions';
import { checkCa } from '../signing/provisioner-policy';
import { createProvisioner, provisionersFor } from '../signing/provisioner-registry';
import { provisionerRef, type Provisioner } from '../signing/provisioner';
import type { Actor } from '../types';

export interface SshProvisioner {
  /** `<kind>:<id>`, recorded on the certificate row */
  readonly id: string;
  /** what the audit event records */
  readonly ref: ReturnType<typeof provisionerRef>;
  /** recorded as the audit actor */
  readonly actor: Actor | string;
  /** fleet token id when the request came with one (idempotency keys are scoped to it) */
  readonly fleetTokenId?: string;
  /** provisioner policy before anything is built: throws when a channel may not sign this */
  authorizeSign(ca: SshCaRow, type: SshCertType): void;
  /** the channel's lifetime cap (the CA's own cap is checked by the pipeline) */
  checkLifetime(lifetimeMs: number): void;
}

function lifetimeCheck(all: Provisioner[], lifetimeMs: number): void {
  for (const p of all) {
    const max = p.policy.maxLifetimeMs;
    if (max !== undefined && lifetimeMs > max) {
      throw new PkiError(
        'provisioner.lifetime_exceeded',
        `a lifetime of ${formatLifetime(lifetimeMs)} exceeds the maximum of ${formatLifetime(max)} ` +
          `(provisioner ${p.kind} '${p.name}')`,
        { details: { provisioner: { kind: p.kind, id: p.id }, lifetimeMs, maxLifetimeMs: max } },
      );
    }
  }
}

/** A console user, API token or the local CLI: needs `ssh:issue`; its resources (CAs, max lifetime) apply. */
export function actorSshProvisioner(actor: Actor): SshProvisioner {
  const { effective, all } = provisionersFor({ actor });
  return {
    id: `${effective.kind}:${effective.id}`,
    ref: provisionerRef(effective),
    actor,
    authorizeSign(ca) {
      authorize(actor, 'ssh:issue');
      checkCa(all, ca);
    },
    checkLifetime: (ms) => lifetimeCheck(all, ms),
  };
}

/** A fleet token: one environment, the operations it was created with (sign-host, sign-user). */
export function fleetSshProvisioner(token: SshFleetTokenRow): SshProvisioner {
  const p = createProvisioner({ kind: 'ssh-fleet', id: token.id, name: token.name });
  return {
    id: `ssh-fleet:${token.id}`,
    ref: provisionerRef(p),
    actor: `fleet:${token.id}`,
    fleetTokenId: token.id,
    authorizeSign(ca, type) {
      if (ca.environmentId !== token.environmentId) {
        throw new PkiError('ssh.operation_not_allowed', `fleet token ${token.name} is not scoped to this environment`);
      }
      const op = type === 'host' ? 'sign-host' : 'sign-user';
      if (!token.operations.includes(op)) {
        throw new PkiError('ssh.operation_not_allowed', `fleet token ${token.name} may not ${op}`, {
          details: { operations: token.operations },
        });
      }
    },
    checkLifetime: (ms) => lifetimeCheck([p], ms),
  };
}
