import { createPrivateKey, randomBytes, X509Certificate } from 'node:crypto';
import { PkiError, newId, systemClock, type Clock } from '@pkim/shared';
import { openAesGcm, sealAesGcm, zeroize, type KeyEncryptionKey } from './envelope-encryption';
import type { CertificateRow, ConnectionRow, KeystoreStore, NewEvent } from './keystore-store';
import { handshakeTester, splitEndpoint, type ConnectionTester, type ProbeResult } from './mtls-probe';
import {
  DEFAULT_TEMPLATES,
  certificateRequest,
  checkKeystoreType,
  checkTemplate,
  checkTenantId,
  roleName,
  type CertificateTemplate,
} from './templates';
import type { VaultClient } from './vault-client';

const DAY = 86_400_000;
const ABANDONED_AFTER_MS = 3_600_000;

/** pino-compatible; never given key or certificate bodies */
export interface LifecycleLogger {
  info(obj: object, msg: string): void;
  warn(obj: object, msg: string): void;
}

export interface KeystoreCertManagerOptions {
  store: KeystoreStore;
  vault: VaultClient;
  kek: KeyEncryptionKey;
  /** the Vault PKI mount (the requirement's `pki_client_certs`); default `pki` */
  mount?: string;
  clock?: Clock;
  /** default: a real mTLS handshake with every endpoint of the keystore */
  tester?: ConnectionTester;
  /** renew this long before notAfter; default 30 days */
  renewBeforeMs?: number;
  /** keep the previous certificate valid this long after a rotation; default 7 days */
  gracePeriodMs?: number;
  /** a failed rotation is tried again after this; default 1 hour */
  retryAfterMs?: number;
  /** audit actor of the steps (e.g. `cli:alice`, `scheduler`) */
  actor?: string;
  logger?: LifecycleLogger;
}

export interface ConnectInput {
  tenantId: string;
  keystoreType: string;
  /** `host:port` of the keystore (the requirement's `connection_endpoints`) */
  endpoints: string[];
  /** trust for the keystore's server certificate (PEM); default: system roots */
  serverCaPem?: string;
  /** SNI / name checked in the server certificate; default: the endpoint host */
  serverName?: string;
}

/** A certificate as shown to operators: no key material. */
export interface CertificateView {
  id: string;
  status: CertificateRow['status'];
  serialNumber: string;
  commonName: string;
  notBefore: string;
  notAfter: string;
  renewAt: string;
  /** rotating: revoked at; failed: (key wiped) */
  dueAt: string | null;
  activatedAt: string | null;
  revokedAt: string | null;
  hasPrivateKey: boolean;
  error: string | null;
}

export interface ConnectionView {
  tenantId: string;
  keystoreType: string;
  endpoints: string[];
  createdAt: string;
  active: CertificateView | null;
  certificates: CertificateView[];
}

export interface TickSummary {
  renewed: string[];
  renewalFailed: { connection: string; error: string }[];
  revokedAfterGrace: string[];
  errors: { target: string; error: string }[];
}

const iso = (ms: number | null | undefined) => (ms === null || ms === undefined ? null : new Date(ms).toISOString());
const hexSerial = (s: string) => s.replace(/[:-]/g, '').toLowerCase().replace(/^0+/, '');
const label = (c: { tenantId: string; keystoreType: string }) => `${c.tenantId}/${c.keystoreType}`;

/**
 * The tenant keystore client-certificate lifecycle of the requirement (OpenKCM CMK API server ↔ OpenBao PKI):
 * one certificate per tenant per keystore, requested through the Vault-compatible API; the private key sealed with
 * the tenant's data key (itself wrapped by the KEK) before it is stored; renewal `renewBefore` ahead of expiry;
 * rotation = issue → mTLS handshake with the keystore → activate → previous one kept `gracePeriod` → revoked;
 * revocation and wiping of every certificate of a keystore when the tenant disconnects it. Every step writes a
 * hash-chained event in the same transaction as its state change; no key or certificate body is ever logged.
 */
