// config/auto-tidy (OpenBao's field names and defaults) and its automatic runs by the background job `vault-auto-tidy`,
// on the authority's clock moved by the test (no sleeps): disabled does nothing, enabled runs once per interval,
// safety_buffer keeps a certificate expired less than it ago, refusals change nothing, a restart (another authority on
// the same data) neither skips nor doubles a run, hvac reads and writes it; on PostgreSQL two instances on one database
// do not both run it. Every leaf is verified by openssl when issued.
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fixedClock } from '@pkim/shared';
import type { Authority } from '@pkim/authority';
import { startBackgroundJobs, type BackgroundJobs } from '@pkim/server';
import { opensslVerify } from '../../../../tests/support/verifiers';
import { postgresInstances } from '../../../../tests/support/postgres-instances';
import { ACTORS, createIssuingCa, createRootCa } from '../server-test-support';
import {
  expectIssuedLeafVerifies,
  openVaultFixture,
  vaultCall,
  WEB_ROLE,
  type VaultFixture,
} from './vault-test-support';

const HOUR = 3_600_000;
const PYTHON = '/usr/bin/python3';

const OPENBAO_DEFAULTS = {
  enabled: false,
  interval_duration: 43_200,
  tidy_cert_store: false,
  tidy_revoked_certs: false,
  tidy_invalid_certs: false,
  tidy_revoked_cert_issuer_associations: false,
  tidy_expired_issuers: false,
  tidy_move_legacy_ca_bundle: false,
  tidy_acme: false,
  safety_buffer: 259_200,
  revoked_safety_buffer: 259_200,
  issuer_safety_buffer: 31_536_000,
  acme_account_safety_buffer: 2_592_000,
  pause_duration: '0s',
  page_size: 1000,
  maintain_stored_certificate_counts: false,
  publish_stored_certificate_count_metrics: false,
};

function runHvac(args: string[]): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile(PYTHON, [join(import.meta.dirname, 'hvac-auto-tidy.py'), ...args], { timeout: 120_000 }, (err, out, e) =>
      err ? reject(new Error(`hvac client failed: ${err.message}\n${e}`)) : resolve(out),
    );
  });
}

async function autoTidyEvents(authority: Authority) {
  const events = await authority.audit.list({ action: 'vault.*', order: 'asc', limit: 200 });
  return events.filter((e) => e.action.startsWith('vault.auto_tidy') || e.action.startsWith('vault.tidy_'));
}

