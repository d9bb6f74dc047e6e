// Bulk jobs shared by server instances on one PostgreSQL database (issue #16): a job started on one instance is polled
// and its files downloaded on another; after a restart a finished job is still there; a job whose instance stopped
// (a graceful stop, or SIGKILL of a real `pkim serve`) is reported failed with `bulk.interrupted`, never left running.
// The keys ZIP is stored sealed (no PKCS#12 bytes in the database); openssl reads the keys and verifies the
// certificates downloaded from the other instance.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ChildProcess } from 'node:child_process';
import { unzipSync } from 'fflate';
import type { FastifyInstance } from 'fastify';
import type { Authority } from '@pkim/authority';
import { internalsOf } from '@pkim/authority/internals';
import type { BulkJobDto } from '@pkim/contract';
import { buildServer } from '@pkim/server';
import { postgresInstances } from '../../../tests/support/postgres-instances';
import { openssl } from '../../../tests/support/openssl-tools';
import { opensslVerify } from '../../../tests/support/verifiers';
import { startPkimServer } from '../../../tests/support/remote-server';
import { ACTORS, createIssuingCa, createRootCa, listen } from './server-test-support';

const PASSWORD = 'instances keys password';
const csvOf = (n: number, prefix: string) =>
  ['cn,sans', ...Array.from({ length: n }, (_, i) => `${prefix}-${i}.example,${prefix}-${i}.example`)].join('\n');

interface Instance {
  authority: Authority;
  app: FastifyInstance;
  base: string;
}

