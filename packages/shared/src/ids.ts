import { randomBytes } from 'node:crypto';

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

/** Prefixed, URL-safe, sortable-enough random id, e.g. `ca_01h2x...`. 16 random bytes. */
export function newId(prefix: IdPrefix): string {
  const time = Date.now().toString(36).padStart(9, '0');
  return `${prefix}_${time}${randomBytes(10).toString('hex')}`;
}

export function hasPrefix(id: string, prefix: IdPrefix): boolean {
  return id.startsWith(`${prefix}_`);
}
