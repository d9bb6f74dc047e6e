import { formatDuration } from '@pkim/shared';
import type { AcmeDirectoryDto, AcmeDirectoryRecord } from './acme-schemas';

/**
 * The contract's wire mappers for ACME directories: the authority's records (epoch ms, lifetimes in ms) → the DTOs
 * of ./acme-schemas.ts. Types only from zod: a `--json` command prints through these without evaluating a schema
 * (docs/architecture.md, "packages/contract").
 */

/**
 * `publicBaseUrl`: the server's public URL (the `publicUrl` setting, `PKIM_PUBLIC_URL`) — the directory's URL is its
 * path under it, null without one. The server passes its own; the CLI in local mode its configuration's.
 */
export function toAcmeDirectoryDto(d: AcmeDirectoryRecord, publicBaseUrl: string | null | undefined): AcmeDirectoryDto {
  const { lifetimeMs, ...rest } = d;
  return {
    ...rest,
    lifetime: lifetimeMs === null ? null : formatDuration(lifetimeMs),
    directoryUrl: publicBaseUrl ? `${publicBaseUrl.replace(/\/+$/, '')}${d.directoryPath}` : null,
  };
}
