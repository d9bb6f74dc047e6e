import type { z } from 'zod';
import { formatDuration } from '@pkim/shared';
import { isoTime, isoTimeOrNull } from './common-mappers';
import type { TokenDto, TokenRecord, TokenResourcesRecord, tokenResourcesSchema } from './token-schemas';

/**
 * The contract's wire mappers for API tokens: the authority's records (epoch ms, lifetimes in ms) → the DTOs of
 * ./token-schemas.ts. Types only from zod: a `--json` command prints through these without evaluating a schema
 * (docs/architecture.md, "packages/contract").
 */

export function toTokenResourcesDto(r: TokenResourcesRecord): z.infer<typeof tokenResourcesSchema> {
  const { maxLifetimeMs, ...lists } = r;
  return maxLifetimeMs === undefined ? lists : { ...lists, maxLifetime: formatDuration(maxLifetimeMs) };
}

export function toTokenDto(t: TokenRecord): TokenDto {
  return {
    id: t.id,
    name: t.name,
    role: t.role,
    scopes: t.scopes,
    resources: t.resources ? toTokenResourcesDto(t.resources) : null,
    expiresAt: isoTimeOrNull(t.expiresAt),
    lastUsedAt: isoTimeOrNull(t.lastUsedAt),
    revokedAt: isoTimeOrNull(t.revokedAt),
    createdAt: isoTime(t.createdAt),
  };
}

export function toTokenCreatedDto(r: { id: string; token: string; expiresAt: number | null }) {
  return { id: r.id, token: r.token, expiresAt: isoTimeOrNull(r.expiresAt) };
}
