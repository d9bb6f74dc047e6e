/**
 * Deploy helpers: the text an operator puts on hosts and clients so OpenSSH trusts PKI Manager's SSH CAs.
 * Pure string rendering; callers pass CA keys as `.pub` lines.
 */
import { PkiError } from '@pkim/shared';

/** `TrustedUserCAKeys` file content: one CA key per line (active and rotating CA during an overlap). */
export function renderTrustedUserCaKeys(caKeyLines: readonly string[]): string {
  return caKeyLines.map((l) => l.trim()).join('\n') + '\n';
}

/** `known_hosts` lines: `@cert-authority <patterns> <ca key>` per host CA key. */
export function renderKnownHostsCertAuthority(hostPatterns: readonly string[], caKeyLines: readonly string[]): string {
  if (hostPatterns.length === 0)
    throw new PkiError('ssh.invalid_request', 'known_hosts needs at least one host pattern');
  for (const p of hostPatterns) {
    if (!/^!?[A-Za-z0-9_.:*?[\]-]+$/.test(p)) {
      throw new PkiError('ssh.invalid_request', `invalid known_hosts host pattern '${p}'`);
    }
  }
  return caKeyLines.map((l) => `@cert-authority ${hostPatterns.join(',')} ${l.trim()}`).join('\n') + '\n';
}

/** An `AuthorizedPrincipalsFile` for one local account: the principals allowed to log in as it, sorted. */
export function renderAuthorizedPrincipals(principals: readonly string[]): string {
  const sorted = [...new Set(principals)].sort();
  return sorted.length ? sorted.join('\n') + '\n' : '';
}

export interface SshdDropInInput {
  /** Directory on the host where the bundle is installed, e.g. `/etc/ssh/pkim`. */
  dir: string;
  hostCertificate?: boolean;
  /** The host key whose certificate is installed (default ssh_host_ed25519_key). */
  hostKeyName?: string;
}

/** An sshd_config drop-in (`/etc/ssh/sshd_config.d/pkim.conf`) wiring the bundle's files. */
export function renderSshdDropIn(input: SshdDropInInput): string {
  const d = input.dir.replace(/\/+$/, '');
  const key = input.hostKeyName ?? 'ssh_host_ed25519_key';
  const lines = [
    '# Managed by PKI Manager (pkim ssh host bundle). Re-run the bundle to update.',
    `TrustedUserCAKeys ${d}/trusted_user_ca_keys.pub`,
    `RevokedKeys ${d}/revoked.krl`,
    `AuthorizedPrincipalsFile ${d}/principals/%u`,
  ];
  if (input.hostCertificate !== false) {
    lines.push(`HostKey /etc/ssh/${key}`, `HostCertificate ${d}/${key}-cert.pub`);
  }
  return lines.join('\n') + '\n';
}
