import { formatDuration } from '@pkim/shared';
import type { AcmeDirectoryDto, AcmeDirectoryRecord } from './acme-schemas';

/**
 * The contract's wire mappers for ACME directories: the authority's records (epoch ms, lifetimes in ms) → the DTOs
 * of ./acme-schemas.ts. Types only from zod: a `--json` command prints through these without evaluating a schema
 * (docs/architecture.md, "packages/contract").
 */

export function toAcmeDirectoryDto(d: AcmeDirectoryRecord): AcmeDirectoryDto {
  const { lifetimeMs, ...rest } = d;
  return { ...rest, lifetime: lifetimeMs === null ? null : formatDuration(lifetimeMs) };
}
