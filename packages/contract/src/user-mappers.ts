import { isoTime, isoTimeOrNull } from './common-mappers';
import type { UserDto, UserRecord } from './user-schemas';

/**
 * The contract's wire mappers for users: the authority's records (epoch ms, lifetimes in ms) → the DTOs of
 * ./user-schemas.ts. Types only from zod: a `--json` command prints through these without evaluating a schema
 * (docs/architecture.md, "packages/contract").
 */

export function toUserDto(u: UserRecord): UserDto {
  return {
    id: u.id,
    username: u.username,
    role: u.role,
    disabled: u.disabled,
    lockedUntil: isoTimeOrNull(u.lockedUntil),
    lockedAddresses: u.lockedAddresses,
    mustChangePassword: u.mustChangePassword,
    createdAt: isoTime(u.createdAt),
  };
}