export function createKeystoreCertManager(o: KeystoreCertManagerOptions) {
  const { store, vault, kek } = o;
  const mount = o.mount ?? 'pki';
  const clock = o.clock ?? systemClock;
  const tester = o.tester ?? handshakeTester;
  const renewBeforeMs = o.renewBeforeMs ?? 30 * DAY;
  const gracePeriodMs = o.gracePeriodMs ?? 7 * DAY;
  const retryAfterMs = o.retryAfterMs ?? 3_600_000;
  const actor = o.actor ?? 'keystore-certs';
  const log = o.logger;

  const event = (action: string, target: string | null, details: Record<string, unknown> = {}, failed = false) =>
    ({
      time: clock.now(),
      actor,
      action,
      target,
      outcome: failed ? 'failure' : 'success',
      details,
    }) satisfies NewEvent;

  // ---------------------------------------------------------------- templates

  function template(keystoreType: string): CertificateTemplate {
    const custom = store.template(keystoreType);
    if (custom) return JSON.parse(custom) as CertificateTemplate;
    const builtIn = DEFAULT_TEMPLATES[keystoreType];
    if (!builtIn) {
      throw new PkiError(
        'keystore.template_not_found',
        `no certificate template for keystore type '${keystoreType}' (built in: ` +
          `${Object.keys(DEFAULT_TEMPLATES).join(', ')}; add one with 'pkim keystore template set')`,
      );
    }
    return builtIn;
  }

  function templates(): Record<string, CertificateTemplate & { builtIn: boolean }> {
    const out: Record<string, CertificateTemplate & { builtIn: boolean }> = {};
    for (const [k, t] of Object.entries(DEFAULT_TEMPLATES)) out[k] = { ...t, builtIn: true };
    for (const r of store.listTemplates()) {
      out[r.keystoreType] = { ...(JSON.parse(r.template) as CertificateTemplate), builtIn: false };
    }
    return out;
  }

  // ---------------------------------------------------------------- envelope encryption

  const tenantAad = (tenantId: string) => `pkim-keystore-tenant-key|v1|${tenantId}`;
  const keyAad = (c: { tenantId: string; keystoreType: string; id: string }) =>
    `pkim-keystore-private-key|v1|${c.tenantId}|${c.keystoreType}|${c.id}`;

  /** the tenant's data key (created on first use); the caller zeroizes it */
  async function tenantKey(tenantId: string, events: NewEvent[]): Promise<{ key: Buffer; created?: string }> {
    const row = store.tenantKey(tenantId);
    if (row) {
      if (row.kekId !== kek.id) {
        throw new PkiError(
          'keystore.key_unavailable',
          `tenant ${tenantId}'s key is wrapped by ${row.kekId}, not by the configured key-encryption key ${kek.id}`,
        );
      }
      return { key: await kek.unwrap(Buffer.from(row.wrappedKey, 'base64'), tenantAad(tenantId)) };
    }
    const key = randomBytes(32);
    const wrapped = (await kek.wrap(key, tenantAad(tenantId))).toString('base64');
    events.push(event('keystore.tenant_key_created', tenantId, { kekId: kek.id }));
    return { key, created: wrapped };
  }

  async function sealPrivateKey(
    tenantId: string,
    target: { keystoreType: string; id: string },
    privateKeyPem: string,
    events: NewEvent[],
  ): Promise<{ sealed: string; wrappedTenantKey?: string }> {
    const { key, created } = await tenantKey(tenantId, events);
    const plain = Buffer.from(privateKeyPem, 'utf8');
    try {
      return {
        sealed: sealAesGcm(key, plain, keyAad({ tenantId, ...target })).toString('base64'),
        wrappedTenantKey: created,
      };
    } finally {
      zeroize(key, plain);
    }
  }

  async function openPrivateKey(c: CertificateRow): Promise<Buffer> {
    if (!c.encryptedPrivateKey) {
      throw new PkiError('keystore.key_unavailable', `the private key of ${c.serialNumber} was wiped`);
    }
    const { key } = await tenantKey(c.tenantId, []);
    try {
      return openAesGcm(key, Buffer.from(c.encryptedPrivateKey, 'base64'), keyAad(c));
    } finally {
      zeroize(key);
    }
  }

  // ---------------------------------------------------------------- steps

  /** issue a certificate for the connection through the Vault API; returns the pending row (not yet committed) */
  async function issueFor(
    conn: Pick<ConnectionRow, 'id' | 'tenantId' | 'keystoreType'>,
    events: NewEvent[],
  ): Promise<{ row: CertificateRow; wrappedTenantKey?: string }> {
    const t = template(conn.keystoreType);
    const issued = await vault.issue(mount, roleName(conn.keystoreType, t), certificateRequest(t, conn.tenantId));
    const x509 = new X509Certificate(issued.certificate);
    if (hexSerial(x509.serialNumber) !== hexSerial(issued.serial_number)) {
      throw new PkiError('keystore.vault_error', 'Vault answered a serial_number that is not the certificate serial');
    }
    if (!x509.checkPrivateKey(createPrivateKey(issued.private_key))) {
      throw new PkiError('keystore.vault_error', 'Vault answered a private key that does not match the certificate');
    }
    const id = newId('kcr');
    const sealed = await sealPrivateKey(
      conn.tenantId,
      { keystoreType: conn.keystoreType, id },
      issued.private_key,
      events,
    );
    const notAfter = Date.parse(x509.validTo);
    const notBefore = Date.parse(x509.validFrom);
    const now = clock.now();
    const row: CertificateRow = {
      id,
      connectionId: conn.id,
      tenantId: conn.tenantId,
      keystoreType: conn.keystoreType,
      status: 'pending',
      serialNumber: issued.serial_number,
      certificatePem: issued.certificate,
      issuingCaPem: issued.issuing_ca,
      caChain: JSON.stringify(issued.ca_chain ?? [issued.issuing_ca]),
      privateKeyType: issued.private_key_type,
      encryptedPrivateKey: sealed.sealed,
      notBefore,
      notAfter,
      renewAt: renewalTime(notBefore, notAfter, renewBeforeMs),
      // a pending certificate still pending then was abandoned (process stopped mid-rotation): the scheduler revokes it
      dueAt: now + ABANDONED_AFTER_MS,
      error: null,
      createdAt: now,
      activatedAt: null,
      revokedAt: null,
    };
    events.push(
      event('keystore_cert.issued', label(conn), {
        certificateId: id,
        serial: issued.serial_number,
        commonName: x509.subject.replace(/^CN=/, ''),
        keyType: issued.private_key_type,
        notAfter: iso(notAfter),
        mount,
        role: roleName(conn.keystoreType, t),
      }),
    );
    return { row, wrappedTenantKey: sealed.wrappedTenantKey };
  }

  async function test(conn: ConnectionRow, cert: CertificateRow): Promise<ProbeResult[]> {
    const key = await openPrivateKey(cert);
    try {
      const chain = (JSON.parse(cert.caChain) as string[]).filter((p) => !isSelfSigned(p));
      return await tester(
        {
          endpoints: JSON.parse(conn.endpoints) as string[],
          serverCaPem: conn.serverCaPem,
          serverName: conn.serverName,
        },
        { certificatePem: cert.certificatePem, chainPems: chain, privateKeyPem: key },
      );
    } finally {
      zeroize(key);
    }
  }

  function probeError(results: ProbeResult[]): string | undefined {
    const bad = results.filter((r) => !r.ok);
    return bad.length ? bad.map((r) => `${r.endpoint}: ${r.error}`).join('; ') : undefined;
  }

  /** revokes at the PKI (idempotent there); a certificate already past notAfter needs no CRL entry */
  async function revokeAtPki(c: CertificateRow): Promise<number> {
    if (c.notAfter <= clock.now()) return clock.now();
    const { revocationTime } = await vault.revoke(mount, c.serialNumber);
    return revocationTime ? revocationTime * 1000 : clock.now();
  }

  function requireConnection(tenantId: string, keystoreType: string): ConnectionRow {
    const conn = store.connection(tenantId, keystoreType);
    if (!conn) throw new PkiError('keystore.not_connected', `tenant ${tenantId} has no ${keystoreType} keystore`);
    return conn;
  }

  // ---------------------------------------------------------------- operations

  /**
   * A tenant connects a keystore: certificate issued, stored encrypted, tested with a real mTLS handshake, activated.
   * If the handshake fails nothing stays behind: the certificate is revoked, its key wiped, the connection refused.
   */
  async function connect(input: ConnectInput): Promise<ConnectionView> {
    checkTenantId(input.tenantId);
    checkKeystoreType(input.keystoreType);
    if (!input.endpoints.length) throw new PkiError('keystore.invalid_input', 'a keystore needs at least one endpoint');
    for (const e of input.endpoints) {
      try {
        splitEndpoint(e);
      } catch (err) {
        throw new PkiError('keystore.invalid_input', (err as Error).message);
      }
    }
    template(input.keystoreType);
    if (store.connection(input.tenantId, input.keystoreType)) {
      throw new PkiError(
        'keystore.already_connected',
        `tenant ${input.tenantId} already has a ${input.keystoreType} keystore ` +
          '(one certificate per tenant per keystore)',
      );
    }
    const now = clock.now();
    const conn: ConnectionRow = {
      id: newId('ksc'),
      tenantId: input.tenantId,
      keystoreType: input.keystoreType,
      endpoints: JSON.stringify(input.endpoints),
      serverCaPem: input.serverCaPem ?? null,
      serverName: input.serverName ?? null,
      createdAt: now,
      updatedAt: now,
    };
    const events: NewEvent[] = [
      event('keystore.connected', label(conn), { endpoints: input.endpoints, connectionId: conn.id }),
    ];
    const { row, wrappedTenantKey } = await issueFor(conn, events);
    store.commit({
      insertConnection: conn,
      insertCertificate: row,
      putTenantKey: wrappedTenantKey
        ? { tenantId: conn.tenantId, kekId: kek.id, wrappedKey: wrappedTenantKey, createdAt: now }
        : undefined,
      events,
    });
    const failure = probeError(await test(conn, row));
    if (failure) {
      await revokeAtPki(row).catch(() => undefined);
      store.commit({
        deleteCertificates: [row.id],
        deleteConnection: conn.id,
        events: [
          event('keystore_cert.test_failed', label(conn), { serial: row.serialNumber, error: failure }, true),
          event('keystore_cert.revoked', label(conn), { serial: row.serialNumber, reason: 'handshake failed' }),
          event('keystore.connect_failed', label(conn), { error: failure }, true),
        ],
      });
      await destroyTenantKeyIfUnused(conn.tenantId);
      throw new PkiError(
        'keystore.handshake_failed',
        `${label(conn)}: the keystore refused the new client certificate (${failure}); nothing was activated`,
      );
    }
    const t = clock.now();
    store.commit({
      updateCertificates: [
        { id: row.id, onlyIfStatus: 'pending', patch: { status: 'active', activatedAt: t, dueAt: null } },
      ],
      events: [
        event('keystore_cert.tested', label(conn), { serial: row.serialNumber, endpoints: input.endpoints }),
        event('keystore_cert.activated', label(conn), { serial: row.serialNumber, renewAt: iso(row.renewAt) }),
      ],
    });
    log?.info({ tenant: conn.tenantId, keystore: conn.keystoreType, serial: row.serialNumber }, 'keystore connected');
    return view(conn);
  }

  /**
   * Rotation: a new certificate is issued and tested against the keystore; only when the handshake succeeds it
   * becomes active and the previous one starts its grace period. A failed handshake leaves the previous one active
   * (retried after `retryAfter`) and revokes the new one.
   */
  async function rotate(
    tenantId: string,
    keystoreType: string,
    reason: 'renewal' | 'manual' = 'manual',
  ): Promise<{ ok: boolean; serial: string; error?: string }> {
    const conn = requireConnection(tenantId, keystoreType);
    const current = store.certificatesOf(conn.id).find((c) => c.status === 'active');
    const events: NewEvent[] = [];
    const { row, wrappedTenantKey } = await issueFor(conn, events);
    events.unshift(event('keystore_cert.rotation_started', label(conn), { reason, previous: current?.serialNumber }));
    store.commit({
      insertCertificate: row,
      putTenantKey: wrappedTenantKey
        ? { tenantId, kekId: kek.id, wrappedKey: wrappedTenantKey, createdAt: clock.now() }
        : undefined,
      events,
    });
    const failure = probeError(await test(conn, row));
    const now = clock.now();
    if (failure) {
      let revokedAt: number | null = null;
      try {
        revokedAt = await revokeAtPki(row);
      } catch (e) {
        log?.warn({ serial: row.serialNumber, err: (e as Error).message }, 'could not revoke an unused certificate');
      }
      store.commit({
        updateCertificates: [
          {
            id: row.id,
            onlyIfStatus: 'pending',
            patch: {
              status: 'failed',
              error: failure,
              encryptedPrivateKey: null,
              revokedAt,
              dueAt: now + gracePeriodMs,
            },
          },
          ...(current
            ? [{ id: current.id, onlyIfStatus: 'active' as const, patch: { renewAt: now + retryAfterMs } }]
            : []),
        ],
        events: [
          event('keystore_cert.test_failed', label(conn), { serial: row.serialNumber, error: failure }, true),
          ...(revokedAt
            ? [event('keystore_cert.revoked', label(conn), { serial: row.serialNumber, reason: 'unused' })]
            : []),
          event(
            'keystore_cert.rotation_failed',
            label(conn),
            { reason, kept: current?.serialNumber, retryAt: iso(now + retryAfterMs), error: failure },
            true,
          ),
        ],
      });
      log?.warn({ tenant: tenantId, keystore: keystoreType, error: failure }, 'keystore certificate rotation failed');
      return { ok: false, serial: row.serialNumber, error: failure };
    }
    store.commit({
      updateCertificates: [
        { id: row.id, onlyIfStatus: 'pending', patch: { status: 'active', activatedAt: now, dueAt: null } },
        ...(current
          ? [
              {
                id: current.id,
                onlyIfStatus: 'active' as const,
                patch: { status: 'rotating' as const, dueAt: now + gracePeriodMs },
              },
            ]
          : []),
      ],
      events: [
        event('keystore_cert.tested', label(conn), { serial: row.serialNumber, endpoints: JSON.parse(conn.endpoints) }),
        event('keystore_cert.activated', label(conn), { serial: row.serialNumber, renewAt: iso(row.renewAt) }),
        ...(current
          ? [
              event('keystore_cert.rotated', label(conn), {
                reason,
                previous: current.serialNumber,
                current: row.serialNumber,
                previousRevokedAt: iso(now + gracePeriodMs),
              }),
            ]
          : []),
      ],
    });
    log?.info(
      { tenant: tenantId, keystore: keystoreType, serial: row.serialNumber, reason },
      'keystore certificate rotated',
    );
    return { ok: true, serial: row.serialNumber };
  }

  /** revoke a certificate whose grace period ended and wipe its key */
  async function endGrace(c: CertificateRow): Promise<void> {
    const revokedAt = await revokeAtPki(c);
    store.commit({
      updateCertificates: [
        {
          id: c.id,
          onlyIfStatus: 'rotating',
          patch: { status: 'revoked', revokedAt, encryptedPrivateKey: null, dueAt: null },
        },
      ],
      events: [
        event('keystore_cert.revoked', label(c), { serial: c.serialNumber, reason: 'grace period ended' }),
        event('keystore_cert.key_wiped', label(c), { serial: c.serialNumber }),
      ],
    });
  }

  /** One scheduler pass: end grace periods, renew what is due, drop failed attempts whose time passed. */
  async function tick(): Promise<TickSummary> {
    const now = clock.now();
    const summary: TickSummary = { renewed: [], renewalFailed: [], revokedAfterGrace: [], errors: [] };
    for (const c of store.due('rotating', now)) {
      try {
        await endGrace(c);
        summary.revokedAfterGrace.push(c.serialNumber);
      } catch (e) {
        summary.errors.push({ target: `${label(c)} ${c.serialNumber}`, error: (e as Error).message });
      }
    }
    for (const c of store.dueForRenewal(now)) {
      try {
        const r = await rotate(c.tenantId, c.keystoreType, 'renewal');
        if (r.ok) summary.renewed.push(label(c));
        else summary.renewalFailed.push({ connection: label(c), error: r.error ?? 'failed' });
      } catch (e) {
        // the PKI refused or is down: keep the current certificate, try again later
        store.commit({
          updateCertificates: [{ id: c.id, onlyIfStatus: 'active', patch: { renewAt: now + retryAfterMs } }],
          events: [
            event('keystore_cert.rotation_failed', label(c), { reason: 'renewal', error: (e as Error).message }, true),
          ],
        });
        summary.renewalFailed.push({ connection: label(c), error: (e as Error).message });
      }
    }
    for (const c of store.due('pending', now)) {
      // issued but never tested or activated (the process stopped in between): revoke it, wipe the key
      try {
        const revokedAt = await revokeAtPki(c);
        store.commit({
          updateCertificates: [
            {
              id: c.id,
              onlyIfStatus: 'pending',
              patch: {
                status: 'failed',
                error: 'abandoned before activation',
                encryptedPrivateKey: null,
                revokedAt,
                dueAt: now + gracePeriodMs,
              },
            },
          ],
          events: [event('keystore_cert.revoked', label(c), { serial: c.serialNumber, reason: 'abandoned' })],
        });
      } catch (e) {
        summary.errors.push({ target: `${label(c)} ${c.serialNumber}`, error: (e as Error).message });
      }
    }
    for (const c of store.due('failed', now)) {
      store.commit({
        deleteCertificates: [c.id],
        events: [event('keystore_cert.deleted', label(c), { serial: c.serialNumber })],
      });
    }
    if (summary.revokedAfterGrace.length) store.purgeWal();
    return summary;
  }

  async function destroyTenantKeyIfUnused(tenantId: string): Promise<void> {
    if (store.connectionsOf(tenantId).length === 0 && store.tenantKey(tenantId)) {
      store.commit({ deleteTenantKey: tenantId, events: [event('keystore.tenant_key_destroyed', tenantId)] });
    }
  }

  /**
   * The tenant disconnects the keystore: every certificate of it that is still valid is revoked at the PKI (so it
   * is on the CRL), then the rows and their encrypted keys are deleted; the tenant's data key is destroyed with
   * its last keystore (crypto-shredding any copy of the ciphertext left in backups).
   */
  async function disconnect(tenantId: string, keystoreType: string): Promise<{ revoked: string[] }> {
    const conn = requireConnection(tenantId, keystoreType);
    const certs = store.certificatesOf(conn.id);
    const revoked: string[] = [];
    const events: NewEvent[] = [];
    for (const c of certs) {
      if (c.status === 'revoked' || (c.status === 'failed' && c.revokedAt)) continue;
      await revokeAtPki(c);
      revoked.push(c.serialNumber);
      events.push(
        event('keystore_cert.revoked', label(conn), { serial: c.serialNumber, reason: 'keystore disconnected' }),
      );
    }
    store.commit({
      deleteCertificates: certs.map((c) => c.id),
      deleteConnection: conn.id,
      events: [
        ...events,
        event('keystore_cert.key_wiped', label(conn), { certificates: certs.length }),
        event('keystore.disconnected', label(conn), { revoked }),
      ],
    });
    await destroyTenantKeyIfUnused(tenantId);
    store.purgeWal();
    log?.info({ tenant: tenantId, keystore: keystoreType, revoked: revoked.length }, 'keystore disconnected');
    return { revoked };
  }

  /** The active certificate and its decrypted key, for the keystore connection; the caller zeroizes `privateKeyPem`. */
  async function credentials(tenantId: string, keystoreType: string) {
    const conn = requireConnection(tenantId, keystoreType);
    const active = store.certificatesOf(conn.id).find((c) => c.status === 'active');
    if (!active) throw new PkiError('keystore.not_connected', `${tenantId}/${keystoreType} has no active certificate`);
    const privateKeyPem = await openPrivateKey(active);
    store.commit({ events: [event('keystore_cert.key_used', label(conn), { serial: active.serialNumber })] });
    return {
      serialNumber: active.serialNumber,
      certificatePem: active.certificatePem,
      caChain: JSON.parse(active.caChain) as string[],
      privateKeyPem,
    };
  }

  function certView(c: CertificateRow): CertificateView {
    return {
      id: c.id,
      status: c.status,
      serialNumber: c.serialNumber,
      commonName: new X509Certificate(c.certificatePem).subject.replace(/^CN=/, ''),
      notBefore: iso(c.notBefore)!,
      notAfter: iso(c.notAfter)!,
      renewAt: iso(c.renewAt)!,
      dueAt: iso(c.dueAt),
      activatedAt: iso(c.activatedAt),
      revokedAt: iso(c.revokedAt),
      hasPrivateKey: c.encryptedPrivateKey !== null,
      error: c.error,
    };
  }

  function view(conn: ConnectionRow): ConnectionView {
    const certs = store.certificatesOf(conn.id).map(certView);
    return {
      tenantId: conn.tenantId,
      keystoreType: conn.keystoreType,
      endpoints: JSON.parse(conn.endpoints) as string[],
      createdAt: iso(conn.createdAt)!,
      active: certs.find((c) => c.status === 'active') ?? null,
      certificates: certs,
    };
  }

  return {
    mount,
    templates,
    template,
    setTemplate(keystoreType: string, t: Partial<CertificateTemplate>): CertificateTemplate {
      checkKeystoreType(keystoreType);
      const clean = checkTemplate(t);
      store.commit({
        putTemplate: { keystoreType, template: JSON.stringify(clean), updatedAt: clock.now() },
        events: [event('keystore.template_set', keystoreType, { ...clean })],
      });
      return clean;
    },
    deleteTemplate(keystoreType: string): void {
      if (!store.template(keystoreType)) {
        throw new PkiError('keystore.template_not_found', `no custom template for '${keystoreType}'`);
      }
      store.commit({ deleteTemplate: keystoreType, events: [event('keystore.template_deleted', keystoreType)] });
    },
    connect,
    rotate,
    tick,
    disconnect,
    credentials,
    status(tenantId?: string): ConnectionView[] {
      return store
        .listConnections()
        .filter((c) => tenantId === undefined || c.tenantId === tenantId)
        .map(view);
    },
    connection(tenantId: string, keystoreType: string): ConnectionView {
      return view(requireConnection(tenantId, keystoreType));
    },
  };
}

export type KeystoreCertManager = ReturnType<typeof createKeystoreCertManager>;

/**
 * When a certificate is renewed: `renewBefore` ahead of notAfter (30 days), but never in the first two thirds of its
 * lifetime — a certificate shorter than the window would otherwise be renewed again at once, forever.
 */
export function renewalTime(notBefore: number, notAfter: number, renewBeforeMs: number): number {
  return notAfter - Math.min(renewBeforeMs, Math.floor((notAfter - notBefore) / 3));
}

function isSelfSigned(pem: string): boolean {
  const c = new X509Certificate(pem);
  return c.subject === c.issuer && c.verify(c.publicKey);
}
