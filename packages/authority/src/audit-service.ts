import { createHmac, hkdfSync, randomBytes, timingSafeEqual } from 'node:crypto';
import { readFileSync, renameSync, writeFileSync } from 'node:fs';
import type { Logger } from 'pino';
import { PkiError, canonicalJson, newId, type Clock } from '@pkim/shared';
import type { AuditEventRow, NewAuditEvent, Store } from '@pkim/store';
import type { Actor, AuditCheckpointView, AuditEventView, AuditService, AuditVerifyResult } from './types';

export function actorId(actor: Actor | string): string {
  return typeof actor === 'string' ? actor : actor.id;
}

/** Builds an audit event for a unit of work (the store assigns seq and hashes inside the transaction). */
export function auditEvent(
  clock: Clock,
  actor: Actor | string,
  action: string,
  target: string | null,
  details: Record<string, unknown> = {},
  outcome: 'success' | 'failure' = 'success',
): NewAuditEvent {
  // a request run under an Idempotency-Key: its events name the claim (commonly absent: one property read)
  const claim = typeof actor === 'string' ? undefined : actor.idempotencyClaim;
  if (claim !== undefined) details = { ...details, idempotencyClaim: claim };
  return { id: newId('evt'), time: clock.now(), actor: actorId(actor), action, target, outcome, details };
}

/**
 * Events with the name of their actor: a user's (`usr_…`) username, an API token's (`tok_…`) name, read once per page
 * for all its users and once for all its tokens (one query per 500 distinct ids each, so a 10,000-event page of a few
 * actors costs two small queries); null for any other actor (`system`, `cli:…`, `acme:…`) and for a user or token
 * deleted since. The event's `actor` stays the stable id.
 */
export async function withActorNames(store: Store, rows: readonly AuditEventRow[]): Promise<AuditEventView[]> {
  const actors = new Set(rows.map((r) => r.actor));
  const users = [...actors].filter((a) => a.startsWith('usr_'));
  const tokens = [...actors].filter((a) => a.startsWith('tok_'));
  const [userNames, tokenNames] = await Promise.all([
    users.length ? store.users.namesOf(users) : [],
    tokens.length ? store.tokens.namesOf(tokens) : [],
  ]);
  const names = new Map<string, string>([
    ...userNames.map((u): [string, string] => [u.id, u.username]),
    ...tokenNames.map((t): [string, string] => [t.id, t.name]),
  ]);
  return rows.map((r) => ({ ...r, actorName: names.get(r.actor) ?? null }));
}

/**
 * The actors an `actor` filter means: the id itself, and the user of that username and the API tokens of that name
 * (the names the audit log shows), so `admin` finds what the user admin did; an id finds what it always found.
 */
async function actorsNamed(store: Store, actor: string): Promise<string[]> {
  const [user, tokens] = await Promise.all([store.users.findByUsername(actor), store.tokens.idsNamed(actor)]);
  return [...new Set([actor, ...(user ? [user.id] : []), ...tokens])];
}

/** settings key of the signed checkpoint kept in the database */
export const AUDIT_CHECKPOINT_SETTING = 'audit.checkpoint';
/** file name of the copy kept beside the database, in the data directory */
export const AUDIT_CHECKPOINT_FILE = 'audit-checkpoint.json';

/** A signed statement "the chain had `seq` events ending in `hash` at `time`" (MAC over canonical JSON). */
interface SignedCheckpoint {
  v: 1;
  seq: number;
  hash: string;
  time: number;
  mac: string;
}

/** The checkpoint MAC key: HKDF-SHA256 of the key-encryption key (never stored in the database). */
export function auditCheckpointKey(kek: Uint8Array): Buffer {
  return Buffer.from(hkdfSync('sha256', kek, 'pkim', 'pkim audit checkpoint v1', 32));
}

function macOf(key: Buffer, c: Pick<SignedCheckpoint, 'v' | 'seq' | 'hash' | 'time'>): string {
  return createHmac('sha256', key)
    .update(canonicalJson({ v: c.v, seq: c.seq, hash: c.hash, time: c.time }))
    .digest('hex');
}

