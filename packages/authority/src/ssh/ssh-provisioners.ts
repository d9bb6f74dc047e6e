/**
 * Provisioners of the SSH signing pipeline: which channel a request came through and what that
 * channel may sign. The audit event and the certificate row name the provisioner.
 */
import { PkiError } from '@pkim/shared';
import type { SshCaRow, SshCertType, SshFleetTokenRow } from '@pkim/store';
import { authorize } from '../permissions';
import type { Actor } from '../types';

export interface SshProvisioner {
  /** `actor:<actor id>` or `fleet:<ftk_…>` */
  readonly id: string;
  /** recorded as the audit actor */
  readonly actor: Actor | string;
  /** fleet token id when the request came with one (idempotency keys are scoped to it) */
  readonly fleetTokenId?: string;
  /** channel policy: throws `auth.forbidden` / `ssh.operation_not_allowed` when this channel may not sign this */
  authorizeSign(ca: SshCaRow, type: SshCertType): void;
}

/** A console user, API token or the CLI: needs the `ssh:issue` permission. */
export function actorProvisioner(actor: Actor): SshProvisioner {
  return {
    id: `actor:${actor.id}`,
    actor,
    authorizeSign() {
      authorize(actor, 'ssh:issue');
    },
  };
}

/** A fleet token: one environment, the operations it was created with (sign-host, sign-user). */
export function fleetProvisioner(token: SshFleetTokenRow): SshProvisioner {
  return {
    id: `fleet:${token.id}`,
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
  };
}
