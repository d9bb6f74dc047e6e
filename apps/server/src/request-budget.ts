/**
 * Per-client request budgets (fixed windows), one per surface, so a client that floods the API cannot
 * starve relying parties of OCSP, CRLs and AIA certificates, and a tRPC batch pays for every call in it.
 * In memory and per process: several instances each enforce their own budget.
 */
export interface BudgetOptions {
  /** units per window per client address */
  max: number;
  timeWindowMs: number;
}

export interface BudgetDecision {
  ok: boolean;
  limit: number;
  remaining: number;
  /** seconds until the window resets */
  resetSeconds: number;
}

export interface RequestBudget {
  /** charges `cost` units to `key`; refused (nothing charged) when the window has no room left */
  take(key: string, cost: number, now: number): BudgetDecision;
}

const MAX_KEYS = 100_000;

export function createRequestBudget(opts: BudgetOptions): RequestBudget {
  const windows = new Map<string, { start: number; used: number }>();
  return {
    take(key, cost, now) {
      let w = windows.get(key);
      if (!w || now - w.start >= opts.timeWindowMs) {
        if (!w && windows.size >= MAX_KEYS) {
          // drop windows that have run out; if none has, the oldest entry
          for (const [k, v] of windows) if (now - v.start >= opts.timeWindowMs) windows.delete(k);
          if (windows.size >= MAX_KEYS) windows.delete(windows.keys().next().value!);
        }
        w = { start: now, used: 0 };
        windows.set(key, w);
      }
      const resetSeconds = Math.max(1, Math.ceil((w.start + opts.timeWindowMs - now) / 1000));
      if (w.used + cost > opts.max) return { ok: false, limit: opts.max, remaining: 0, resetSeconds };
      w.used += cost;
      return { ok: true, limit: opts.max, remaining: opts.max - w.used, resetSeconds };
    },
  };
}

/** Number of procedure calls in a tRPC request path (`/trpc/a,b,c?batch=1` → 3). */
export function trpcCallCount(url: string): number {
  const path = url.split('?')[0] ?? '';
  const i = path.indexOf('/trpc/');
  if (i < 0) return 1;
  const names = path.slice(i + 6);
  return names ? names.split(',').length : 1;
}

/** The DER OCSPResponse `{ responseStatus: tryLater (3) }` (RFC 6960 §4.2.1): the responder is overloaded. */
export const OCSP_TRY_LATER = Uint8Array.from([0x30, 0x03, 0x0a, 0x01, 0x03]);