describe('config/auto-tidy on SQLite (a clock the test moves)', () => {
  const clock = fixedClock(Date.now());
  let f: VaultFixture;
  let jobs: BackgroundJobs | undefined;
  beforeAll(async () => {
    f = await openVaultFixture({ clock }, { roles: { web: WEB_ROLE } });
  }, 60_000);
  afterAll(async () => {
    await jobs?.stop();
    await f?.close();
  });

  /** a leaf through pki/issue/web ending in `ttl`, verified by openssl at the clock's time; its serial */
  const issue = (cn: string, ttl: string): Promise<string> =>
    expectIssuedLeafVerifies(f, cn, { ttl, atTime: Math.floor(clock.now() / 1000) });
  const serials = async (): Promise<string[]> => {
    const r = await vaultCall(f, 'GET', 'pki/certs?list=true');
    return r.status === 404 ? [] : (r.body.data.keys as string[]);
  };

  it('answers OpenBao defaults, refuses unknown/unsupported fields, is disabled by default', async () => {
    const read = await vaultCall(f, 'GET', 'pki/config/auto-tidy');
    expect(read.status, read.text).toBe(200);
    expect(read.body.data).toEqual(OPENBAO_DEFAULTS);

    const refusals: [Record<string, unknown>, RegExp][] = [
      [{ tidy_everything: true }, /unknown field "tidy_everything" for config\/auto-tidy/],
      [{ tidy_acme: true }, /tidy_acme is not supported by PKI Manager's auto-tidy/],
      [{ tidy_expired_issuers: true }, /tidy_expired_issuers is not supported/],
      [{ enabled: true }, /Auto-tidy enabled but no tidy operations were requested/],
      [{ enabled: true, tidy_cert_store: true, safety_buffer: '0s' }, /safety_buffer must be at least one second/],
      [{ enabled: true, tidy_cert_store: true, pause_duration: '-1s' }, /negative pause_duration/],
      [{ interval_duration: '-1h' }, /interval_duration must be greater than or equal to zero/],
      [{ enabled: 'maybe' }, /enabled/],
    ];
    for (const [body, message] of refusals) {
      const r = await vaultCall(f, 'POST', 'pki/config/auto-tidy', body);
      expect(r.status, JSON.stringify(body)).toBe(400);
      expect(r.body.errors.join(' '), JSON.stringify(body)).toMatch(message);
    }
    // OpenBao's other fields with their defaults (what a read answers, Terraform sends back) are accepted
    const same = await vaultCall(f, 'POST', 'pki/config/auto-tidy', { ...OPENBAO_DEFAULTS });
    expect(same.status, same.text).toBe(200);
    expect(same.body.data).toEqual(OPENBAO_DEFAULTS);
    expect((await vaultCall(f, 'GET', 'pki/config/auto-tidy')).body.data).toEqual(OPENBAO_DEFAULTS);
    // a token without ca:write cannot change it
    const { token: reader } = await f.authority.auth.createToken(
      { name: 'reader', role: 'auditor', expiresInMs: null },
      ACTORS.admin,
    );
    const refused = await vaultCall(
      f,
      'POST',
      'pki/config/auto-tidy',
      { enabled: true, tidy_cert_store: true },
      {
        token: reader,
      },
    );
    expect(refused.status).toBe(403);

    // disabled: a month of ticks with an expired certificate deletes nothing and audits no run
    jobs = startBackgroundJobs(f.authority, { intervalMs: 60_000 });
    const old = await issue('old.example.com', '1h');
    clock.advance(30 * 24 * HOUR);
    await jobs.runOnce();
    expect(await serials()).toContain(old);
    expect((await autoTidyEvents(f.authority)).map((e) => e.action)).toEqual(['vault.auto_tidy_configured']);
  });

  it('enabled: the tidy once per interval, keeping what expired less than safety_buffer ago', async () => {
    const [old] = await serials();
    const w = await vaultCall(f, 'POST', 'pki/config/auto-tidy', {
      enabled: true,
      tidy_cert_store: true,
      interval_duration: '1h',
      safety_buffer: '2h',
    });
    expect(w.status, w.text).toBe(200);
    expect(w.body.data).toMatchObject({
      enabled: true,
      tidy_cert_store: true,
      interval_duration: 3600,
      safety_buffer: 7200,
    });
    const configured = (await autoTidyEvents(f.authority)).at(-1)!;
    // audited as the token that changed it, with what was set
    expect(configured).toMatchObject({ action: 'vault.auto_tidy_configured', target: 'pki' });
    expect(configured.actor).toMatch(/^tok_/);
    expect(configured.details).toMatchObject({ enabled: true, interval_duration: 3600, safety_buffer: 7200 });

    // the first run comes one interval after it was enabled
    await jobs!.runOnce();
    expect(await serials()).toContain(old);
    const recent = await issue('recent.example.com', '1h');
    clock.advance(HOUR + 60_000);
    await jobs!.runOnce();
    // `old` expired a month ago: deleted; `recent` expired a minute ago, within the 2 h buffer: kept
    expect(await serials()).toEqual([recent]);
    const status = (await vaultCall(f, 'GET', 'pki/tidy-status')).body.data;
    expect(status).toMatchObject({
      state: 'Finished',
      tidy_cert_store: true,
      safety_buffer: 7200,
      cert_store_deleted_count: 1,
      last_auto_tidy_finished: new Date(clock.now()).toISOString(),
    });
    const runs = (await autoTidyEvents(f.authority)).slice(-2);
    expect(runs.map((e) => [e.action, e.actor])).toEqual([
      ['vault.auto_tidy_started', 'system'],
      ['vault.tidy_finished', 'system'],
    ]);
    expect(runs[1]!.details).toMatchObject({ automatic: true, certificatesDeleted: 1, revokedDeleted: 0 });

    // no second run within the interval, however many ticks
    clock.advance(HOUR - 60_000);
    await jobs!.runOnce();
    await jobs!.runOnce();
    expect((await autoTidyEvents(f.authority)).filter((e) => e.action === 'vault.auto_tidy_started')).toHaveLength(1);
    expect(await serials()).toEqual([recent]);
    // the interval passed: the second run; `recent` expired 2 h 2 min ago now
    clock.advance(62 * 60_000);
    await jobs!.runOnce();
    expect((await autoTidyEvents(f.authority)).filter((e) => e.action === 'vault.auto_tidy_started')).toHaveLength(2);
    expect(await serials()).toEqual([]);
  });

  it('survives a restart: another authority on the same data neither runs it again early nor skips it', async () => {
    await jobs!.stop();
    jobs = undefined;
    const second = await f.fx.openSecond({ clock });
    const restarted = startBackgroundJobs(second, { intervalMs: 60_000 });
    try {
      const stale = await issue('stale.example.com', '1h');
      clock.advance(30 * 60_000);
      await restarted.runOnce(); // half an interval since the last run ended: not due
      expect((await autoTidyEvents(second)).filter((e) => e.action === 'vault.auto_tidy_started')).toHaveLength(2);
      clock.advance(3 * HOUR);
      await restarted.runOnce(); // due: it runs, on the restarted instance
      expect((await autoTidyEvents(second)).filter((e) => e.action === 'vault.auto_tidy_started')).toHaveLength(3);
      expect(await serials()).not.toContain(stale);
      // disabled again: nothing more runs
      expect((await vaultCall(f, 'POST', 'pki/config/auto-tidy', { enabled: false })).status).toBe(200);
      await issue('kept.example.com', '1h');
      clock.advance(10 * HOUR);
      await restarted.runOnce();
      expect((await autoTidyEvents(second)).filter((e) => e.action === 'vault.auto_tidy_started')).toHaveLength(3);
      expect(await serials()).toHaveLength(1);
    } finally {
      await restarted.stop();
    }
  });

  it('hvac reads and writes it (its generic read/write), and gets the refusals as InvalidRequest', async () => {
    const out = JSON.parse(await runHvac([f.url, f.token]));
    expect(out.before).toMatchObject({ enabled: false, tidy_cert_store: true, interval_duration: 3600 });
    const expected = {
      ...OPENBAO_DEFAULTS,
      enabled: true,
      tidy_cert_store: true,
      tidy_revoked_certs: true,
      interval_duration: 7200,
      safety_buffer: 3600,
      revoked_safety_buffer: 3600,
    };
    expect(out.written).toEqual(expected);
    expect(out.after).toEqual(expected);
    expect(out.refused.unknown).toMatch(/unknown field "tidy_everything"/);
    expect(out.refused.acme).toMatch(/tidy_acme is not supported/);
  });
});

describe('config/auto-tidy on one PostgreSQL database shared by two instances', () => {
  const hosts = postgresInstances();
  const clock = fixedClock(Date.now());

  it('only the vault-auto-tidy job leader runs it; the other takes over from the recorded last run', async () => {
    const [a, b] = await hosts.two({ clock });
    const admin = ACTORS.admin;
    const root = await createRootCa(a, 'AT Root');
    const inter = await createIssuingCa(a, root, 'AT Issuing');
    await a.vault.mounts.mount({ path: 'pki', ca: inter.id, maxLeaseTtl: '87600h' }, admin);
    await a.vault.mounts.writeRole('pki', 'web', WEB_ROLE, admin);
    const mount = await a.vault.mounts.requireMount('pki');
    const issue = async (cn: string) => {
      const r = await a.vault.pki.issue(mount, 'web', { common_name: cn, ttl: '1h' }, admin);
      const pem = String(r.data!.certificate);
      const v = opensslVerify({
        leafPem: `${pem}\n`,
        chainPems: [inter.pem],
        rootPem: root.pem,
        purpose: 'sslserver',
        atTime: Math.floor(clock.now() / 1000),
      });
      expect(v.ok, v.output).toBe(true);
    };
    await b.vault.pki.writeAutoTidy(
      'pki',
      { enabled: true, tidy_cert_store: true, interval_duration: '1h', safety_buffer: '1s' },
      admin,
    );
    const started = async () =>
      (await a.audit.list({ action: 'vault.auto_tidy_started', limit: 50 })).map((e) => e.details);
    const count = async () => (await a.certificates.list({ limit: 100 }, admin)).items.length;

    const ja = startBackgroundJobs(a, { intervalMs: 60_000 });
    let jb: BackgroundJobs | undefined;
    try {
      await ja.runOnce(); // A takes every job's lock first and keeps it
      jb = startBackgroundJobs(b, { intervalMs: 60_000 });
      await issue('one.example.com');
      clock.advance(2 * HOUR);
      // B ticks first when the run is due: it does not lead the job, so it does not run it
      await jb.runOnce();
      expect(jb.leadership()['vault-auto-tidy']).toBe(false);
      expect(await started()).toHaveLength(0);
      expect(await count()).toBe(1);
      await ja.runOnce();
      expect(ja.leadership()['vault-auto-tidy']).toBe(true);
      expect(await started()).toHaveLength(1);
      expect(await count()).toBe(0);
      await Promise.all([ja.runOnce(), jb.runOnce()]);
      expect(await started()).toHaveLength(1);

      // A stops (its locks released): B leads from its next tick, counting from the run A recorded
      await ja.stop();
      await issue('two.example.com');
      clock.advance(30 * 60_000);
      await jb.runOnce();
      expect(jb.leadership()['vault-auto-tidy']).toBe(true);
      expect(await started()).toHaveLength(1);
      clock.advance(2 * HOUR);
      await jb.runOnce();
      expect(await started()).toHaveLength(2);
      expect(await count()).toBe(0);
      const status = await b.vault.pki.tidyStatus(mount, admin);
      expect(status).toMatchObject({ state: 'Finished', cert_store_deleted_count: 1 });
      expect(status.last_auto_tidy_finished).toBe(new Date(clock.now()).toISOString());
    } finally {
      await ja.stop();
      await jb?.stop();
    }
  }, 120_000);
});