type Parsed =
  { state: 'absent' } | { state: 'invalid'; why: string } | { state: 'valid'; checkpoint: SignedCheckpoint };

function parseCheckpoint(key: Buffer, text: string | undefined): Parsed {
  if (text === undefined) return { state: 'absent' };
  let c: Partial<SignedCheckpoint>;
  try {
    c = JSON.parse(text) as Partial<SignedCheckpoint>;
  } catch {
    return { state: 'invalid', why: 'it is not valid JSON' };
  }
  if (
    c.v !== 1 ||
    !Number.isSafeInteger(c.seq) ||
    (c.seq ?? 0) < 1 ||
    typeof c.hash !== 'string' ||
    !/^[0-9a-f]{64}$/.test(c.hash) ||
    !Number.isSafeInteger(c.time) ||
    typeof c.mac !== 'string' ||
    !/^[0-9a-f]{64}$/.test(c.mac)
  ) {
    return { state: 'invalid', why: 'it is malformed' };
  }
  const full = c as SignedCheckpoint;
  const expected = Buffer.from(macOf(key, full), 'hex');
  if (!timingSafeEqual(expected, Buffer.from(full.mac, 'hex'))) {
    return { state: 'invalid', why: 'its signature does not verify (forged, or made under another master key)' };
  }
  return { state: 'valid', checkpoint: full };
}

export interface AuditServiceDeps {
  store: Store;
  clock: Clock;
  logger?: Logger;
  /** MAC key of the signed checkpoints (auditCheckpointKey(kek)); without it no checkpoint is written or checked */
  checkpointKey?: Buffer;
  /** the copy of the latest checkpoint beside the database (`<data dir>/audit-checkpoint.json`); none when undefined */
  checkpointFile?: string;
}

/**
 * The audit log: listing, recording, and verification of the hash chain PLUS its signed checkpoints. A
 * checkpoint is the chain head (seq + hash + time) MACed with a key derived from the key-encryption key, kept in the
 * database (`settings`) and in a file beside it. The hash chain alone finds an edited, inserted or deleted event
 * before the head; the checkpoints make removing the newest events (tail truncation) detectable too — see
 * docs/security.md for the exact guarantee.
 */
