// Several `pkim serve` instances on ONE PostgreSQL database: concurrent issuance, a SIGKILLed
// instance, the hash-chained audit log, and leader-only background jobs (seen through /metrics)
// that move to the survivor.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import pg from 'pg';
import { runPkimAsync } from './support/cli-in-process';
import { startPkimServer, type PkimServer } from './support/remote-server';
import { createRootAndIssuingAsync } from './support/cli-ca-fixture';
import { opensslCsr, tempDir } from './support/openssl-tools';
import { startPostgres, type TestPostgres } from './support/postgres';

const N = Number(process.env.PKIM_MULTI_INSTANCE_N ?? 1000); // acceptance number
const IN_FLIGHT_PER_INSTANCE = 6;
const JOBS_INTERVAL_MS = 300;
/** how long `until` polls for job ticks and the takeover: far beyond need (a few 300 ms ticks), it bounds a failure */
const UNTIL_MS = 30_000;
const JOBS = ['mark-expired', 'crl-refresh', 'session-cleanup'] as const;
type JobName = (typeof JOBS)[number];
interface JobMetrics {
  leader: number;
  ran: number;
  skipped: number;
  failed: number;
}

type Instance = PkimServer;

/** `pkim serve` on the shared database with a data dir of its own: ready on its line (first boot is CPU-bound) */
const startInstance = (dataDir: string, env: Record<string, string>): Promise<Instance> =>
  startPkimServer(dataDir, [], env);

/** pkim_leader{job} and pkim_background_job_runs_total{job,result} from the instance's /metrics */
async function jobMetrics(instance: Instance): Promise<Record<JobName, JobMetrics>> {
  const res = await fetch(`${instance.url}/metrics`, { signal: AbortSignal.timeout(10_000) });
  expect(res.status).toBe(200);
  const body = await res.text();
  const value = (re: RegExp) => {
    const m = re.exec(body);
    if (!m) throw new Error(`no ${re} in /metrics of ${instance.url}`);
    return Number(m[1]);
  };
  return Object.fromEntries(
    JOBS.map((job) => [
      job,
      {
        leader: value(new RegExp(`^pkim_leader\\{job="${job}"\\} (\\S+)$`, 'm')),
        ...Object.fromEntries(
          (['ran', 'skipped', 'failed'] as const).map((result) => [
            result,
            value(new RegExp(`^pkim_background_job_runs_total\\{job="${job}",result="${result}"\\} (\\S+)$`, 'm')),
          ]),
        ),
      },
    ]),
  ) as Record<JobName, JobMetrics>;
}

