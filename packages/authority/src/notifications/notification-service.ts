import { createHmac, randomBytes } from 'node:crypto';
import type { Logger } from 'pino';
import {
  DEFAULT_DAYS_BEFORE,
  NOTIFICATION_EVENTS,
  PkiError,
  newId,
  type Clock,
  type NotificationEvent,
} from '@pkim/shared';
import type {
  CaRow,
  CertificateRow,
  NotificationChannel,
  NotificationDeliveryRow,
  NotificationRuleRow,
  NotificationStatus,
  NotificationTrigger,
  Store,
} from '@pkim/store';
import { authorize } from '../permissions';
import { findCaByRef } from '../ca-context';
import { auditEvent } from '../audit-service';
import { nameMatches, validateNamePattern } from '../signing/provisioner';
import type { Actor } from '../types';
import { checkProfileFilter, type ProfileExists } from '../profile-filter';
import type { NotificationSettings } from './notification-config';
import type { NotificationSecretSealer } from './notification-secret-seal';

/** Every event a delivery can carry: the lifecycle events and `certificate.expiring` of expiry rules. */
export type NotificationDeliveryEvent = NotificationEvent | 'certificate.expiring';

export { DEFAULT_DAYS_BEFORE };

export interface NotificationRuleInput {
  name: string;
  trigger: NotificationTrigger;
  channel: NotificationChannel;
  /** webhook URL (http/https) or e-mail addresses */
  target: string | string[];
  /** days before notAfter, e.g. [30, 7, 1] (the default); also the thresholds of `ca.expiring` */
  daysBefore?: number[];
  /** trigger `events`: which lifecycle events (default all) */
  events?: NotificationEvent[];
  /** only certificates (and CAs) of this CA, id or name */
  ca?: string;
  /** only certificates of this profile */
  profile?: string;
  /** only certificates whose CN or a SAN matches (`*.example.com` = any name below example.com) */
  namePattern?: string;
  /** webhook HMAC key (at least 16 characters); generated when absent; returned once, stored sealed */
  secret?: string;
}

export interface NotificationRuleView {
  id: string;
  name: string;
  trigger: NotificationTrigger;
  channel: NotificationChannel;
  target: string;
  daysBefore: number[];
  events: NotificationEvent[];
  ca: { id: string; name: string } | null;
  profile: string | null;
  namePattern: string | null;
  enabled: boolean;
  /** after a secret rotation: until then deliveries are signed under the previous secret too (null: not rotating) */
  secretOverlapUntil: number | null;
  createdAt: number;
  updatedAt: number;
}

/** `rotateSecret`: the new secret (generated when absent) and how long the old one still signs */
export interface NotificationSecretRotation {
  secret?: string;
  /** overlap in milliseconds (default 24 h, at most 30 days; 0: the old secret stops at once) */
  overlapMs?: number;
}

export const DEFAULT_SECRET_OVERLAP_MS = 86_400_000;
const MAX_SECRET_OVERLAP_MS = 30 * 86_400_000;

export interface NotificationDeliveryView {
  id: string;
  rule: { id: string; name: string };
  event: string;
  /** the certificate, CA or key backend the notification is about */
  subject: string | null;
  status: NotificationStatus;
  attempts: number;
  nextAttemptAt: number | null;
  lastError: string | null;
  createdAt: number;
  deliveredAt: number | null;
}

export interface NotificationRunResult {
  enqueued: number;
  delivered: number;
  retrying: number;
  failed: number;
}

export interface NotificationService {
  /** the webhook secret is in this answer only (never listed, never logged) */
  createRule(input: NotificationRuleInput, actor: Actor): Promise<NotificationRuleView & { secret: string | null }>;
  listRules(actor: Actor): Promise<NotificationRuleView[]>;
  removeRule(idOrName: string, actor: Actor): Promise<void>;
  setRuleEnabled(idOrName: string, enabled: boolean, actor: Actor): Promise<NotificationRuleView>;
  /**
   * A new HMAC secret for a webhook rule, shown in this answer only. During the overlap every delivery carries a
   * signature under each secret (`t=…,v1=<new>,v1=<old>`), so receivers can switch when they are ready.
   */
  rotateSecret(
    idOrName: string,
    input: NotificationSecretRotation,
    actor: Actor,
  ): Promise<NotificationRuleView & { secret: string }>;
  listDeliveries(
    q: { rule?: string; status?: NotificationStatus; limit?: number; cursor?: string | null },
    actor: Actor,
  ): Promise<{ items: NotificationDeliveryView[]; nextCursor: string | null }>;
  /**
   * One run of the leader-only `notifications` job: finds what is due (certificates and CAs crossing a
   * threshold, lifecycle events from the audit log, stale CRLs, unhealthy key backends), enqueues one delivery per
   * rule and subject — the database's unique dedup key makes that exactly once across instances — then sends what
   * is due, retrying failures with exponential backoff.
   */
  run(): Promise<NotificationRunResult>;
}

