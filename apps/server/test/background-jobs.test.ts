// The leader-only background jobs: ticks on SQLite, Prometheus leadership metrics, interval
// validation, and on a real PostgreSQL two servers where exactly one leads each job and the
// other takes over when the leader closes.
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { FastifyInstance } from 'fastify';
import { fixedClock } from '@pkim/shared';
import { buildServer, serverOptionsFromEnv, startBackgroundJobs, startServer } from '@pkim/server';
import { BACKGROUND_JOB_NAMES, parseJobsIntervalMs, type BackgroundJobName } from '../src/background-jobs';
import { postgresInstances } from '../../../tests/support/postgres-instances';
import { eventually, expectPkiError } from '../../../tests/support/test-kit';
import { ACTORS, type AuthorityFixture, createRootCa, openAuthorityFixture } from './server-test-support';
import { internalsOf } from '@pkim/authority/internals';

interface JobMetrics {
  leader: number | undefined;
  ran: number;
  skipped: number;
  failed: number;
}

/** pkim_leader and pkim_background_job_runs_total per job, from a Prometheus text body */
function parseJobMetrics(body: string): Record<string, JobMetrics> {
  const out: Record<string, JobMetrics> = {};
  const get = (job: string) => (out[job] ??= { leader: undefined, ran: 0, skipped: 0, failed: 0 });
  for (const m of body.matchAll(/^pkim_leader\{job="([^"]+)"\} (\S+)$/gm)) get(m[1]!).leader = Number(m[2]);
  for (const m of body.matchAll(
    /^pkim_background_job_runs_total\{job="([^"]+)",result="(ran|skipped|failed)"\} (\S+)$/gm,
  )) {
    get(m[1]!)[m[2] as 'ran' | 'skipped' | 'failed'] = Number(m[3]);
  }
  return out;
}

async function jobMetrics(app: FastifyInstance): Promise<Record<string, JobMetrics>> {
  const r = await app.inject({ method: 'GET', url: '/metrics' });
  expect(r.statusCode).toBe(200);
  return parseJobMetrics(r.body);
}

const leaders = (m: Record<string, JobMetrics>) =>
  Object.fromEntries(BACKGROUND_JOB_NAMES.map((j) => [j, m[j]?.leader]));
const all = (v: number) => Object.fromEntries(BACKGROUND_JOB_NAMES.map((j) => [j, v]));

