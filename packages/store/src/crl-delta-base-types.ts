/**
 * The base of a CA's delta CRLs (docs/crl.md, docs/vault-api.md "Delta CRLs"): the complete CRL signed while delta
 * CRLs are on for the CA, stored so that every process on the database serves that one complete CRL until its grace
 * period and signs its delta CRLs against it (RFC 5280 §5.2.4: a delta lists what its base does not). One row per CA,
 * replaced by a base with a greater CRL number only. Times: epoch ms.
 */
export interface CrlDeltaBaseRow {
  caId: string;
  crlNumber: number;
  thisUpdate: number;
  nextUpdate: number;
  /** the complete CRL, DER */
  der: Uint8Array;
  /** the serials it lists (the entries' serialHex) */
  serials: string[];
}

/**
 * A process signing a CA's next base: taken before signing (insert if absent), so that processes reaching a base's
 * grace period together sign one base — the others wait for it — and released once the base is stored.
 */
export interface CrlDeltaBaseClaim {
  caId: string;
  /** the claiming process (random per process) */
  owner: string;
  /** when another process may take it over (its holder died): epoch ms */
  expiresAt: number;
}

export interface CrlDeltaBaseRepository {
  /** the CA's stored base, if one was stored */
  find(caId: string): Promise<CrlDeltaBaseRow | undefined>;
  /** the stored base's CRL number only (one small read: has another process made a newer base?) */
  crlNumber(caId: string): Promise<number | undefined>;
  /** stores `row` as the CA's base unless one with the same or a greater CRL number is stored; true when stored */
  put(row: CrlDeltaBaseRow): Promise<boolean>;
  /**
   * `put` by the holder of the CA's claim only, atomically with the check (the claim row locked meanwhile): 'stored',
   * 'older' (a base with the same or a greater CRL number is stored) or 'unclaimed' (`owner` does not hold the claim:
   * it expired and another process took it over — nothing stored)
   */
  putClaimed(row: CrlDeltaBaseRow, owner: string): Promise<'stored' | 'older' | 'unclaimed'>;
  /**
   * takes the claim to sign the CA's next base unless another owner holds one not expired at `now` (an expired one is
   * taken over); undefined when `claim.owner` holds it now, else the other owner's claim
   */
  claim(claim: CrlDeltaBaseClaim, now: number): Promise<CrlDeltaBaseClaim | undefined>;
  /**
   * moves the expiry of `owner`'s claim to `expiresAt` (its holder is alive and still signing); false when `owner`
   * does not hold the CA's claim any more (it was taken over, or released)
   */
  renew(caId: string, owner: string, expiresAt: number): Promise<boolean>;
  /** the CA's claim as stored (expired or not), if any */
  findClaim(caId: string): Promise<CrlDeltaBaseClaim | undefined>;
  /**
   * claim's takeover step: removes `owner`'s claim on the CA if it is still expired at `now` (not renewed since it was
   * read); true when removed (the caller may insert its own), false when renewed, released or taken meanwhile
   */
  removeExpired(caId: string, owner: string, now: number): Promise<boolean>;
  /** removes the CA's claim if `owner` holds it (its base stored, or its signing failed) */
  release(caId: string, owner: string): Promise<void>;
}

/**
 * The delta CRL of a CA, one per database (docs/crl.md "One delta CRL per database"): signed by the process holding
 * the CA's delta claim (crl_delta_claims) and served by every process while it names the current base and the
 * revocation stamp it was made at is still the CA's. One row per CA, replaced by a greater CRL number only.
 */
export interface CrlDeltaRow {
  caId: string;
  crlNumber: number;
  /** the CRL number of its base (its Delta CRL Indicator) */
  baseCrlNumber: number;
  thisUpdate: number;
  nextUpdate: number;
  /** the CA's revocation stamp (CrlService) as read before its entries were */
  stamp: string;
  /** the delta CRL, DER */
  der: Uint8Array;
}

/** the stored delta CRL of each CA and the claim to sign the next (the same discipline as the base's) */
export interface CrlDeltaRepository {
  /** the CA's stored delta CRL, if any */
  find(caId: string): Promise<CrlDeltaRow | undefined>;
  /** stores `row` by the holder of the CA's delta claim only: as CrlDeltaBaseRepository.putClaimed */
  putClaimed(row: CrlDeltaRow, owner: string): Promise<'stored' | 'older' | 'unclaimed'>;
  /** as CrlDeltaBaseRepository.claim, of the delta claim */
  claim(claim: CrlDeltaBaseClaim, now: number): Promise<CrlDeltaBaseClaim | undefined>;
  renew(caId: string, owner: string, expiresAt: number): Promise<boolean>;
  findClaim(caId: string): Promise<CrlDeltaBaseClaim | undefined>;
  removeExpired(caId: string, owner: string, now: number): Promise<boolean>;
  release(caId: string, owner: string): Promise<void>;
}
