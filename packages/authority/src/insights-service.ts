import { createHash } from 'node:crypto';
import { PkiError, type Clock } from '@pkim/shared';
import { certificateUrls, decodeCsr, normalizeSerialHex, parseCertificate, type SubjectAltNames } from '@pkim/core';
import type { CaRow, CaStatus, CertificateRow, Store } from '@pkim/store';
import type { Actor, Authority, InsightsService, DashboardWarning } from './types';
import { visibleCaIds } from './signing/provisioner-policy';
import { caStatusAt, certificateAt } from './certificate-view';
import { withActorNames } from './audit-service';
import { lacksRevocationUrls, urlsOfCa } from './url-plan';

const DAY_MS = 86_400_000;
const CA_STATUSES: CaStatus[] = ['active', 'pending', 'disabled', 'expired', 'revoked'];

export interface InsightsServiceDeps {
  store: Store;
  clock: Clock;
  health: Authority['health'];
  /** the server's public URL: the CRL/OCSP/AIA URLs a CA without its own carries (url-plan.ts urlsOfCa) */
  publicBaseUrl?: string;
}

const allSans = (s: SubjectAltNames) => ({ dns: s.dns ?? [], ip: s.ip ?? [], uri: s.uri ?? [], email: s.email ?? [] });

/**
 * Read models of the web console: dashboard counters, the expiry histogram, global search, the
 * domains view and PEM decoders. Everything is answered by counters, indexes or bounded queries in
 * the store; nothing here (or in the browser) walks the full certificate list.
 */