export interface NotificationServiceDeps {
  store: Store;
  clock: Clock;
  logger: Logger;
  settings: NotificationSettings;
  sealer: NotificationSecretSealer;
  health(): Promise<{ keyBackends: { backend: string; ok: boolean; detail?: string }[] }>;
  /** a rule's profile that is a typo is refused (profile-filter.ts); absent: any well-formed name */
  profileExists?: ProfileExists;
}

const DAY_MS = 86_400_000;
const MAX_RETRY_DELAY_MS = 3_600_000;
/** a sender holds a delivery this long; a crashed sender's deliveries are retried after it */
const LEASE_MS = 5 * 60_000;
const WEBHOOK_TIMEOUT_MS = 15_000;
const AUDIT_CURSOR = 'notifications.audit_cursor';
const AUDIT_BATCH = 1000;
const PAGE = 500;
/** audit actions → lifecycle events */
const AUDIT_EVENTS: Record<string, NotificationEvent> = {
  'certificate.issued': 'certificate.issued',
  'certificate.renewed': 'certificate.renewed',
  'certificate.revoked': 'certificate.revoked',
  // a CRL that cannot be regenerated goes stale at its nextUpdate (key backend down, CA key unusable)
  'crl.generate_failed': 'crl.stale',
};

/**
 * The webhook signature header: `t=<unix seconds>,v1=<hex HMAC-SHA256(secret, "<t>.<raw body>")>`, with one `v1`
 * per secret (the current one first; the previous one too during a rotation's overlap). docs/notifications.md shows
 * how a receiver verifies it.
 */
export function webhookSignature(secrets: string | string[], timestampSeconds: number, body: string): string {
  const macs = (Array.isArray(secrets) ? secrets : [secrets]).map(
    (secret) => `v1=${createHmac('sha256', secret).update(`${timestampSeconds}.${body}`).digest('hex')}`,
  );
  return [`t=${timestampSeconds}`, ...macs].join(',');
}

const EMAIL = /^[^\s@,<>]+@[^\s@,<>]+\.[^\s@,<>]+$/;

function certificateNames(cert: CertificateRow): { kind: 'dns' | 'ip' | 'email' | 'uri'; name: string }[] {
  return [
    ...(cert.commonName ? [{ kind: 'dns' as const, name: cert.commonName }] : []),
    ...(cert.sans.dns ?? []).map((name) => ({ kind: 'dns' as const, name })),
    ...(cert.sans.ip ?? []).map((name) => ({ kind: 'ip' as const, name })),
    ...(cert.sans.email ?? []).map((name) => ({ kind: 'email' as const, name })),
    ...(cert.sans.uri ?? []).map((name) => ({ kind: 'uri' as const, name })),
  ];
}

/** Does a certificate fall under a rule's scope (CA, profile, name pattern)? */
function inScope(rule: NotificationRuleRow, cert: CertificateRow): boolean {
  if (rule.caId && cert.caId !== rule.caId) return false;
  if (rule.profile && cert.profile !== rule.profile) return false;
  const pattern = rule.namePattern;
  if (pattern && !certificateNames(cert).some((n) => nameMatches(n.kind, n.name, pattern))) return false;
  return true;
}

/** the smallest threshold (days) a notAfter has crossed at `now`, or undefined */
function crossedThreshold(daysBefore: number[], notAfter: number, now: number): number | undefined {
  const left = notAfter - now;
  const crossed = daysBefore.filter((d) => left <= d * DAY_MS);
  return crossed.length ? Math.min(...crossed) : undefined;
}

