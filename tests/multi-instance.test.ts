// Several `pkim serve` instances on ONE PostgreSQL database: concurrent issuance, a SIGKILLed
// instance, the hash-chained audit log, and leader locks that move to a survivor.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { createServer } from 'node:net';
import { join } from 'node:path';
import pg from 'pg';
import { PKIM_BIN, REPO_ROOT, runPkim } from './support/cli-runner';
import { opensslCsr, tempDir } from './support/openssl-tools';
import { startPostgres, type TestPostgres } from './support/postgres';

const N = Number(process.env.PKIM_MULTI_INSTANCE_N ?? 1000); // acceptance number
const IN_FLIGHT_PER_INSTANCE = 6;

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.on('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const addr = srv.address();
      srv.close(() => (addr && typeof addr === 'object' ? resolve(addr.port) : reject(new Error('no port'))));
    });
  });
}

interface Child {
  proc: ChildProcess;
  output: () => string;
  exited: Promise<number | null>;
}

function spawnChild(args: string[], env: Record<string, string>): Child {
  const proc = spawn(process.execPath, args, { cwd: REPO_ROOT, env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  proc.stdout!.on('data', (d) => { out += d; });
  proc.stderr!.on('data', (d) => { out += d; });
  const exited = new Promise<number | null>((resolve) => proc.once('exit', (code) => resolve(code)));
  return { proc, output: () => out, exited };
}

async function waitFor(child: Child, re: RegExp, what: string, timeoutMs = 60_000): Promise<RegExpMatchArray> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const m = re.exec(child.output());
    if (m) return m;
    if (child.proc.exitCode !== null || child.proc.signalCode !== null) throw new Error(`${what} exited (${child.proc.exitCode ?? child.proc.signalCode}):\n${child.output()}`);
    if (Date.now() > end) throw new Error(`timed out waiting for ${what} (${re}):\n${child.output()}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

async function stopChild(child: Child | undefined): Promise<void> {
  if (!child || child.proc.exitCode !== null || child.proc.signalCode !== null) return;
  child.proc.kill('SIGTERM');
  const t = setTimeout(() => child.proc.kill('SIGKILL'), 10_000);
  await child.exited;
  clearTimeout(t);
}

interface Instance extends Child { url: string }

async function startInstance(name: string, env: Record<string, string>): Promise<Instance> {
  const port = await freePort();
  const child = spawnChild([PKIM_BIN, 'serve', '--host', '127.0.0.1', '--port', String(port), '--log-level', 'warn'], env);
  const m = await waitFor(child, /pkim listening on (http:\/\/127\.0\.0\.1:\d+)/, `instance ${name}`);
  return { ...child, url: m[1]! };
}

interface SignOutcome { instance: string; ok: boolean; status?: number; serial?: string; id?: string; error?: string }

/** Signs `count` CSRs against one instance with `inFlight` concurrent requests; stops early if `shouldStop()`. */
async function signMany(instance: Instance, name: string, caId: string, token: string, csrs: string[], count: number, inFlight: number,
  onResult?: (r: SignOutcome, done: number) => void): Promise<SignOutcome[]> {
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
        const body = await res.json() as { serial?: string; id?: string; code?: string; message?: string };
        r = res.status === 201
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
  const children: Child[] = [];
  let caId: string;
  let token: string;
  let csrs: string[];
  /** CLI on the shared database, with its own data dir (no master.key file: the key comes from the environment) */
  const pkim = (...args: string[]) => runPkim(args, { dataDir: join(tmp.dir, 'cli'), env });

  beforeAll(async () => {
    cluster = await startPostgres();
    dbUrl = await cluster.createDatabase();
    env = { PKIM_DATABASE_URL: dbUrl, PKIM_MASTER_KEY: masterKey, PKIM_LOG_LEVEL: 'warn' };
    const root = pkim('ca', 'create', '--name', 'root', '--subject', 'CN=Multi Root CA', '--key-type', 'ec-p256', '--json');
    expect(root.code, root.stderr).toBe(0);
    const issuing = pkim('ca', 'create', '--name', 'issuing', '--parent', 'root', '--subject', 'CN=Multi Issuing CA', '--key-type', 'ec-p256', '--json');
    expect(issuing.code, issuing.stderr).toBe(0);
    caId = issuing.json().ca.id;
    const t = pkim('token', 'create', '--name', 'multi-instance', '--role', 'operator', '--json');
    expect(t.code, t.stderr).toBe(0);
    token = t.json().token;
    csrs = Array.from({ length: 6 }, (_, i) => opensslCsr({ keyType: 'ec-p256', subject: `/CN=host${i}.example.com`, sans: [`DNS:host${i}.example.com`] }).csrPem);
    // each instance has its OWN data dir: the shared CA keys are in the database, the shared master key in the environment
    [a, b] = await Promise.all([
      startInstance('A', { ...env, PKIM_DATA_DIR: join(tmp.dir, 'a') }),
      startInstance('B', { ...env, PKIM_DATA_DIR: join(tmp.dir, 'b') }),
    ]);
    db = new pg.Client({ connectionString: dbUrl });
    await db.connect();
  }, 120_000);

  afterAll(async () => {
    await Promise.all([stopChild(a), stopChild(b), ...children.map(stopChild)]);
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

  function expectAuditChainVerifies(): number {
    const v = pkim('audit', 'verify', '--json');
    expect(v.code, v.stderr).toBe(0);
    expect(v.json().ok).toBe(true);
    return v.json().count;
  }

  it(`issues ${N} certificates split across both instances concurrently: ${N} rows, ${N} distinct serials, one audit chain`, async () => {
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
    const inDb = new Set((await db.query('select serial_hex from certificates')).rows.map((r) => r.serial_hex as string));
    expect([...serials].every((s) => inDb.has(s!))).toBe(true);
    // audit seq is gap-free and strictly increasing: one linear chain despite two writers
    const seq = (await db.query('select min(seq) as lo, max(seq) as hi, count(*) as n from audit_events')).rows[0];
    expect(Number(seq.hi) - Number(seq.lo) + 1).toBe(Number(seq.n));
    await expectCertificatesMatchAudit();
    expectAuditChainVerifies();
    console.log(`multi-instance: ${N} signings over 2 instances in ${seconds.toFixed(1)} s (${(N / seconds).toFixed(0)}/s)`);
  }, 180_000);

  it('SIGKILL of one instance mid-run leaves no partial rows; the other finishes its share; the chain still verifies', async () => {
    const before = await count('select count(*) as n from certificates');
    const share = 150;
    let killedAt = -1;
    const [ra, rb] = await Promise.all([
      signMany(a!, 'A', caId, token, csrs, share, IN_FLIGHT_PER_INSTANCE, (_r, done) => {
        if (done === 40 && killedAt < 0) {
          killedAt = done;
          a!.proc.kill('SIGKILL'); // requests are in flight on A right now
        }
      }),
      signMany(b!, 'B', caId, token, csrs, share, IN_FLIGHT_PER_INSTANCE),
    ]);
    expect(await a!.exited).toBeNull(); // killed by signal
    expect(a!.proc.signalCode).toBe('SIGKILL');
    expect(rb.filter((r) => !r.ok)).toEqual([]);
    expect(rb).toHaveLength(share);
    const ackedA = ra.filter((r) => r.ok);
    expect(ackedA.length).toBeGreaterThanOrEqual(killedAt - IN_FLIGHT_PER_INSTANCE);
    expect(ra.some((r) => !r.ok)).toBe(true); // A really died under load

    const added = (await count('select count(*) as n from certificates')) - before;
    // every acknowledged certificate is there; at most the in-flight ones on A committed unacknowledged
    expect(added).toBeGreaterThanOrEqual(share + ackedA.length);
    expect(added).toBeLessThanOrEqual(share + ackedA.length + IN_FLIGHT_PER_INSTANCE);
    const inDb = new Set((await db.query('select id from certificates')).rows.map((r) => r.id as string));
    expect([...ackedA, ...rb].every((r) => inDb.has(r.id!))).toBe(true);
    await expectCertificatesMatchAudit();
    expectAuditChainVerifies();

    // the survivor keeps serving
    const more = await signMany(b!, 'B', caId, token, csrs, 5, 2);
    expect(more.every((r) => r.ok)).toBe(true);
  }, 180_000);

  it('a leader lock held by an instance moves to another instance when the holder is SIGKILLed', async () => {
    // Two more processes that run a "leader-only job" under the store's withLeaderLock, the
    // mechanism the server's maintenance jobs use: exactly one of them runs it; the other takes over after a kill.
    const script = `
      import { register } from 'tsx/esm/api';
      register();
      const { openStore } = await import('@pkim/store');
      const store = await openStore({ url: process.env.PKIM_DATABASE_URL });
      console.log('ready ' + process.pid);
      for (;;) {
        await store.withLeaderLock('pkim.test-leader-job', async () => {
          console.log('leader ' + process.pid);
          for (;;) { await new Promise((r) => setTimeout(r, 100)); console.log('tick ' + process.pid); }
        });
        console.log('follower ' + process.pid);
        await new Promise((r) => setTimeout(r, 200));
      }`;
    const spawnContender = () => spawnChild(['--input-type=module', '-e', script], { PKIM_DATABASE_URL: dbUrl });
    const first = spawnContender();
    children.push(first);
    await waitFor(first, /leader \d+/, 'first contender to lead');
    const second = spawnContender();
    children.push(second);
    await waitFor(second, /follower \d+/, 'second contender to follow');
    await new Promise((r) => setTimeout(r, 500));
    expect(second.output()).not.toMatch(/leader/); // exactly one leader while both live

    first.proc.kill('SIGKILL');
    await first.exited;
    const m = await waitFor(second, /leader (\d+)/, 'second contender to take over', 20_000);
    expect(Number(m[1])).toBe(second.proc.pid);
    await stopChild(second);
  }, 60_000);
});
