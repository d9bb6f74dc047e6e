/**
 * The answers of REST calls made with an `Idempotency-Key` header (IETF draft "The Idempotency-Key HTTP Header
 * Field"): one row per caller and key. `running` while the first request runs (a retry meanwhile is told so), then
 * `done` with the first answer, replayed to every retry with the same request until `expiresAt`. Times: epoch ms.
 * Never a private key or a secret: the routes whose answer carries one refuse the header (idempotency-service.ts).
 */
export type IdempotencyState = 'running' | 'done';

export interface IdempotencyRow {
  /** the caller the key belongs to (`tok_…`, `usr_…`): one caller never sees another's answer */
  scope: string;
  key: string;
  /** SHA-256 of the method, path and body of the first request */
  fingerprint: string;
  state: IdempotencyState;
  /** the request that claimed the row (random): only it completes or releases it */
  owner: string;
  /** the first answer (`done`), else null */
  status: number | null;
  contentType: string | null;
  body: string | null;
  /** `body` is the base64 of bytes (a binary answer), else UTF-8 text */
  bodyBase64: boolean;
  createdAt: number;
  expiresAt: number;
}

export interface IdempotencyAnswer {
  status: number;
  contentType: string;
  body: string;
  bodyBase64: boolean;
}

export interface IdempotencyRepository {
  /**
   * Claims (scope, key) for a request: inserts a `running` row and answers undefined, or answers the row already
   * there. A row past `expiresAt`, or `running` and created before `staleBefore` (its request died with its server),
   * is deleted and claimed anew. Safe across processes sharing the database (the primary key decides).
   */
  claim(row: IdempotencyRow, now: number, staleBefore: number): Promise<IdempotencyRow | undefined>;
  /** the first answer of the claimed row; false when the claim was lost (taken over, expired) */
  complete(scope: string, key: string, owner: string, answer: IdempotencyAnswer): Promise<boolean>;
  /** deletes the claimed row (the request failed: a retry runs afresh) */
  release(scope: string, key: string, owner: string): Promise<void>;
  /** deletes the rows past their expiry; answers how many */
  deleteExpired(now: number): Promise<number>;
}
