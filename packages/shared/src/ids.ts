import { randomFillSync } from 'node:crypto';

export type IdPrefix =
  | 'ca'
  | 'crt'
  | 'req'
  | 'key'
  | 'evt'
  | 'usr'
  | 'tok'
  | 'ses'
  // SSH: CA, certificate, environment, host, SSH user, principal, grant, host account, block, fleet token
  | 'sca'
  | 'ssc'
  | 'env'
  | 'hst'
  | 'sus'
  | 'spr'
  | 'grt'
  | 'hac'
  | 'blk'
  // bulk jobs started over the API (table bulk_jobs); a server instance running them
  | 'job'
  | 'ins'
  | 'ftk'
  // tenant keystore client certificates: connection, certificate
  | 'ksc'
  | 'kcr'
  // ACME: account, order, authorization, external account binding key
  | 'acct'
  | 'ord'
  | 'authz'
  | 'eab'
  // OIDC identity; notification rule, delivery
  | 'uid'
  | 'ntr'
  | 'ntd';

/** random bytes of the ids, drawn from the CSPRNG 4,000 at a time (one call per id cost ≈ 6 µs, ids are not secrets) */
const RANDOM_BYTES = 10;
const pool = Buffer.alloc(400 * RANDOM_BYTES);
let poolPos = pool.length;

/** Prefixed, URL-safe, sortable-enough random id, e.g. `ca_01h2x...`: the time in base 36, then 10 random bytes. */
export function newId(prefix: IdPrefix): string {
  if (poolPos >= pool.length) {
    randomFillSync(pool);
    poolPos = 0;
  }
  const time = Date.now().toString(36).padStart(9, '0');
  const id = `${prefix}_${time}${pool.toString('hex', poolPos, poolPos + RANDOM_BYTES)}`;
  poolPos += RANDOM_BYTES;
  return id;
}

export function hasPrefix(id: string, prefix: IdPrefix): boolean {
  return id.startsWith(`${prefix}_`);
}