const iso = (ms: number) => new Date(ms).toISOString();

/** Notification rules, the delivery queue, its senders and the delivery log (docs/notifications.md). */
export function createNotificationService(deps: NotificationServiceDeps): NotificationService {
  const { store, clock, logger, settings, sealer } = deps;
  const log = logger.child({ component: 'notifications' });
  let mailer: { sendMail(m: Record<string, unknown>): Promise<unknown> } | undefined;

  const sendMail = async (m: { to: string[]; subject: string; text: string }) => {
    const smtp = settings.smtp;
    if (!smtp) throw new Error('no SMTP server configured (PKIM_SMTP_HOST)');
    if (!mailer) {
      const nodemailer = await import('nodemailer');
      mailer = nodemailer.createTransport({
        host: smtp.host,
        port: smtp.port,
        secure: smtp.tls === 'tls',
        requireTLS: smtp.tls === 'starttls',
        ignoreTLS: smtp.tls === 'none',
        auth: smtp.user ? { user: smtp.user, pass: smtp.password ?? '' } : undefined,
        connectionTimeout: 15_000,
        greetingTimeout: 15_000,
        socketTimeout: 30_000,
      });
    }
    await mailer.sendMail({ from: settings.from, to: m.to.join(', '), subject: m.subject, text: m.text });
  };

  const requireRule = async (idOrName: string) => {
    const r = await store.notifications.findRule(idOrName);
    if (!r) throw new PkiError('notification.rule_not_found', `no notification rule '${idOrName}'`);
    return r;
  };

  const caNames = async () => new Map((await store.cas.list()).map((c) => [c.id, c.name]));

  const view = (r: NotificationRuleRow, names: Map<string, string>): NotificationRuleView => ({
    id: r.id,
    name: r.name,
    trigger: r.trigger,
    channel: r.channel,
    target: r.target,
    daysBefore: r.daysBefore,
    events: r.events as NotificationEvent[],
    ca: r.caId ? { id: r.caId, name: names.get(r.caId) ?? r.caId } : null,
    profile: r.profile,
    namePattern: r.namePattern,
    enabled: r.enabled,
    secretOverlapUntil: r.previousSecret && (r.previousSecretUntil ?? 0) > clock.now() ? r.previousSecretUntil : null,
    createdAt: r.createdAt,
    updatedAt: r.updatedAt,
  });

  /** the secrets a delivery is signed with now: the current one, and the previous one during the overlap */
  const signingSecrets = (rule: NotificationRuleRow): string[] => {
    if (!rule.secret) throw new Error('the rule has no webhook secret');
    const secrets = [sealer.open(rule.id, rule.secret)];
    if (rule.previousSecret && (rule.previousSecretUntil ?? 0) > clock.now())
      secrets.push(sealer.open(rule.id, rule.previousSecret));
    return secrets;
  };

  const checkTarget = (channel: NotificationChannel, target: string | string[]): string => {
    if (channel === 'webhook') {
      const text = Array.isArray(target) ? (target.length === 1 ? target[0]! : '') : target.trim();
      let u: URL | undefined;
      try {
        u = new URL(text);
      } catch {
        u = undefined;
      }
      if (!u || (u.protocol !== 'https:' && u.protocol !== 'http:') || text.length > 2048)
        throw new PkiError('input.invalid', `a webhook target is one http(s) URL, got '${text.slice(0, 100)}'`);
      if (u.username || u.password)
        throw new PkiError(
          'input.invalid',
          'a webhook URL must not carry credentials (the HMAC signature is the proof)',
        );
      return u.toString();
    }
    const list = (Array.isArray(target) ? target : target.split(',')).map((a) => a.trim()).filter(Boolean);
    if (list.length === 0 || list.length > 20 || list.some((a) => a.length > 254 || !EMAIL.test(a)))
      throw new PkiError('input.invalid', 'an e-mail target is 1 to 20 addresses (name@example.com)');
    if (!settings.smtp)
      throw new PkiError(
        'notification.smtp_not_configured',
        'e-mail rules need an SMTP server: set PKIM_SMTP_HOST (docs/notifications.md)',
      );
    return list.join(',');
  };

  const checkInput = async (input: NotificationRuleInput, actor: Actor) => {
    if (!/^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/.test(input.name))
      throw new PkiError('input.invalid', 'a rule name is 1-64 characters: letters, digits, . _ - (not first)');
    if (input.trigger !== 'expiry' && input.trigger !== 'events')
      throw new PkiError('input.invalid', "trigger must be 'expiry' or 'events'");
    if (input.channel !== 'webhook' && input.channel !== 'email')
      throw new PkiError('input.invalid', "channel must be 'webhook' or 'email'");
    const target = checkTarget(input.channel, input.target);
    const days = input.daysBefore ?? [...DEFAULT_DAYS_BEFORE];
    if (days.length === 0 || days.length > 10 || days.some((d) => !Number.isInteger(d) || d < 0 || d > 3650))
      throw new PkiError('input.invalid', 'daysBefore: 1 to 10 whole numbers of days from 0 to 3650');
    if (input.trigger === 'expiry' && input.events?.length)
      throw new PkiError('input.invalid', "events belong to trigger 'events' (expiry rules notify expiry)");
    const events = input.trigger === 'events' ? (input.events ?? [...NOTIFICATION_EVENTS]) : [];
    const unknown = events.filter((e) => !(NOTIFICATION_EVENTS as readonly string[]).includes(e));
    if (unknown.length || (input.trigger === 'events' && events.length === 0))
      throw new PkiError(
        'input.invalid',
        `unknown or no event(s) ${unknown.join(', ')} (known: ${NOTIFICATION_EVENTS.join(', ')})`,
      );
    let caId: string | null = null;
    if (input.ca !== undefined) {
      caId = (await findCaByRef(store, input.ca, actor)).id; // ca.not_found with the name to use, as elsewhere
    }
    if (input.profile !== undefined && !/^[a-z0-9][a-z0-9._-]{0,63}$/i.test(input.profile))
      throw new PkiError('input.invalid', `'${input.profile}' is not a profile name`);
    // a typo would notify nothing, silently: profile.not_found unless a profile or a certificate has the name
    await checkProfileFilter(store, deps.profileExists, input.profile, undefined, 'the rule');
    if (input.namePattern !== undefined) validateNamePattern(input.namePattern);
    if (
      input.channel === 'webhook' &&
      input.secret !== undefined &&
      (input.secret.length < 16 || input.secret.length > 256)
    )
      throw new PkiError('input.invalid', 'a webhook secret is 16 to 256 characters');
    if (input.channel === 'email' && input.secret !== undefined)
      throw new PkiError('input.invalid', 'only webhooks have a secret');
    return { target, days: [...new Set(days)].sort((a, b) => b - a), events: [...new Set(events)], caId };
  };

  const delivery = (
    rule: NotificationRuleRow,
    dedupKey: string,
    event: NotificationDeliveryEvent,
    subject: string | null,
    now: number,
    data: Record<string, unknown>,
  ): NotificationDeliveryRow => {
    const id = newId('ntd');
    return {
      id,
      ruleId: rule.id,
      dedupKey,
      event,
      subject,
      payload: { id, event, createdAt: iso(now), rule: { id: rule.id, name: rule.name }, data },
      status: 'pending',
      attempts: 0,
      nextAttemptAt: now,
      leaseUntil: null,
      lastError: null,
      createdAt: now,
      deliveredAt: null,
    };
  };

  const certificateData = (cert: CertificateRow, names: Map<string, string>) => ({
    id: cert.id,
    serial: cert.serialHex,
    subject: cert.subjectDn,
    commonName: cert.commonName,
    sans: cert.sans,
    profile: cert.profile,
    ca: { id: cert.caId, name: names.get(cert.caId) ?? null },
    notBefore: iso(cert.notBefore),
    notAfter: iso(cert.notAfter),
    status: cert.status,
  });

  /** certificates crossing a threshold of an expiry rule: one delivery per (rule, certificate, threshold) */
  const scanCertificates = async (rules: NotificationRuleRow[], now: number, names: Map<string, string>) => {
    const expiry = rules.filter((r) => r.trigger === 'expiry');
    const out: NotificationDeliveryRow[] = [];
    if (expiry.length === 0) return out;
    const horizon = now + Math.max(...expiry.flatMap((r) => r.daysBefore)) * DAY_MS;
    let after: { notAfter: number; id: string } | undefined;
    for (;;) {
      const page = await store.notifications.expiringCertificates(now, horizon, after, PAGE);
      for (const cert of page) {
        for (const rule of expiry) {
          if (!inScope(rule, cert)) continue;
          const threshold = crossedThreshold(rule.daysBefore, cert.notAfter, now);
          if (threshold === undefined) continue;
          out.push(
            delivery(rule, `${rule.id}:${cert.id}:${threshold}d`, 'certificate.expiring', cert.id, now, {
              certificate: certificateData(cert, names),
              daysBefore: threshold,
              daysLeft: Math.floor((cert.notAfter - now) / DAY_MS),
            }),
          );
        }
      }
      const last = page[page.length - 1];
      if (!last || page.length < PAGE) break;
      after = { notAfter: last.notAfter, id: last.id };
    }
    return out;
  };

  /** CAs crossing a threshold: expiry rules without certificate-only filters, and `ca.expiring` event rules */
  const scanCas = (rules: NotificationRuleRow[], cas: CaRow[], now: number) => {
    const out: NotificationDeliveryRow[] = [];
    for (const rule of rules) {
      const wants =
        rule.trigger === 'expiry' ? !rule.profile && !rule.namePattern : rule.events.includes('ca.expiring');
      if (!wants) continue;
      for (const ca of cas) {
        if (ca.status !== 'active' || ca.notAfter === null || ca.notAfter <= now) continue;
        if (rule.caId && ca.id !== rule.caId) continue;
        const days = rule.daysBefore.length ? rule.daysBefore : [...DEFAULT_DAYS_BEFORE];
        const threshold = crossedThreshold(days, ca.notAfter, now);
        if (threshold === undefined) continue;
        out.push(
          delivery(rule, `${rule.id}:${ca.id}:${threshold}d`, 'ca.expiring', ca.id, now, {
            ca: { id: ca.id, name: ca.name, subject: ca.subjectDn, notAfter: iso(ca.notAfter) },
            daysBefore: threshold,
            daysLeft: Math.floor((ca.notAfter - now) / DAY_MS),
          }),
        );
      }
    }
    return out;
  };

  const auditHead = async () => (await store.audit.list({ order: 'desc', limit: 1 }))[0]?.seq ?? 0;

  /** lifecycle events from the audit log after the cursor kept in the database */
  const scanAudit = async (rules: NotificationRuleRow[], now: number, names: Map<string, string>) => {
    const eventRules = rules.filter((r) => r.trigger === 'events');
    const out: NotificationDeliveryRow[] = [];
    const stored = await store.settings.get(AUDIT_CURSOR);
    // no cursor yet: start at the head (the first events rule sets it when it is created)
    if (stored === undefined || eventRules.length === 0) return { out, cursor: await auditHead() };
    let cursor = Number(stored);
    const day = Math.floor(now / DAY_MS);
    for (;;) {
      const events = await store.audit.list({ afterSeq: cursor, limit: AUDIT_BATCH, order: 'asc' });
      for (const e of events) {
        cursor = e.seq;
        const kind = AUDIT_EVENTS[e.action];
        if (!kind || (kind !== 'crl.stale' && e.outcome !== 'success')) continue;
        const rulesFor = eventRules.filter((r) => r.events.includes(kind) && e.time >= r.createdAt);
        if (rulesFor.length === 0) continue;
        if (kind === 'crl.stale') {
          const ca = e.target ? ((await store.cas.findById(e.target)) ?? (await store.cas.findByName(e.target))) : null;
          if (!ca) continue;
          for (const rule of rulesFor) {
            if (rule.caId && rule.caId !== ca.id) continue;
            // at most one per CA and day, however often the refresh fails
            out.push(
              delivery(rule, `${rule.id}:crl:${ca.id}:${day}`, 'crl.stale', ca.id, now, {
                ca: { id: ca.id, name: ca.name, subject: ca.subjectDn },
                error: (e.details as { message?: unknown }).message ?? null,
                auditEvent: { id: e.id, time: iso(e.time) },
              }),
            );
          }
          continue;
        }
        const cert = e.target ? await store.certificates.findById(e.target) : undefined;
        if (!cert) continue;
        for (const rule of rulesFor) {
          if (!inScope(rule, cert)) continue;
          out.push(
            delivery(rule, `${rule.id}:${e.id}`, kind, cert.id, now, {
              certificate: certificateData(cert, names),
              auditEvent: { id: e.id, time: iso(e.time), actor: e.actor, details: e.details },
            }),
          );
        }
      }
      if (events.length < AUDIT_BATCH) break;
    }
    return { out, cursor };
  };

  /** unhealthy key backends: at most one delivery per rule, backend and day */
  const scanKeyBackends = async (rules: NotificationRuleRow[], now: number) => {
    const out: NotificationDeliveryRow[] = [];
    const wanted = rules.filter((r) => r.trigger === 'events' && r.events.includes('kms.unhealthy'));
    if (wanted.length === 0) return out;
    const day = Math.floor(now / DAY_MS);
    for (const b of (await deps.health()).keyBackends) {
      if (b.ok) continue;
      for (const rule of wanted)
        out.push(
          delivery(rule, `${rule.id}:kms:${b.backend}:${day}`, 'kms.unhealthy', b.backend, now, {
            keyBackend: { name: b.backend, detail: b.detail ?? null },
          }),
        );
    }
    return out;
  };

  const mailSubject = (d: NotificationDeliveryRow): string => {
    const data = d.payload.data as Record<string, unknown>;
    const cert = data.certificate as { commonName?: string | null; serial?: string } | undefined;
    const ca = data.ca as { name?: string } | undefined;
    const certName = cert?.commonName ?? cert?.serial ?? '';
    const left = (n: unknown) => (n === 0 ? 'less than a day' : n === 1 ? '1 day' : `${String(n)} days`);
    switch (d.event) {
      case 'certificate.expiring':
        return `[pkim] certificate ${certName} expires in ${left(data.daysLeft)}`;
      case 'ca.expiring':
        return `[pkim] CA ${ca?.name ?? ''} expires in ${left(data.daysLeft)}`;
      case 'crl.stale':
        return `[pkim] the CRL of CA ${ca?.name ?? ''} could not be regenerated`;
      case 'kms.unhealthy':
        return `[pkim] key backend ${(data.keyBackend as { name?: string } | undefined)?.name ?? ''} is unhealthy`;
      default:
        return `[pkim] ${d.event}: ${certName}`;
    }
  };

  const send = async (rule: NotificationRuleRow, d: NotificationDeliveryRow) => {
    const body = JSON.stringify(d.payload);
    if (rule.channel === 'webhook') {
      const secrets = signingSecrets(rule);
      const ts = Math.floor(clock.now() / 1000);
      const res = await fetch(rule.target, {
        method: 'POST',
        headers: {
          'content-type': 'application/json',
          'user-agent': 'pkim-notifications/1',
          'x-pkim-event': d.event,
          'x-pkim-delivery': d.id,
          'x-pkim-timestamp': String(ts),
          'x-pkim-signature': webhookSignature(secrets, ts, body),
        },
        body,
        redirect: 'manual',
        signal: AbortSignal.timeout(WEBHOOK_TIMEOUT_MS),
      });
      await res.body?.cancel().catch(() => undefined);
      if (res.status < 200 || res.status >= 300) throw new Error(`webhook answered HTTP ${res.status}`);
      return;
    }
    const subject = mailSubject(d);
    await sendMail({
      to: rule.target.split(','),
      subject,
      text:
        `${subject}\n\nRule: ${rule.name}\nDelivery: ${d.id}\n\n` +
        `${JSON.stringify(d.payload.data, null, 2)}\n\n-- PKI Manager\n`,
    });
  };

  /** sends every due delivery this instance can lease; retries with exponential backoff */
  const deliverDue = async (result: NotificationRunResult) => {
    const rules = new Map<string, NotificationRuleRow | undefined>();
    for (;;) {
      const batch = await store.notifications.lease(clock.now(), clock.now() + LEASE_MS, 50);
      for (const d of batch) {
        if (!rules.has(d.ruleId)) rules.set(d.ruleId, await store.notifications.findRule(d.ruleId));
        const rule = rules.get(d.ruleId);
        const attempts = d.attempts + 1;
        try {
          if (!rule) throw new Error('the rule was removed');
          await send(rule, d);
          await store.notifications.settle(d.id, {
            status: 'delivered',
            attempts,
            nextAttemptAt: d.nextAttemptAt,
            lastError: null,
            deliveredAt: clock.now(),
          });
          result.delivered++;
        } catch (e) {
          // the message names the failure (HTTP status, SMTP reply), never a secret: the URL is the rule's target
          const message = (e instanceof Error ? e.message : String(e)).slice(0, 500);
          const final = attempts >= settings.maxAttempts || !rule;
          const delay = Math.min(MAX_RETRY_DELAY_MS, settings.retryBaseMs * 2 ** (attempts - 1));
          await store.notifications.settle(d.id, {
            status: final ? 'failed' : 'retrying',
            attempts,
            nextAttemptAt: final ? d.nextAttemptAt : clock.now() + delay,
            lastError: message,
            deliveredAt: null,
          });
          if (final) result.failed++;
          else result.retrying++;
          log.warn(
            { delivery: d.id, rule: rule?.name ?? d.ruleId, event: d.event, attempts, final, err: message },
            'notification delivery failed',
          );
        }
      }
      if (batch.length < 50) break;
    }
  };

  return {
    async createRule(input, actor) {
      authorize(actor, 'notification:manage');
      const { target, days, events, caId } = await checkInput(input, actor);
      if (await store.notifications.findRule(input.name))
        throw new PkiError('notification.rule_name_taken', `a notification rule '${input.name}' exists`);
      const now = clock.now();
      const id = newId('ntr');
      const secret = input.channel === 'webhook' ? (input.secret ?? randomBytes(32).toString('base64url')) : null;
      const row: NotificationRuleRow = {
        id,
        name: input.name,
        trigger: input.trigger,
        channel: input.channel,
        target,
        secret: secret === null ? null : sealer.seal(id, secret),
        previousSecret: null,
        previousSecretUntil: null,
        daysBefore: days,
        events,
        caId,
        profile: input.profile ?? null,
        namePattern: input.namePattern?.trim().toLowerCase() ?? null,
        enabled: true,
        createdAt: now,
        updatedAt: now,
      };
      // lifecycle events are read from the audit log from now on: the only events rule starts the cursor at the
      // head (with other events rules the cursor stays where the job left it)
      const startCursor =
        input.trigger === 'events' && !(await store.notifications.listRules()).some((r) => r.trigger === 'events')
          ? { [AUDIT_CURSOR]: String(await auditHead()) }
          : undefined;
      await store.commit({
        insertNotificationRules: [row],
        ...(startCursor ? { setSettings: startCursor } : {}),
        audit: [
          auditEvent(clock, actor, 'notification.rule_created', row.id, {
            name: row.name,
            trigger: row.trigger,
            channel: row.channel,
            daysBefore: row.daysBefore,
            events: row.events,
            caId: row.caId,
            profile: row.profile,
            namePattern: row.namePattern,
          }),
        ],
      });
      log.info({ rule: row.name, trigger: row.trigger, channel: row.channel }, 'notification rule created');
      return { ...view(row, await caNames()), secret };
    },

    async listRules(actor) {
      authorize(actor, 'notification:read');
      const names = await caNames();
      return (await store.notifications.listRules()).map((r) => view(r, names));
    },

    async removeRule(idOrName, actor) {
      authorize(actor, 'notification:manage');
      const r = await requireRule(idOrName);
      await store.commit({
        deleteNotificationRules: [r.id],
        audit: [auditEvent(clock, actor, 'notification.rule_removed', r.id, { name: r.name })],
      });
    },

    async setRuleEnabled(idOrName, enabled, actor) {
      authorize(actor, 'notification:manage');
      const r = await requireRule(idOrName);
      const updatedAt = clock.now();
      await store.commit({
        updateNotificationRules: [{ id: r.id, patch: { enabled, updatedAt } }],
        audit: [
          auditEvent(clock, actor, enabled ? 'notification.rule_enabled' : 'notification.rule_disabled', r.id, {
            name: r.name,
          }),
        ],
      });
      return view({ ...r, enabled, updatedAt }, await caNames());
    },

    async rotateSecret(idOrName, input, actor) {
      authorize(actor, 'notification:manage');
      const r = await requireRule(idOrName);
      if (r.channel !== 'webhook' || !r.secret)
        throw new PkiError('input.invalid', `rule '${r.name}' is an e-mail rule: only webhooks have a secret`);
      if (input.secret !== undefined && (input.secret.length < 16 || input.secret.length > 256))
        throw new PkiError('input.invalid', 'a webhook secret is 16 to 256 characters');
      const overlapMs = input.overlapMs ?? DEFAULT_SECRET_OVERLAP_MS;
      if (!Number.isSafeInteger(overlapMs) || overlapMs < 0 || overlapMs > MAX_SECRET_OVERLAP_MS)
        throw new PkiError('input.invalid', 'the overlap is from 0 to 30 days');
      const secret = input.secret ?? randomBytes(32).toString('base64url');
      if (secret === sealer.open(r.id, r.secret))
        throw new PkiError('input.invalid', 'the new webhook secret is the current one');
      const now = clock.now();
      // a rotation during an overlap drops the oldest secret: at most two sign at any time
      const patch = {
        secret: sealer.seal(r.id, secret),
        previousSecret: overlapMs > 0 ? r.secret : null,
        previousSecretUntil: overlapMs > 0 ? now + overlapMs : null,
        updatedAt: now,
      };
      await store.commit({
        updateNotificationRules: [{ id: r.id, patch }],
        audit: [
          auditEvent(clock, actor, 'notification.secret_rotated', r.id, {
            name: r.name,
            overlapUntil: patch.previousSecretUntil === null ? null : iso(patch.previousSecretUntil),
            generated: input.secret === undefined,
          }),
        ],
      });
      log.info({ rule: r.name, overlapMs }, 'notification webhook secret rotated');
      return { ...view({ ...r, ...patch }, await caNames()), secret };
    },

    async listDeliveries(q, actor) {
      authorize(actor, 'notification:read');
      const limit = Math.max(1, Math.min(q.limit ?? 50, 500));
      let before: { createdAt: number; id: string } | undefined;
      if (q.cursor) {
        const m = /^(\d{1,16})_(ntd_[A-Za-z0-9_-]{1,64})$/.exec(q.cursor);
        if (!m) throw new PkiError('input.invalid', 'invalid cursor');
        before = { createdAt: Number(m[1]), id: m[2]! };
      }
      const ruleId = q.rule ? (await requireRule(q.rule)).id : undefined;
      const rules = new Map((await store.notifications.listRules()).map((r) => [r.id, r.name]));
      const rows = await store.notifications.listDeliveries({ ruleId, status: q.status, limit: limit + 1, before });
      const page = rows.slice(0, limit);
      const last = page[page.length - 1];
      return {
        items: page.map((d) => ({
          id: d.id,
          rule: { id: d.ruleId, name: rules.get(d.ruleId) ?? d.ruleId },
          event: d.event,
          subject: d.subject,
          status: d.status,
          attempts: d.attempts,
          nextAttemptAt: d.status === 'pending' || d.status === 'retrying' ? d.nextAttemptAt : null,
          lastError: d.lastError,
          createdAt: d.createdAt,
          deliveredAt: d.deliveredAt,
        })),
        nextCursor: rows.length > limit && last ? `${last.createdAt}_${last.id}` : null,
      };
    },

    async run() {
      const now = clock.now();
      const rules = (await store.notifications.listRules()).filter((r) => r.enabled);
      const result: NotificationRunResult = { enqueued: 0, delivered: 0, retrying: 0, failed: 0 };
      if (rules.length) {
        const cas = await store.cas.list();
        const names = new Map(cas.map((c) => [c.id, c.name]));
        const { out: lifecycle, cursor } = await scanAudit(rules, now, names);
        const due = [
          ...(await scanCertificates(rules, now, names)),
          ...scanCas(rules, cas, now),
          ...lifecycle,
          ...(await scanKeyBackends(rules, now)),
        ];
        // the unique dedup key: a delivery another instance (or an earlier run) enqueued is not enqueued again
        for (let i = 0; i < due.length; i += 200)
          result.enqueued += (await store.notifications.enqueue(due.slice(i, i + 200))).length;
        await store.commit({ setSettings: { [AUDIT_CURSOR]: String(cursor) } });
      }
      await deliverDue(result);
      return result;
    },
  };
}
