import { formatDuration } from '@pkim/shared';
import { toCertificateDto } from './certificate-mappers';
import type { CertificateRecord } from './certificate-schemas';
import { isoTime } from './common-mappers';
import type { VaultKeystoreDto, VaultMountDto, VaultMountRecord } from './vault-schemas';

/**
 * The contract's wire mappers for Vault mounts and keystores: the authority's records (epoch ms, lifetimes in ms) →
 * the DTOs of ./vault-schemas.ts. Types only from zod: a `--json` command prints through these without evaluating a
 * schema (docs/architecture.md, "packages/contract").
 */

export function toVaultMountDto(m: VaultMountRecord): VaultMountDto {
  return {
    path: m.path,
    ca: { id: m.caId, name: m.caName },
    description: m.description,
    defaultLeaseTtl: formatDuration(m.defaultLeaseTtl * 1000),
    maxLeaseTtl: formatDuration(m.maxLeaseTtl * 1000),
    roles: m.roles,
    createdAt: isoTime(m.createdAt),
  };
}

export function toVaultKeystoreDto(
  k: Omit<VaultKeystoreDto, 'current'> & { current: CertificateRecord },
): VaultKeystoreDto {
  return { ...k, current: toCertificateDto(k.current) };
}
