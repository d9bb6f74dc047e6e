import { formatDuration } from '@pkim/shared';
import type { AcmeDirectoryDto, AcmeDirectoryRecord } from './acme-schemas';

/**
 * The contract's wire mappers for ACME directories: the authority's records (epoch ms, lifetimes in ms) → the DTOs
 * of ./acme-schemas.ts. Types only from zod: a `--json` command prints through these without evaluating a schema
 * (docs/architecture.md, "packages/contract").
 */

/**
 * `publicBaseUrl`: the directory's URL is its path under it, null without one. The server passes its public URL
 * (`publicUrl`, `PKIM_PUBLIC_URL`), else the origin the API call reached it at (the one the ACME transport builds
 * its URLs from); the CLI in local mode its configuration's `publicUrl` (no request there: null without it).
 */
export function toAcmeDirectoryDto(d: AcmeDirectoryRecord, publicBaseUrl: string | null | undefined): AcmeDirectoryDto {
  const { lifetimeMs, ...rest } = d;
  return {
    ...rest,
    lifetime: lifetimeMs === null ? null : formatDuration(lifetimeMs),
    directoryUrl: publicBaseUrl ? `${publicBaseUrl.replace(/\/+$/, '')}${d.directoryPath}` : null,
  };
}