/** polls until `ok` holds (or throws with the last value after `ms`) */
async function until<T>(what: string, fn: () => Promise<T>, ok: (v: T) => boolean, ms: number): Promise<T> {
  const end = Date.now() + ms;
  for (;;) {
    const v = await fn();
    if (ok(v)) return v;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}: ${JSON.stringify(v)}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

interface SignOutcome {
  instance: string;
  ok: boolean;
  status?: number;
  serial?: string;
  id?: string;
  error?: string;
}

/** Signs `count` CSRs against one instance with `inFlight` concurrent requests; stops early if `shouldStop()`. */
async function signMany(
  instance: Instance,
  name: string,
  caId: string,
  token: string,
  csrs: string[],
  count: number,
  inFlight: number,
  onResult?: (r: SignOutcome, done: number) => void,
): Promise<SignOutcome[]> {
  const results: SignOutcome[] = [];
  let next = 0;
  let dead = false;
  const worker = async () => {
    while (!dead && next < count) {
      const i = next++;
      let r: SignOutcome;
      try {
        const res = await fetch(`${instance.url}/api/v1/cas/${caId}/sign`, {
          method: 'POST',
          headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
          body: JSON.stringify({ csr: csrs[i % csrs.length], profile: 'tls-server' }),
          signal: AbortSignal.timeout(30_000),
        });
        const body = (await res.json()) as { serial?: string; id?: string; code?: string; message?: string };
        r =
          res.status === 201
            ? { instance: name, ok: true, status: res.status, serial: body.serial, id: body.id }
            : { instance: name, ok: false, status: res.status, error: `${body.code}: ${body.message}` };
      } catch (e) {
        r = { instance: name, ok: false, error: (e as Error).message };
        dead = true; // the instance is gone: its remaining share is not sent
      }
      results.push(r);
      onResult?.(r, results.length);
    }
  };
  await Promise.all(Array.from({ length: inFlight }, worker));
  return results;
}

describe('several pkim serve instances on one PostgreSQL database', () => {
  const tmp = tempDir('pkim-multi-');
  const masterKey = randomBytes(32).toString('base64');
  let cluster: TestPostgres;
  let dbUrl: string;
  let db: pg.Client;
  let env: Record<string, string>;
  let a: Instance | undefined;
  let b: Instance | undefined;
  let caId: string;
  let token: string;
  let csrs: string[];
  /** CLI on the shared database, with its own data dir (no master.key file: the key comes from the environment) */
  const pkim = (...args: string[]) => runPkimAsync(args, { dataDir: join(tmp.dir, 'cli'), env });

  beforeAll(async () => {
    cluster = await startPostgres();
    dbUrl = await cluster.createDatabase();
    env = {
      PKIM_DATABASE_URL: dbUrl,
      PKIM_MASTER_KEY: masterKey,
      PKIM_LOG_LEVEL: 'warn',
      PKIM_JOBS_INTERVAL_MS: String(JOBS_INTERVAL_MS),
    };
    const { issuing } = await createRootAndIssuingAsync(
      pkim,
      { name: 'root', subject: 'CN=Multi Root CA', keyType: 'ec-p256' },
      { name: 'issuing', subject: 'CN=Multi Issuing CA', keyType: 'ec-p256' },
    );
    caId = issuing.id;
    const t = await pkim('token', 'create', '--name', 'multi-instance', '--role', 'operator', '--json');
    expect(t.code, t.stderr).toBe(0);
    token = t.json().token;
    csrs = Array.from(
      { length: 6 },
      (_, i) =>
        opensslCsr({ keyType: 'ec-p256', subject: `/CN=host${i}.example.com`, sans: [`DNS:host${i}.example.com`] })
          .csrPem,
    );
    // each instance has its OWN data dir: the shared CA keys are in the database,
    // the shared master key in the environment
    [a, b] = await Promise.all([startInstance(join(tmp.dir, 'a'), env), startInstance(join(tmp.dir, 'b'), env)]);
    db = new pg.Client({ connectionString: dbUrl });
    await db.connect();
  }, 120_000);

  afterAll(async () => {
    await Promise.all([a?.stop(), b?.stop()]);
    await db?.end().catch(() => undefined);
    await cluster?.stop();
    tmp.cleanup();
  });

  const count = async (sql: string, params: unknown[] = []) => Number((await db.query(sql, params)).rows[0].n);

  /** every certificate row has exactly one certificate.issued event and every such event a row */
  async function expectCertificatesMatchAudit(): Promise<void> {
    const orphanRows = await count(`select count(*) as n from certificates c where (select count(*) from audit_events e
      where e.action = 'certificate.issued' and e.target = c.id) <> 1`);
    const orphanEvents = await count(`select count(*) as n from audit_events e where e.action = 'certificate.issued'
      and not exists (select 1 from certificates c where c.id = e.target)`);
    expect({ orphanRows, orphanEvents }).toEqual({ orphanRows: 0, orphanEvents: 0 });
  }

  async function expectAuditChainVerifies(): Promise<number> {
    const v = await pkim('audit', 'verify', '--json');
    expect(v.code, v.stderr).toBe(0);
    expect(v.json().ok).toBe(true);
    return v.json().count;
  }

  it(`issues ${N} certificates across both instances at once: ${N} rows, ${N} serials, one audit chain`, async () => {
    const started = performance.now();
    const [ra, rb] = await Promise.all([
      signMany(a!, 'A', caId, token, csrs, Math.ceil(N / 2), IN_FLIGHT_PER_INSTANCE),
      signMany(b!, 'B', caId, token, csrs, Math.floor(N / 2), IN_FLIGHT_PER_INSTANCE),
    ]);
    const seconds = (performance.now() - started) / 1000;
    const failed = [...ra, ...rb].filter((r) => !r.ok);
    expect(failed.slice(0, 3)).toEqual([]);
    const serials = new Set([...ra, ...rb].map((r) => r.serial));
    expect(serials.size).toBe(N);
    expect(await count('select count(*) as n from certificates')).toBe(N);
    expect(await count('select count(distinct serial_hex) as n from certificates')).toBe(N);
    expect(await count("select count(*) as n from audit_events where action = 'certificate.issued'")).toBe(N);
    const inDb = new Set(
      (await db.query('select serial_hex from certificates')).rows.map((r) => r.serial_hex as string),
    );
    expect([...serials].every((s) => inDb.has(s!))).toBe(true);
    // audit seq is gap-free and strictly increasing: one linear chain despite two writers
    const seq = (await db.query('select min(seq) as lo, max(seq) as hi, count(*) as n from audit_events')).rows[0];
    expect(Number(seq.hi) - Number(seq.lo) + 1).toBe(Number(seq.n));
    await expectCertificatesMatchAudit();
    await expectAuditChainVerifies();
    console.log(
      `multi-instance: ${N} signings over 2 instances in ${seconds.toFixed(1)} s (${(N / seconds).toFixed(0)}/s)`,
    );
  }, 180_000);

  /** the instance leading the jobs (and the other one); set by the leadership test */
  let leader: { victim: Instance; survivor: Instance; victimName: string; survivorName: string } | undefined;

  it('a console session made on one instance works on the other (sessions and CSRF live in the database)', async () => {
    const created = await pkim('user', 'create', 'olivia', '--role', 'operator', '--json');
    expect(created.code, created.stderr).toBe(0);
    const password = created.json().password as string;
    const trpc = (base: string, path: string, init: { body?: unknown; headers?: Record<string, string> } = {}) =>
      fetch(
        `${base}/trpc/${path}`,
        init.body === undefined
          ? { headers: init.headers }
          : {
              method: 'POST',
              headers: { 'content-type': 'application/json', ...init.headers },
              body: JSON.stringify(init.body),
            },
      );
    const login = await trpc(a!.url, 'user.login', { body: { username: 'olivia', password } });
    expect(login.status).toBe(200);
    const cookie = login.headers.get('set-cookie')!.split(';')[0]!;
    const { csrfToken } = ((await login.json()) as { result: { data: { csrfToken: string } } }).result.data;
    const me = await trpc(b!.url, 'user.me', { headers: { cookie } });
    expect(me.status).toBe(200);
    expect(((await me.json()) as { result: { data: { name: string } } }).result.data.name).toBe('olivia');
    // a mutation on B with the session and CSRF token issued by A
    const submitted = await trpc(b!.url, 'request.submit', {
      body: { ca: caId, csr: csrs[0], profile: 'tls-server' },
      headers: { cookie, 'x-csrf-token': csrfToken },
    });
    expect(submitted.status, await submitted.clone().text()).toBe(200);
    // logging out on B ends the session on A too
    const logout = await trpc(b!.url, 'user.logout', { body: {}, headers: { cookie, 'x-csrf-token': csrfToken } });
    expect(logout.status).toBe(200);
    expect((await trpc(a!.url, 'user.me', { headers: { cookie } })).status).toBe(401);
  });

  it("exactly one instance leads each background job, seen in both instances' /metrics", async () => {
    // both have been ticking every 300 ms through the issuance run; wait for a few more ticks on both
    const [ma, mb] = await until(
      'a few job ticks on both instances',
      () => Promise.all([jobMetrics(a!), jobMetrics(b!)]),
      ([x, y]) => JOBS.every((j) => x[j].ran + x[j].skipped >= 3 && y[j].ran + y[j].skipped >= 3),
      UNTIL_MS,
    );
    for (const job of JOBS) {
      expect([ma[job].leader, mb[job].leader].sort(), job).toEqual([0, 1]);
      const [lead, standby] = ma[job].leader === 1 ? [ma[job], mb[job]] : [mb[job], ma[job]];
      expect(lead.ran, job).toBeGreaterThan(0);
      expect(lead.failed, job).toBe(0);
      expect(standby.skipped, job).toBeGreaterThan(0);
    }
    // the jobs need not share a leader; the one killed next leads the first job
    leader =
      ma[JOBS[0]].leader === 1
        ? { victim: a!, survivor: b!, victimName: 'A', survivorName: 'B' }
        : { victim: b!, survivor: a!, victimName: 'B', survivorName: 'A' };
  }, 120_000);

  it('SIGKILL of the job leader mid-run: no partial rows; the other finishes, takes jobs; chain valid', async () => {
    expect(leader, 'the leadership test ran first').toBeDefined();
    const { victim, survivor, victimName, survivorName } = leader!;
    const survivorBefore = await jobMetrics(survivor);
    const before = await count('select count(*) as n from certificates');
    const share = 150;
    let killedAt = -1;
    let takeover: Promise<{ metrics: Record<JobName, JobMetrics>; ms: number }> | undefined;
    const [ra, rb] = await Promise.all([
      signMany(victim, victimName, caId, token, csrs, share, IN_FLIGHT_PER_INSTANCE, (_r, done) => {
        if (done === 40 && killedAt < 0) {
          killedAt = done;
          victim.child.kill('SIGKILL'); // requests are in flight on it right now
          // PostgreSQL ends the killed leader's sessions, which releases its job locks: the survivor
          // must lead every job (and run it) while it is under signing load (UNTIL_MS only bounds a failure)
          const t0 = Date.now();
          takeover = until(
            'the survivor to lead every job',
            () => jobMetrics(survivor),
            (m) => JOBS.every((j) => m[j].leader === 1 && m[j].ran >= survivorBefore[j].ran + 2),
            UNTIL_MS,
          ).then((metrics) => ({ metrics, ms: Date.now() - t0 }));
          takeover.catch(() => undefined); // awaited below
        }
      }),
      signMany(survivor, survivorName, caId, token, csrs, share, IN_FLIGHT_PER_INSTANCE),
    ]);
    expect(await victim.exited).toBeNull(); // killed by signal
    expect(victim.child.signalCode).toBe('SIGKILL');
    expect(rb.filter((r) => !r.ok)).toEqual([]);
    expect(rb).toHaveLength(share);
    const ackedVictim = ra.filter((r) => r.ok);
    expect(ackedVictim.length).toBeGreaterThanOrEqual(killedAt - IN_FLIGHT_PER_INSTANCE);
    expect(ra.some((r) => !r.ok)).toBe(true); // the victim really died under load

    const added = (await count('select count(*) as n from certificates')) - before;
    // every acknowledged certificate is there; at most the in-flight ones on the victim committed unacknowledged
    expect(added).toBeGreaterThanOrEqual(share + ackedVictim.length);
    expect(added).toBeLessThanOrEqual(share + ackedVictim.length + IN_FLIGHT_PER_INSTANCE);
    const inDb = new Set((await db.query('select id from certificates')).rows.map((r) => r.id as string));
    expect([...ackedVictim, ...rb].every((r) => inDb.has(r.id!))).toBe(true);
    await expectCertificatesMatchAudit();
    await expectAuditChainVerifies();

    // the survivor keeps serving
    const more = await signMany(survivor, survivorName, caId, token, csrs, 5, 2);
    expect(more.every((r) => r.ok)).toBe(true);

    const { metrics: after, ms } = await takeover!;
    console.log(`multi-instance: the survivor led every job ${ms} ms after the SIGKILL`);
    for (const job of JOBS) {
      expect(after[job].leader, job).toBe(1);
      expect(after[job].ran, job).toBeGreaterThan(survivorBefore[job].ran);
    }
  }, 180_000);
});