export function createInsightsService(deps: InsightsServiceDeps): InsightsService {
  const { store, clock } = deps;

  function caWarnings(cas: CaRow[], now: number): DashboardWarning[] {
    const out: DashboardWarning[] = [];
    for (const ca of cas) {
      if (ca.status !== 'active' || ca.notAfter === null) continue;
      const left = ca.notAfter - now;
      if (left <= 0) {
        out.push({ level: 'critical', code: 'ca.expired', message: `CA ${ca.name} has expired`, target: ca.id });
      } else if (left <= 90 * DAY_MS) {
        // whole days left, rounded down: as the console's badge and CA page count them (one number on a page)
        const days = Math.floor(left / DAY_MS);
        out.push({
          level: left <= 30 * DAY_MS ? 'critical' : 'warning',
          code: 'ca.expiring',
          message:
            days === 0
              ? `CA ${ca.name} expires within a day`
              : `CA ${ca.name} expires in ${days} day${days === 1 ? '' : 's'}`,
          target: ca.id,
        });
      }
    }
    return out;
  }

  /**
   * each active CA whose certificates carry neither a CRL nor an OCSP URL (its own URLs, or the server's public URL's:
   * what the signing pipeline puts in them): a revocation there reaches no relying party
   */
  function noUrlWarnings(cas: CaRow[], now: number): DashboardWarning[] {
    return cas
      .filter((ca) => caStatusAt(ca, now) === 'active' && lacksRevocationUrls(urlsOfCa(ca, deps.publicBaseUrl)))
      .map((ca) => ({
        level: 'warning',
        code: 'ca.no_urls',
        message: `Certificates of CA ${ca.name} carry no CRL or OCSP URL: a revocation there reaches no relying party`,
        target: ca.id,
      }));
  }

  /** the CAs a CA-limited actor may see (undefined: not limited) */
  async function scope(actor: Actor | undefined): Promise<string[] | undefined> {
    return actor?.resources?.cas ? visibleCaIds(actor, await store.cas.list()) : undefined;
  }

  return {
    async dashboard(include = { audit: true, certificates: true }, actor) {
      const now = clock.now();
      const cas = await scope(actor);
      const expiring = async () =>
        cas
          ? (
              await store.certificates.list({
                caIds: cas,
                expiringBefore: now + 30 * DAY_MS,
                now,
                sort: 'expiry_asc',
                limit: 10,
              })
            ).items
          : store.certificates.findExpiringBefore(now + 30 * DAY_MS, 10, now);
      const [allCas, stored, pastEnd, within7d, within30d, within90d, pending, expiringSoon, recentAudit, health] =
        await Promise.all([
          store.cas.list(),
          store.certificates.countByStatus(),
          store.certificates.countExpiringBefore(now + 1), // active, notAfter <= now: listed as expired already
          // expiring = not yet past its end (those count as expired above), as the listing's `expiringWithin` filter
          store.certificates.countExpiringBefore(now + 7 * DAY_MS, now),
          store.certificates.countExpiringBefore(now + 30 * DAY_MS, now),
          store.certificates.countExpiringBefore(now + 90 * DAY_MS, now),
          store.requests.list({ status: 'pending', limit: 1000 }),
          include.certificates ? expiring() : [],
          // the audit log spans every CA: not for a CA-limited principal
          include.audit && !cas ? store.audit.list({ order: 'desc', limit: 10 }) : [],
          deps.health(),
        ]);
      const casByStatus = Object.fromEntries(CA_STATUSES.map((s) => [s, 0])) as Record<CaStatus, number>;
      for (const ca of allCas) casByStatus[caStatusAt(ca, now)] += 1;
      // as the lists read them at this instant (statusAt): active rows past their end count as expired
      const byStatus = { ...stored, active: stored.active - pastEnd, expired: stored.expired + pastEnd };

      const warnings: DashboardWarning[] = [];
      if (!health.database)
        warnings.push({ level: 'critical', code: 'store.unavailable', message: 'database unreachable', target: null });
      for (const kb of health.keyBackends) {
        if (!kb.ok) {
          warnings.push({
            level: 'critical',
            code: 'kms.unavailable',
            message: `key backend ${kb.backend} is not healthy${kb.detail ? `: ${kb.detail}` : ''}`,
            target: kb.backend,
          });
        }
      }
      if (allCas.length === 0) {
        warnings.push({
          level: 'info',
          code: 'ca.none',
          message: 'No certificate authority yet: create a root CA to start issuing',
          target: null,
        });
      }
      warnings.push(...caWarnings(allCas, now), ...noUrlWarnings(allCas, now));
      if (within7d > 0) {
        warnings.push({
          level: 'warning',
          code: 'certificate.expiring',
          message: `${within7d} active certificate${within7d === 1 ? ' expires' : 's expire'} within 7 days`,
          target: null,
        });
      }
      const pendingCount = pending.items.length;
      if (pendingCount > 0) {
        warnings.push({
          level: 'info',
          code: 'request.pending',
          message:
            `${pendingCount}${pending.nextCursor ? '+' : ''} certificate ` +
            `request${pendingCount === 1 ? '' : 's'} awaiting review`,
          target: null,
        });
      }
      return {
        generatedAt: now,
        cas: { total: allCas.length, byStatus: casByStatus },
        certificates: byStatus,
        expiring: { within7d, within30d, within90d },
        pendingRequests: pendingCount,
        expiringSoon,
        recentAudit: await withActorNames(store, recentAudit),
        health,
        warnings,
      };
    },

    async expiryTimeline({ days = 90, bucketDays = 1 } = {}) {
      if (!Number.isInteger(days) || days < 1 || days > 730)
        throw new PkiError('input.invalid', 'days must be an integer between 1 and 730');
      if (!Number.isInteger(bucketDays) || bucketDays < 1 || bucketDays > days)
        throw new PkiError('input.invalid', 'bucketDays must be an integer between 1 and days');
      const now = clock.now();
      const from = now - (now % DAY_MS); // start of the current UTC day
      const to = from + days * DAY_MS;
      const bucketMs = bucketDays * DAY_MS;
      const counted = await store.certificates.expiryHistogram(Math.max(from, now), to, bucketMs);
      // the query starts at `now`; buckets are aligned to day boundaries from `from`
      const byBucket = new Map<number, number>();
      for (const b of counted) {
        const aligned = from + Math.floor((b.bucketStart - from) / bucketMs) * bucketMs;
        byBucket.set(aligned, (byBucket.get(aligned) ?? 0) + b.count);
      }
      const buckets: { start: number; count: number }[] = [];
      let total = 0;
      for (let start = from; start < to; start += bucketMs) {
        const n = byBucket.get(start) ?? 0;
        total += n;
        buckets.push({ start, count: n });
      }
      return { from, to, bucketMs, buckets, total };
    },

    async search(q, limit = 10, actor) {
      const visible = await scope(actor);
      const term = q.trim();
      if (!term) throw new PkiError('input.invalid', 'search term is empty');
      const lower = term.toLowerCase();
      const flat = lower.replace(/[:\s-]/g, '');
      const now = clock.now();
      const cas = (await store.cas.list())
        .map((ca) => {
          const match =
            ca.id === term
              ? 'id'
              : ca.name.toLowerCase().includes(lower)
                ? 'name'
                : ca.subjectDn.toLowerCase().includes(lower)
                  ? 'subject'
                  : ca.serialHex && flat.length >= 4 && ca.serialHex.includes(flat)
                    ? 'serial'
                    : ca.fingerprintSha256 && flat.length === 64 && ca.fingerprintSha256 === flat
                      ? 'fingerprint'
                      : null;
          const status = caStatusAt(ca, now);
          return match ? { id: ca.id, name: ca.name, subjectDn: ca.subjectDn, status, match } : null;
        })
        .filter((x): x is NonNullable<typeof x> => x !== null)
        .slice(0, limit);

      const seen = new Set<string>();
      const certificates: (CertificateRow & { match: string })[] = [];
      const add = (rows: CertificateRow[], match: string) => {
        for (const r of rows) {
          if (seen.has(r.id) || certificates.length >= limit || (visible && !visible.includes(r.caId))) continue;
          seen.add(r.id);
          certificates.push({ ...certificateAt(r, clock.now()), match });
        }
      };
      if (/^crt_[A-Za-z0-9]+$/.test(term)) {
        const row = await store.certificates.findById(term);
        if (row) add([row], 'id');
      }
      if (/^[0-9a-f]{64}$/.test(flat)) {
        const row = await store.certificates.findByFingerprint(flat);
        if (row) add([row], 'fingerprint');
      } else if (/^[0-9a-f]{8,63}$/.test(flat)) {
        // the start of a fingerprint (as a reference is resolved): a range over the fingerprint index
        add((await store.certificates.findByHexPrefix(flat, limit)).fingerprint, 'fingerprint');
      }
      if (/^[0-9a-f]{2,}$/.test(flat)) {
        let serial: string | undefined;
        try {
          serial = normalizeSerialHex(flat);
        } catch {
          serial = undefined;
        }
        if (serial) add(await store.certificates.findAllBySerial(serial), 'serial');
      }
      if (certificates.length < limit) {
        const page = await store.certificates.list({ search: term, limit, caIds: visible });
        add(page.items, 'name');
      }
      return { cas, certificates };
    },

    domains: async (query, actor) => store.certificates.listNames({ ...query, caIds: await scope(actor) }),

    decodeCsr(pem) {
      const csr = decodeCsr(pem);
      return {
        subjectDn: csr.subjectDn,
        keyType: csr.keyType,
        sans: allSans(csr.sans),
        publicKeySha256: createHash('sha256').update(csr.publicKey).digest('hex'),
      };
    },

    decodeCertificate(pem) {
      const c = parseCertificate(pem);
      return {
        serialHex: c.serialHex,
        subjectDn: c.subjectDn,
        issuerDn: c.issuerDn,
        notBefore: c.notBefore,
        notAfter: c.notAfter,
        keyType: c.keyType,
        sans: allSans(c.sans),
        isCa: c.isCa,
        pathLen: c.pathLen,
        keyUsage: [...c.keyUsage],
        extKeyUsage: [...c.extKeyUsage],
        certificatePolicies: c.certificatePolicies,
        subjectKeyIdentifierHex: c.subjectKeyIdentifierHex,
        authorityKeyIdentifierHex: c.authorityKeyIdentifierHex,
        fingerprintSha256: c.fingerprintSha256,
        signatureAlgorithmOid: c.signatureAlgorithmOid,
        nameConstraints: c.nameConstraints,
        ...certificateUrls(pem),
      };
    },
  };
}