describe('background jobs on SQLite', () => {
  const clock = fixedClock(Date.now());
  let fx: AuthorityFixture;
  let app: FastifyInstance | undefined;
  beforeAll(async () => {
    fx = await openAuthorityFixture({ clock });
  });
  afterEach(async () => {
    await app?.close();
    app = undefined;
  });
  afterAll(async () => fx?.close());

  it('exports every job series at 0 before the first tick', async () => {
    app = await buildServer(fx.authority, {
      logger: false,
      processMetrics: false,
      backgroundJobs: { intervalMs: 60_000 },
    });
    const m = await jobMetrics(app);
    for (const job of BACKGROUND_JOB_NAMES) expect(m[job]).toEqual({ leader: 0, ran: 0, skipped: 0, failed: 0 });
    expect(app.pkim.jobs!.leadership()).toEqual(Object.fromEntries(BACKGROUND_JOB_NAMES.map((j) => [j, false])));
  });

  it('runs the jobs every interval (the only instance leads them all) and marks expired certificates', async () => {
    const ca = await createRootCa(fx.authority, 'jobs-root');
    const issued = await fx.authority.issuance.issueWithKey(
      {
        caId: ca.id,
        profile: 'tls-server',
        subject: { commonName: 'short.example.test' },
        sans: { dns: ['short.example.test'] },
        keyType: 'ec-p256',
        validityMs: 60_000,
      },
      ACTORS.admin,
    );
    expect(issued.certificate.status).toBe('active');
    clock.advance(120_000);

    app = await buildServer(fx.authority, {
      logger: false,
      processMetrics: false,
      backgroundJobs: { intervalMs: 150 },
    });
    const m = await eventually(
      () => jobMetrics(app!),
      (v) => BACKGROUND_JOB_NAMES.every((j) => (v[j]?.ran ?? 0) >= 2),
    );
    expect(leaders(m)).toEqual(all(1));
    for (const job of BACKGROUND_JOB_NAMES) expect(m[job]).toMatchObject({ skipped: 0, failed: 0 });
    expect(app.pkim.jobs!.leadership()).toEqual(Object.fromEntries(BACKGROUND_JOB_NAMES.map((j) => [j, true])));
    expect((await internalsOf(fx.authority).store.certificates.findById(issued.certificate.id))?.status).toBe(
      'expired',
    );
  });

  it('runOnce runs one full tick now, after which the counters moved by one', async () => {
    app = await buildServer(fx.authority, {
      logger: false,
      processMetrics: false,
      backgroundJobs: { intervalMs: 60_000 },
    });
    await app.pkim.jobs!.runOnce();
    const first = await jobMetrics(app);
    for (const job of BACKGROUND_JOB_NAMES) expect(first[job]).toEqual({ leader: 1, ran: 1, skipped: 0, failed: 0 });
    await Promise.all([app.pkim.jobs!.runOnce(), app.pkim.jobs!.runOnce()]);
    const second = await jobMetrics(app);
    for (const job of BACKGROUND_JOB_NAMES) expect(second[job]!.ran).toBeGreaterThanOrEqual(2);
  });

  it('a failing job counts as failed and is retried next tick', async () => {
    const failing = {
      ...fx.authority,
      maintenance: {
        ...fx.authority.maintenance,
        cleanupSessions: async () => {
          throw new Error('boom');
        },
      },
    };
    const ticks: [BackgroundJobName, string, boolean][] = [];
    const jobs = startBackgroundJobs(failing, {
      intervalMs: 60_000,
      observer: { onTick: (j, r, l) => ticks.push([j, r, l]) },
    });
    try {
      await jobs.runOnce();
      await jobs.runOnce();
    } finally {
      await jobs.stop();
    }
    expect(ticks.filter(([j]) => j === 'session-cleanup')).toEqual([
      ['session-cleanup', 'failed', true],
      ['session-cleanup', 'failed', true],
    ]);
    expect(ticks.filter(([j, r]) => j === 'mark-expired' && r === 'ran')).toHaveLength(2);
  });

  it('stop() ends the loops: no tick after close, runOnce resolves at once', async () => {
    const ticks: string[] = [];
    const jobs = startBackgroundJobs(fx.authority, {
      intervalMs: 100,
      observer: { onTick: (j, r) => ticks.push(`${j}:${r}`) },
    });
    await jobs.runOnce();
    await jobs.stop();
    const n = ticks.length;
    await new Promise((r) => setTimeout(r, 350));
    await jobs.runOnce();
    expect(ticks).toHaveLength(n);
  });

  it('validates the interval (option, PKIM_JOBS_INTERVAL_MS); pkim serve refuses a bad value clearly', async () => {
    expect(parseJobsIntervalMs(undefined)).toBe(60_000);
    expect(parseJobsIntervalMs('')).toBe(60_000);
    expect(parseJobsIntervalMs('300')).toBe(300);
    expect(parseJobsIntervalMs(250)).toBe(250);
    for (const bad of ['abc', '1.5', '-5', '0', '99', '1e3', '86400001']) {
      expect(() => parseJobsIntervalMs(bad, 'PKIM_JOBS_INTERVAL_MS')).toThrow(
        new RegExp(`invalid PKIM_JOBS_INTERVAL_MS '${bad.replace('.', '\\.')}'`),
      );
    }
    expect(serverOptionsFromEnv({}, { PKIM_JOBS_INTERVAL_MS: '300' }).jobsIntervalMs).toBe(300);
    expect(serverOptionsFromEnv({}, {}).jobsIntervalMs).toBe(60_000);
    expect(serverOptionsFromEnv({ jobsIntervalMs: 500 }, { PKIM_JOBS_INTERVAL_MS: '300' }).jobsIntervalMs).toBe(500);
    expect(() => serverOptionsFromEnv({}, { PKIM_JOBS_INTERVAL_MS: 'soon' })).toThrow(
      /PKIM_JOBS_INTERVAL_MS 'soon'.*milliseconds/,
    );
    await expectPkiError(
      buildServer(fx.authority, { logger: false, backgroundJobs: { intervalMs: 5 } }),
      'input.invalid',
    );
    await expectPkiError(
      startServer({ dataDir: fx.dataDir, jobsIntervalMs: Number.NaN, handleSignals: false, print: () => undefined }),
      'input.invalid',
    );
  });
});

describe('background jobs on one PostgreSQL database shared by two servers', () => {
  const hosts = postgresInstances();
  const apps: FastifyInstance[] = [];
  afterAll(async () => {
    for (const a of apps) await a.close().catch(() => undefined);
  });

  it('exactly one server leads each job; closing it hands every job to the other within a few ticks', async () => {
    // one master key and one database, a data dir each: two hosts of one deployment
    const [first, other] = await hosts.two();
    expect([first.describe().databaseDialect, other.describe().databaseDialect]).toEqual(['postgres', 'postgres']);
    const opts = { logger: false as const, processMetrics: false, backgroundJobs: { intervalMs: 200 } };
    const a = await buildServer(first, opts);
    apps.push(a);
    await a.pkim.jobs!.runOnce(); // A takes every lock first
    const b = await buildServer(other, opts);
    apps.push(b);
    await b.pkim.jobs!.runOnce();

    // a few ticks on both: A keeps leading (long-lived leadership), B skips every tick
    const [ma, mb] = await eventually(
      async () => Promise.all([jobMetrics(a), jobMetrics(b)]),
      ([, m]) => BACKGROUND_JOB_NAMES.every((j) => (m[j]?.skipped ?? 0) >= 3),
    );
    expect(leaders(ma)).toEqual(all(1));
    expect(leaders(mb)).toEqual(all(0));
    for (const job of BACKGROUND_JOB_NAMES) {
      expect(ma[job]).toMatchObject({ skipped: 0, failed: 0 });
      expect(ma[job]!.ran).toBeGreaterThanOrEqual(3);
      expect(mb[job]).toMatchObject({ ran: 0, failed: 0 });
    }

    // the leader closes (its locks are released): B leads every job within a few ticks
    // (typically < 1 s: the next 200 ms tick takes the freed locks; eventually's 30 s only bounds a failure)
    await a.close();
    const after = await eventually(
      () => jobMetrics(b),
      (m) => BACKGROUND_JOB_NAMES.every((j) => m[j]?.leader === 1 && m[j].ran >= 2),
    );
    expect(leaders(after)).toEqual(all(1));
    for (const job of BACKGROUND_JOB_NAMES) expect(after[job]!.ran).toBeGreaterThanOrEqual(2);
  });
});