describe('bulk jobs across server instances on one PostgreSQL database', { timeout: 240_000 }, () => {
  const hosts = postgresInstances();
  let url: string;
  const instances: Instance[] = [];
  /** instance B's clock runs `offset` ms ahead (to age heartbeats) */
  let offset = 0;
  let token: string;
  let rootPem: string;
  let issuingPem: string;
  let child: ChildProcess | undefined;

  async function open(clockOffset = false): Promise<Instance> {
    const authority = await hosts.open(url, clockOffset ? { clock: { now: () => Date.now() + offset } } : {});
    const app = await buildServer(authority, { logger: false, processMetrics: false, backgroundJobs: false });
    const i = { authority, app, base: await listen(app) };
    instances.push(i);
    return i;
  }
  async function stop(i: Instance): Promise<void> {
    await i.app.close();
    await hosts.close(i.authority);
    instances.splice(instances.indexOf(i), 1);
  }
  const rest = async (base: string, method: string, path: string, body?: unknown) => {
    const r = await fetch(`${base}/api/v1${path}`, {
      method,
      headers: {
        authorization: `Bearer ${token}`,
        ...(body !== undefined ? { 'content-type': 'application/json' } : {}),
      },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    return { status: r.status, bytes: new Uint8Array(await r.arrayBuffer()) };
  };
  const json = (r: { bytes: Uint8Array }): BulkJobDto =>
    JSON.parse(Buffer.from(r.bytes).toString('utf8')) as BulkJobDto;
  const job = async (base: string, id: string) => {
    const r = await rest(base, 'GET', `/bulk/jobs/${id}`);
    expect(r.status, Buffer.from(r.bytes).toString()).toBe(200);
    return json(r);
  };
  const startCsv = async (base: string, body: Record<string, unknown>) => {
    const r = await rest(base, 'POST', '/bulk/csv', { ca: 'mi-issuing', ...body });
    expect(r.status, Buffer.from(r.bytes).toString()).toBe(201);
    return json(r);
  };
  beforeAll(async () => {
    url = await hosts.database('bulkjobs');
    const a = await open();
    await open(true);
    const root = await createRootCa(a.authority, 'mi-root');
    rootPem = root.pem;
    issuingPem = (await createIssuingCa(a.authority, root, 'mi-issuing')).pem;
    token = (await a.authority.auth.createToken({ name: 'mi-operator', role: 'operator' }, ACTORS.admin)).token;
  }, 120_000);

  afterAll(async () => {
    if (child?.exitCode === null) child.kill('SIGKILL');
    for (const i of [...instances]) await stop(i).catch(() => undefined);
  });

  let finishedId = '';
  let finishedJob: BulkJobDto;

  it('a job started on instance A is polled and its files downloaded on instance B', async () => {
    const [a, b] = instances as [Instance, Instance];
    const started = await startCsv(a.base, { csv: csvOf(6, 'mi'), profile: 'tls-server', keysZipPassword: PASSWORD });
    expect(started).toMatchObject({ state: 'running', kind: 'issue-csv', total: 6 });
    // B knows the job at once, with at least the progress A answered with
    expect((await job(b.base, started.id)).done).toBeGreaterThanOrEqual(started.done);
    let seen: BulkJobDto = started;
    for (const t = Date.now(); seen.state === 'running' && Date.now() - t < 60_000;) {
      await new Promise((r) => setTimeout(r, 100));
      seen = await job(b.base, started.id);
    }
    expect(seen).toMatchObject({ state: 'succeeded', done: 6, succeeded: 6, failed: 0, error: null });
    expect(seen.rows.map((r) => r.status)).toEqual(Array(6).fill('issued'));
    expect(seen.files.map((f) => f.name)).toEqual(['results.csv', 'results.json', 'keys.zip']);
    // the same answer from A
    expect(await job(a.base, started.id)).toEqual(seen);

    const zip = await rest(b.base, 'GET', `/bulk/jobs/${started.id}/files/keys.zip`);
    expect(zip.status).toBe(200);
    const entries = unzipSync(zip.bytes);
    expect(Object.keys(entries)).toHaveLength(6);
    for (const [name, p12] of Object.entries(entries)) {
      const info = openssl(['pkcs12', '-info', '-in', '@k.p12', '-passin', `pass:${PASSWORD}`, '-noenc'], {
        'k.p12': p12,
      });
      expect(info.ok, `${name}: ${info.output}`).toBe(true);
      expect(info.output).toContain('-----BEGIN PRIVATE KEY-----');
    }
    for (const r of seen.rows) {
      const c = await b.authority.certificates.find(r.certificateId!);
      const v = opensslVerify({ leafPem: c.certificatePem, chainPems: [issuingPem], rootPem });
      expect(v.ok, v.output).toBe(true);
    }
    // the keys ZIP is sealed in the database: neither ZIP nor PKCS#12 bytes, and it opens only with the KEK
    const body = (await internalsOf(b.authority).store.bulkJobs.findFile(started.id, 'keys.zip'))!.body;
    expect(body.startsWith('v1.')).toBe(true);
    expect(body).not.toContain(Buffer.from(zip.bytes.subarray(0, 32)).toString('base64').slice(0, 40));
    finishedId = started.id;
    finishedJob = seen;
  });

  it('after a restart the finished job and its files are still there', async () => {
    for (const i of [...instances]) await stop(i);
    const a2 = await open();
    await open(true);
    expect(await job(a2.base, finishedId)).toEqual(finishedJob);
    const csv = await rest(a2.base, 'GET', `/bulk/jobs/${finishedId}/files/results.csv`);
    expect(csv.status).toBe(200);
    expect(Buffer.from(csv.bytes).toString()).toContain('mi-5.example');
    const zip = await rest(a2.base, 'GET', `/bulk/jobs/${finishedId}/files/keys.zip`);
    expect(Object.keys(unzipSync(zip.bytes))).toHaveLength(6);
  });

  it('a job whose instance stops is reported failed (bulk.interrupted) by the other instance at once', async () => {
    const [a2, b] = instances as [Instance, Instance];
    const started = await startCsv(a2.base, { csv: csvOf(1500, 'stop'), profile: 'tls-server', keepKeys: true });
    expect(started.state).toBe('running');
    await stop(a2);
    const seen = await job(b.base, started.id);
    expect(seen).toMatchObject({ state: 'failed', error: { code: 'bulk.interrupted' } });
    expect(seen.finishedAt).not.toBeNull();
    expect(seen.done).toBeLessThan(1500);
  });

  it('a job of a killed `pkim serve` stays running until its heartbeat is old, then fails as interrupted', async () => {
    const b = instances[0]!;
    const killed = await startPkimServer(hosts.dataDir(), [], {
      PKIM_DATABASE_URL: url,
      PKIM_MASTER_KEY: hosts.masterKey,
    });
    child = killed.child;
    const served = killed.url;
    const started = await startCsv(served, { csv: csvOf(1500, 'kill'), profile: 'tls-server', keepKeys: true });
    const exited = new Promise((r) => child!.once('exit', r));
    child.kill('SIGKILL');
    await exited;
    // its heartbeat is fresh: still running as far as anyone can tell
    expect(await job(b.base, started.id)).toMatchObject({ state: 'running', error: null });
    offset = 2 * 60_000; // two minutes later, no heartbeat came
    const seen = await job(b.base, started.id);
    expect(seen).toMatchObject({ state: 'failed', error: { code: 'bulk.interrupted' } });
    expect(seen.error!.message).toMatch(/stopped answering/);
    // and it no longer counts against the caller's running jobs
    const again = await startCsv(b.base, { csv: csvOf(2, 'after'), dryRun: true });
    expect(again.kind).toBe('issue-csv');
  });
});