export function createAuditService(deps: AuditServiceDeps): AuditService {
  const { store, clock, checkpointKey: key, checkpointFile: file, logger } = deps;

  function readFile(): string | undefined {
    if (!file) return undefined;
    try {
      return readFileSync(file, 'utf8');
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      throw e;
    }
  }

  async function sources(k: Buffer): Promise<{ source: 'database' | 'file'; parsed: Parsed }[]> {
    return [
      { source: 'database', parsed: parseCheckpoint(k, await store.settings.get(AUDIT_CHECKPOINT_SETTING)) },
      ...(file ? [{ source: 'file' as const, parsed: parseCheckpoint(k, readFile()) }] : []),
    ];
  }

  async function eventAt(seq: number) {
    return (await store.audit.list({ afterSeq: seq - 1, limit: 1, order: 'asc' }))[0];
  }

  function mayRead(reader: Actor | undefined): void {
    if (reader?.resources?.cas) {
      throw new PkiError(
        'auth.forbidden',
        'the audit log spans every CA: a principal limited to some CAs cannot read it',
        { details: { limits: reader.resources } },
      );
    }
  }

  return {
    async list(query, reader) {
      mayRead(reader);
      const actor = query.actor ? await actorsNamed(store, query.actor) : undefined;
      return withActorNames(store, await store.audit.list({ ...query, actor }));
    },

    async actors(query, reader) {
      mayRead(reader);
      // by name (code point order), a user before a token of the same name: the store's order, a page at a time
      return store.audit.namedActors(query);
    },

    async verify(): Promise<AuditVerifyResult> {
      const chain = await store.audit.verify();
      if (!chain.ok || !key) return chain;
      let latest: AuditCheckpointView | undefined;
      for (const { source, parsed } of await sources(key)) {
        if (parsed.state === 'invalid') {
          return {
            ok: false,
            count: chain.count,
            brokenAtSeq: chain.count + 1,
            brokenEventId: `checkpoint:${source}`,
            reason: `the audit checkpoint in the ${source} is not valid: ${parsed.why}`,
          };
        }
        if (parsed.state === 'valid' && (!latest || parsed.checkpoint.seq > latest.seq)) {
          const { seq, hash, time } = parsed.checkpoint;
          latest = { seq, hash, time, source };
        }
      }
      if (latest && latest.seq > chain.count) {
        const missing = latest.seq - chain.count;
        return {
          ok: false,
          count: chain.count,
          brokenAtSeq: chain.count + 1,
          brokenEventId: '(removed)',
          reason:
            `tail truncated: the chain ends at event #${chain.count} but a signed checkpoint ` +
            `(${latest.source}, ${new Date(latest.time).toISOString()}) saw event #${latest.seq}: ` +
            `${missing} event(s) removed from the end`,
        };
      }
      if (latest) {
        const row = await eventAt(latest.seq);
        if (row?.hash !== latest.hash) {
          return {
            ok: false,
            count: chain.count,
            brokenAtSeq: latest.seq,
            brokenEventId: row?.id ?? '(removed)',
            reason:
              `the chain was rewritten: event #${latest.seq} no longer has the hash the signed checkpoint ` +
              `(${latest.source}, ${new Date(latest.time).toISOString()}) recorded`,
          };
        }
      }
      return { ...chain, checkpoint: latest ?? null };
    },

    async checkpoint(opts = {}): Promise<AuditCheckpointView | undefined> {
      if (!key) return undefined;
      const head = (await store.audit.list({ order: 'desc', limit: 1 }))[0];
      if (!head) return undefined;
      const seq = Number(head.seq);
      const inDb = parseCheckpoint(key, await store.settings.get(AUDIT_CHECKPOINT_SETTING));
      const onFile = parseCheckpoint(key, readFile());
      let replaced: AuditCheckpointView['replaced'];
      for (const [source, p] of [
        ['database', inDb],
        ['file', onFile],
      ] as const) {
        if (p.state === 'valid' && p.checkpoint.seq > seq && (!replaced || p.checkpoint.seq > replaced.seq)) {
          replaced = { seq: p.checkpoint.seq, source };
        }
      }
      // a checkpoint ahead of the chain is evidence of truncation: only an explicit re-anchor replaces it
      if (replaced && !opts.reanchor) return undefined;
      let c: SignedCheckpoint;
      if (inDb.state === 'valid' && inDb.checkpoint.seq === seq && inDb.checkpoint.hash === head.hash) {
        c = inDb.checkpoint; // the head did not move
      } else {
        const base = { v: 1 as const, seq, hash: head.hash, time: clock.now() };
        c = { ...base, mac: macOf(key, base) };
        await store.commit({ setSettings: { [AUDIT_CHECKPOINT_SETTING]: JSON.stringify(c) } });
      }
      if (file && (onFile.state !== 'valid' || onFile.checkpoint.seq !== c.seq || onFile.checkpoint.hash !== c.hash)) {
        const tmp = `${file}.${randomBytes(6).toString('hex')}.tmp`;
        writeFileSync(tmp, `${JSON.stringify(c)}\n`, { mode: 0o600 });
        renameSync(tmp, file);
      }
      logger?.debug({ seq: c.seq, replaced }, 'audit checkpoint');
      return { seq: c.seq, hash: c.hash, time: c.time, source: 'database', ...(replaced ? { replaced } : {}) };
    },

    record: (e) =>
      store.audit.append(
        auditEvent(clock, e.actor, e.action, e.target ?? null, e.details ?? {}, e.outcome ?? 'success'),
      ),
  };
}
