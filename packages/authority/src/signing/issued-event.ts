import type { Clock } from '@pkim/shared';
import type { CertificateRow, NewAuditEvent } from '@pkim/store';
import type { Actor } from '../types';
import { auditEvent } from '../audit-service';
import { provisionerRef, type Provisioner } from './provisioner';

/**
 * The `certificate.issued` event of a certificate the signing pipeline signed — a leaf (signing-pipeline.ts) or a
 * subordinate CA certificate for a CSR (subordinate-ca-csr.ts): what it is, who asked through which provisioner, and
 * `extra` for what only that path knows (`stored`, `keyKept`, `renewedFrom`, `ca`, `pathLen`).
 */
export function certificateIssuedEvent(
  clock: Clock,
  actor: Actor,
  row: CertificateRow,
  provisioner: Provisioner,
  extra?: Record<string, unknown>,
): NewAuditEvent {
  return auditEvent(clock, actor, 'certificate.issued', row.id, {
    caId: row.caId,
    serial: row.serialHex,
    subject: row.subjectDn,
    sans: row.sans,
    profile: row.profile,
    notAfter: row.notAfter,
    requestId: row.requestId,
    fingerprint: row.fingerprintSha256,
    provisioner: provisionerRef(provisioner),
    ...extra,
  });
}
