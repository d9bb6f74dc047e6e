// Bulk and batch jobs over a real socket (issue #16): a CSV dry run and run started over REST and tRPC, polled to the
// end, the results CSV and the ZIP of password-protected PKCS#12 keys downloaded and read by openssl, a batch
// revocation checked by `openssl ocsp` against the server's responder (and by the CRL), a batch renewal by filter and
// a batch download ZIP; the 4xx answers before a job starts; a job is its starter's only; every run audited. Batch
// renewal with reuseKey: the new certificates have their old public keys (openssl), without it new ones; a batch with
// one certificate that could not keep its key is refused (4xx, code and message) before any is renewed.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { FastifyInstance } from 'fastify';
import { parse } from 'csv-parse/sync';
import { unzipSync } from 'fflate';
import { buildServer } from '@pkim/server';
import { BUILT_IN_PROFILES } from '@pkim/core';
import type { Authority } from '@pkim/authority';
import type { BulkJobDto } from '@pkim/contract';
import {
  ACTORS,
  type AuthorityFixture,
  createIssuingCa,
  createRootCa,
  listen,
  openAuthorityFixture,
} from './server-test-support';
import { openssl } from '../../../tests/support/openssl-tools';
import { opensslCrlVerify, opensslOcspUrl, opensslVerify } from '../../../tests/support/verifiers';

const PASSWORD = 'bulk keys password 1';

/** 6 rows: a quoted organisation with a comma, an IPv6 SAN, and 2 bad rows (a DNS name with a space, no profile) */
const CSV =
  'CN,O,SANs,Profile\r\n' +
  'a.bulk.example,"Example, Inc.",a.bulk.example;2001:db8::a,tls-server\r\n' +
  'b.bulk.example,Example,bad name.bulk.example,tls-server\r\n' +
  'c.bulk.example,Example,c.bulk.example;192.0.2.3,tls-server\r\n' +
  'd.bulk.example,Example,d.bulk.example,no-such-profile\r\n' +
  'e.bulk.example,Example,e.bulk.example,\r\n' +
  'f.bulk.example,Example,f.bulk.example,tls-server\r\n';
const GOOD_ROWS = [1, 3, 5, 6];
/** tls-server whose renewals may keep the key */
const REUSE_PROFILE = { ...BUILT_IN_PROFILES['tls-server'], name: 'tls-server-reuse', allowKeyReuse: true };

describe('bulk jobs over HTTP (REST and tRPC)', { timeout: 180_000 }, () => {
  let fx: AuthorityFixture;
  let authority: Authority;
  let app: FastifyInstance;
  let base: string;
  let token: string;
  let tokenId: string;
  let strangerToken: string;
  let rootPem: string;
  let issuingPem: string;
  let issuingId: string;
  let issuedIds: string[] = [];

  const rest = async (method: string, path: string, body?: unknown, bearer = token) => {
    const r = await fetch(`${base}/api/v1${path}`, {
      method,
      headers: {
        ...(bearer ? { authorization: `Bearer ${bearer}` } : {}),
        ...(body !== undefined ? { 'content-type': 'application/json' } : {}),
      },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    return {
      status: r.status,
      type: r.headers.get('content-type') ?? '',
      bytes: new Uint8Array(await r.arrayBuffer()),
    };
  };
  const json = (r: { bytes: Uint8Array }) => JSON.parse(Buffer.from(r.bytes).toString('utf8')) as Record<string, any>;
  const trpc = async (proc: string, input: unknown, mutation: boolean) => {
    const q = mutation ? '' : `?input=${encodeURIComponent(JSON.stringify(input))}`;
    const r = await fetch(`${base}/trpc/${proc}${q}`, {
      method: mutation ? 'POST' : 'GET',
      headers: { authorization: `Bearer ${token}`, ...(mutation ? { 'content-type': 'application/json' } : {}) },
      body: mutation ? JSON.stringify(input) : undefined,
    });
    const body = (await r.json()) as { result?: { data: BulkJobDto }; error?: { data: { pkiCode: string } } };
    return { status: r.status, job: body.result?.data, error: body.error };
  };
  /** polls `GET /bulk/jobs/:id` until the job ends; the progress seen on the way */
  const finished = async (id: string): Promise<{ job: BulkJobDto; seen: number[] }> => {
    const seen: number[] = [];
    for (const start = Date.now(); Date.now() - start < 120_000;) {
      const r = await rest('GET', `/bulk/jobs/${id}`);
      expect(r.status).toBe(200);
      const job = json(r) as BulkJobDto;
      seen.push(job.done);
      if (job.state !== 'running') return { job, seen };
      await new Promise((res) => setTimeout(res, 100));
    }
    throw new Error(`bulk job ${id} did not finish`);
  };
  const certificatePem = async (id: string) => (await authority.certificates.find(id)).certificatePem;
  /** the certificate's public key as openssl reads it (PEM SubjectPublicKeyInfo) */
  const publicKey = async (id: string) => {
    const r = openssl(['x509', '-in', '@c.pem', '-noout', '-pubkey'], { 'c.pem': await certificatePem(id) });
    expect(r.ok, r.output).toBe(true);
    return r.output.trim();
  };
  /** an active EC P-256 server certificate of bk-issuing, its key kept on the server unless `keepKey: false` */
  const leaf = async (cn: string, profile = REUSE_PROFILE.name, keepKey = true) =>
    (
      await authority.issuance.issueWithKey(
        { caId: issuingId, profile, subject: { commonName: cn }, sans: { dns: [cn] }, keyType: 'ec-p256', keepKey },
        ACTORS.admin,
      )
    ).certificate.id;
  /** each old certificate renewed once by the job: the new one verified by openssl (chain, name); old → new ids */
  const renewedPairs = (job: BulkJobDto) =>
    job.items.map((i) => {
      expect(i.status, JSON.stringify(i.error)).toBe('renewed');
      return [i.certificateId!, i.newCertificateId!] as const;
    });
  const verifies = async (id: string) => {
    const c = await authority.certificates.find(id);
    const v = opensslVerify({ leafPem: c.certificatePem, chainPems: [issuingPem], rootPem, hostname: c.commonName! });
    expect(v.ok, v.output).toBe(true);
  };
  /** `openssl ocsp -url` against the server's responder */
  const ocsp = async (id: string) =>
    opensslOcspUrl({ url: `${base}/ocsp`, issuerPem: issuingPem, rootPem, leafPem: await certificatePem(id) });

  beforeAll(async () => {
    // the row limit is a setting (PKIM_BULK_MAX_ROWS, default 2000): 50 here
    fx = await openAuthorityFixture({ env: { PKIM_BULK_MAX_ROWS: '50' }, customProfiles: [REUSE_PROFILE] });
    authority = fx.authority;
    const root = await createRootCa(authority, 'bk-root');
    rootPem = root.pem;
    const issuing = await createIssuingCa(authority, root, 'bk-issuing');
    issuingPem = issuing.pem;
    issuingId = issuing.id;
    const created = await authority.auth.createToken({ name: 'bk-operator', role: 'operator' }, ACTORS.admin);
    token = created.token;
    tokenId = created.id;
    strangerToken = (await authority.auth.createToken({ name: 'bk-other', role: 'operator' }, ACTORS.admin)).token;
    app = await buildServer(authority, { logger: false, backgroundJobs: false });
    base = await listen(app);
  });
  afterAll(async () => {
    await app?.close();
    await fx?.close();
  });

  it('refuses before any job: no credentials, unknown CA, too many rows, no key destination, bad input', async () => {
    const start = (body: unknown, bearer?: string) => rest('POST', '/bulk/csv', body, bearer);
    expect((await start({ ca: 'bk-issuing', csv: CSV, dryRun: true }, '')).status).toBe(401);
    const noCa = await start({ ca: 'no-such-ca', csv: CSV, dryRun: true });
    expect([noCa.status, json(noCa).code]).toEqual([404, 'ca.not_found']);
    const many = 'cn\n' + Array.from({ length: 51 }, (_, i) => `h${i}.example`).join('\n');
    const tooMany = await start({ ca: 'bk-issuing', csv: many, dryRun: true });
    expect([tooMany.status, json(tooMany).code]).toEqual([400, 'bulk.too_many_rows']);
    expect(json(tooMany).message).toMatch(/has 51 rows; a batch takes at most 50 \(PKIM_BULK_MAX_ROWS\)/);
    const fifty = await start({ ca: 'bk-issuing', csv: many.slice(0, many.lastIndexOf('\n')), dryRun: true });
    expect(fifty.status, Buffer.from(fifty.bytes).toString()).toBe(201);
    await finished((json(fifty) as BulkJobDto).id);
    // rows with server-generated keys need a keys ZIP password or keepKeys
    const nowhere = await start({ ca: 'bk-issuing', csv: CSV });
    expect([nowhere.status, json(nowhere).code]).toEqual([400, 'input.invalid']);
    const shortPassword = await start({ ca: 'bk-issuing', csv: CSV, keysZipPassword: 'short' });
    expect([shortPassword.status, json(shortPassword).code]).toEqual([400, 'input.invalid']);
    const noFilter = await rest('POST', '/bulk/revoke', { reason: 'superseded' });
    expect([noFilter.status, json(noFilter).code]).toEqual([400, 'input.invalid']);
    const unknownJob = await rest('GET', '/bulk/jobs/job_none');
    expect([unknownJob.status, json(unknownJob).code]).toEqual([404, 'bulk.job_not_found']);
    expect((await authority.certificates.list({ limit: 10 })).items).toHaveLength(0);
  });

  it('a dry run over REST reports exactly the bad rows with their codes and signs nothing', async () => {
    const started = await rest('POST', '/bulk/csv', {
      ca: 'bk-issuing',
      csv: CSV,
      dryRun: true,
      profile: 'tls-server',
    });
    expect(started.status, Buffer.from(started.bytes).toString()).toBe(201);
    const first = json(started) as BulkJobDto;
    expect(first).toMatchObject({ kind: 'issue-csv', dryRun: true, total: 6 });
    const { job } = await finished(first.id);
    expect(job).toMatchObject({ state: 'succeeded', phase: 'check', done: 6, succeeded: 4, failed: 2 });
    expect(job.rows.map((r) => [r.row, r.status, r.error?.code ?? null])).toEqual([
      [1, 'valid', null],
      [2, 'failed', 'lint.invalid_san'],
      [3, 'valid', null],
      [4, 'failed', 'profile.not_found'],
      [5, 'valid', null],
      [6, 'valid', null],
    ]);
    expect((await authority.certificates.list({ limit: 10 })).items).toHaveLength(0);
  });

  it('a run over tRPC: progress, per-row results as CSV, keys as password-protected PKCS#12 (openssl)', async () => {
    const started = await trpc(
      'bulk.issueCsv',
      { ca: 'bk-issuing', csv: CSV, profile: 'tls-server', ttl: '30d', keysZipPassword: PASSWORD },
      true,
    );
    expect(started.status, JSON.stringify(started.error)).toBe(200);
    // answered once the first row was under way: the total is known
    expect(started.job).toMatchObject({ kind: 'issue-csv', phase: 'issue', total: 6 });
    expect(started.job!.done).toBeGreaterThanOrEqual(1);
    const { job, seen } = await finished(started.job!.id);
    expect(seen.every((d, i) => i === 0 || d >= seen[i - 1]!)).toBe(true);
    expect(job).toMatchObject({ state: 'succeeded', done: 6, succeeded: 4, failed: 2 });
    expect(job.files.map((f) => [f.name, f.containsPrivateKey])).toEqual([
      ['results.csv', false],
      ['results.json', false],
      ['keys.zip', true],
    ]);
    const viaTrpc = await trpc('bulk.job', { id: job.id }, false);
    expect(viaTrpc.job).toEqual(job);

    const csv = await rest('GET', `/bulk/jobs/${job.id}/files/results.csv`);
    expect([csv.status, csv.type]).toEqual([200, 'text/csv']);
    const records: Record<string, string>[] = parse(Buffer.from(csv.bytes), { columns: true });
    expect(records.filter((r) => r.status === 'issued').map((r) => Number(r.row))).toEqual(GOOD_ROWS);
    expect(records.find((r) => r.row === '2')).toMatchObject({ status: 'failed', errorCode: 'lint.invalid_san' });
    issuedIds = records.filter((r) => r.status === 'issued').map((r) => r.certificateId!);
    for (const id of issuedIds) {
      const v = opensslVerify({ leafPem: await certificatePem(id), chainPems: [issuingPem], rootPem });
      expect(v.ok, v.output).toBe(true);
    }
    const a = await authority.certificates.find(issuedIds[0]!);
    const text = openssl(['x509', '-in', '@c.pem', '-noout', '-text'], { 'c.pem': a.certificatePem }).output;
    expect(text).toContain('IP Address:2001:DB8:0:0:0:0:0:A');
    expect(text).toMatch(/O = "Example, Inc\."/);

    const zip = await rest('GET', `/bulk/jobs/${job.id}/files/keys.zip`);
    expect([zip.status, zip.type]).toEqual([200, 'application/zip']);
    const entries = unzipSync(zip.bytes);
    const names = Object.keys(entries).sort();
    expect(names).toEqual(job.rows.filter((r) => r.keyFile).map((r) => r.keyFile!));
    expect(names).toHaveLength(4);
    for (const name of names) {
      const info = openssl(['pkcs12', '-info', '-in', '@k.p12', '-passin', `pass:${PASSWORD}`, '-noenc'], {
        'k.p12': entries[name]!,
      });
      expect(info.ok, info.output).toBe(true);
      expect(info.output).toContain('-----BEGIN PRIVATE KEY-----');
    }
    const wrong = openssl(['pkcs12', '-info', '-in', '@k.p12', '-passin', 'pass:not the password', '-noenc'], {
      'k.p12': entries[names[0]!]!,
    });
    expect(wrong.ok).toBe(false);

    // a job is its starter's only
    const stranger = await rest('GET', `/bulk/jobs/${job.id}`, undefined, strangerToken);
    expect([stranger.status, json(stranger).code]).toEqual([404, 'bulk.job_not_found']);
    const strangerFile = await rest('GET', `/bulk/jobs/${job.id}/files/keys.zip`, undefined, strangerToken);
    expect(strangerFile.status).toBe(404);

    // audited as the CLI path: one batch event by the token, one event per certificate and per failed row
    const batches = await authority.audit.list({ action: 'certificate.bulk', limit: 10 });
    const batch = batches.find((e) => (e.details as { batchId?: string }).batchId === job.batchId);
    expect(batch).toMatchObject({ actor: tokenId, outcome: 'failure' });
    expect(batch!.details).toMatchObject({ batchId: job.batchId, mode: 'per-row', rows: 6, issued: 4, failed: 2 });
    const issuedEvents = await authority.audit.list({ action: 'certificate.issued', limit: 100 });
    expect(issuedEvents.filter((e) => issuedIds.includes(e.target ?? ''))).toHaveLength(4);
  });

  it('batch revoke over REST: each certificate revoked, as openssl ocsp asks the server and the CRL says', async () => {
    expect(issuedIds).toHaveLength(4);
    const revokeIds = issuedIds.slice(0, 3);
    for (const id of revokeIds) {
      const out = await ocsp(id);
      expect(out).toMatch(/leaf\.pem: good/);
    }
    const started = await rest('POST', '/bulk/revoke', { refs: revokeIds, reason: 'keyCompromise' });
    expect(started.status, Buffer.from(started.bytes).toString()).toBe(201);
    const { job } = await finished((json(started) as BulkJobDto).id);
    expect(job).toMatchObject({ kind: 'revoke', state: 'succeeded', total: 3, succeeded: 3, failed: 0 });
    expect(job.items.map((i) => i.status)).toEqual(['revoked', 'revoked', 'revoked']);

    for (const id of revokeIds) {
      const out = await ocsp(id);
      expect(out).toMatch(/Response verify OK/);
      expect(out).toMatch(/leaf\.pem: revoked/);
      expect(out).toMatch(/Reason: keyCompromise/);
    }
    const kept = await ocsp(issuedIds[3]!);
    expect(kept).toMatch(/leaf\.pem: good/);

    const crl = await fetch(`${base}/crl/bk-issuing.crl`);
    const v = opensslCrlVerify(new Uint8Array(await crl.arrayBuffer()), issuingPem);
    expect(v.ok, v.text).toBe(true);
    for (const id of revokeIds) {
      const serial = (await authority.certificates.find(id)).serialHex.replace(/^0+/, '');
      expect(v.go.entries.get(serial)).toBe(1); // keyCompromise
    }
    expect(v.go.entries.size).toBe(3);
    const [event] = await authority.audit.list({ action: 'certificate.batch_revoke', limit: 1 });
    expect(event).toMatchObject({ actor: tokenId, outcome: 'success' });
  });

  it('batch renew by filter and batch download as a ZIP of PEM files (openssl verifies each)', async () => {
    const renewStarted = await rest('POST', '/bulk/renew', { ca: 'bk-issuing', search: 'f.bulk.example', ttl: '10d' });
    expect(renewStarted.status, Buffer.from(renewStarted.bytes).toString()).toBe(201);
    const { job: renewed } = await finished((json(renewStarted) as BulkJobDto).id);
    expect(renewed).toMatchObject({ kind: 'renew', state: 'succeeded', total: 1, succeeded: 1 });
    const newId = renewed.items[0]!.newCertificateId!;
    expect((await authority.certificates.find(newId)).commonName).toBe('f.bulk.example');

    const dl = await rest('POST', '/bulk/download', { refs: [newId, issuedIds[3]!] });
    expect(dl.status).toBe(201);
    const { job } = await finished((json(dl) as BulkJobDto).id);
    expect(job).toMatchObject({ kind: 'download', state: 'succeeded', succeeded: 2 });
    const zip = await rest('GET', `/bulk/jobs/${job.id}/files/certificates.zip`);
    expect([zip.status, zip.type]).toEqual([200, 'application/zip']);
    const entries = unzipSync(zip.bytes);
    const chains = Object.keys(entries).filter((n) => n.endsWith('.chain.pem'));
    expect(chains).toHaveLength(2);
    for (const n of Object.keys(entries).filter((x) => !x.endsWith('.chain.pem'))) {
      const v = opensslVerify({ leafPem: Buffer.from(entries[n]!).toString(), chainPems: [issuingPem], rootPem });
      expect(v.ok, v.output).toBe(true);
    }
    // JSON with Accept: the file as base64, as over tRPC
    const asJson = await fetch(`${base}/api/v1/bulk/jobs/${job.id}/files/results.json`, {
      headers: { authorization: `Bearer ${token}`, accept: 'application/json' },
    });
    const file = (await asJson.json()) as { fileName: string; contentBase64: string };
    expect(file.fileName).toBe('results.json');
    expect(JSON.parse(Buffer.from(file.contentBase64, 'base64').toString())).toMatchObject({ action: 'download' });
  });

  it('batch renew with reuseKey: bad input is a 4xx (code, message) before any job, nothing renewed', async () => {
    const ok = await leaf('ok.reuse.example');
    const plain = await leaf('plain.reuse.example', 'tls-server');
    const notHeld = await leaf('not-held.reuse.example', REUSE_PROFILE.name, false);
    const before = (await authority.certificates.list({ caId: issuingId, limit: 500 })).items.length;
    const start = (body: unknown) => rest('POST', '/bulk/renew', body);

    const notBoolean = await start({ refs: [ok], reuseKey: 'yes' });
    expect([notBoolean.status, json(notBoolean).code]).toEqual([400, 'input.invalid']);
    expect(json(notBoolean).message).toMatch(/reuseKey/);
    // one certificate of the batch whose profile does not allow key reuse refuses it all (ok is not renewed either)
    const notAllowed = await start({ refs: [ok, plain], reuseKey: true });
    expect([notAllowed.status, json(notAllowed).code]).toEqual([422, 'renewal.key_reuse_not_allowed']);
    expect(json(notAllowed).message).toMatch(
      new RegExp(`^certificate ${plain}: profile tls-server does not allow .*reuseKey: nothing was renewed$`),
    );
    const noKey = await start({ ca: 'bk-issuing', search: 'not-held.reuse.example', reuseKey: true });
    expect([noKey.status, json(noKey).code]).toEqual([409, 'export.key_not_held']);
    expect(json(noKey).message).toContain(`certificate ${notHeld}: the server does not hold the key`);
    // the same over tRPC
    const viaTrpc = await trpc('bulk.renew', { refs: [plain], reuseKey: true }, true);
    expect([viaTrpc.status, viaTrpc.error?.data.pkiCode]).toEqual([422, 'renewal.key_reuse_not_allowed']);

    expect((await authority.certificates.list({ caId: issuingId, limit: 500 })).items).toHaveLength(before);
    for (const id of [ok, plain, notHeld]) {
      const { certificate, renewedBy } = await authority.certificates.get(id);
      expect([certificate.status, renewedBy]).toEqual(['active', []]);
    }
  });

  it('batch renew with reuseKey over REST: the new certificates have the old public keys (openssl)', async () => {
    const olds = [await leaf('a.reuse-key.example'), await leaf('b.reuse-key.example')];
    const started = await rest('POST', '/bulk/renew', { refs: olds, reuseKey: true, ttl: '10d' });
    expect(started.status, Buffer.from(started.bytes).toString()).toBe(201);
    const { job } = await finished((json(started) as BulkJobDto).id);
    expect(job).toMatchObject({ kind: 'renew', state: 'succeeded', total: 2, succeeded: 2, failed: 0 });
    const pairs = renewedPairs(job);
    expect(pairs.map(([o]) => o).sort()).toEqual([...olds].sort());
    for (const [oldId, newId] of pairs) {
      expect(newId).not.toBe(oldId);
      expect((await authority.certificates.find(newId)).renewedFrom).toBe(oldId);
      expect(await publicKey(newId)).toBe(await publicKey(oldId));
      await verifies(newId);
    }
    const [event] = await authority.audit.list({ action: 'certificate.batch_renew', limit: 1, order: 'desc' });
    expect(event).toMatchObject({ actor: tokenId, outcome: 'success', details: { reuseKey: true, succeeded: 2 } });
  });

  it('batch renew with reuseKey false over tRPC: a new key for each (openssl)', async () => {
    const old = await leaf('c.reuse-key.example');
    const started = await trpc('bulk.renew', { refs: [old], reuseKey: false }, true);
    expect(started.status, JSON.stringify(started.error)).toBe(200);
    const { job } = await finished(started.job!.id);
    expect(job).toMatchObject({ kind: 'renew', state: 'succeeded', succeeded: 1 });
    const [[oldId, newId]] = renewedPairs(job) as [readonly [string, string]];
    expect(oldId).toBe(old);
    expect(await publicKey(newId)).not.toBe(await publicKey(oldId));
    await verifies(newId);
  });
  it('a profile filter naming no profile and no certificate: 404 profile.not_found over REST and tRPC', async () => {
    const before = (await authority.certificates.list({ caId: issuingId, limit: 500 })).items.length;
    const typo = { profile: 'tls-servre' };
    for (const path of ['/bulk/renew', '/bulk/revoke', '/bulk/download']) {
      const r = await rest('POST', path, path === '/bulk/revoke' ? { ...typo, reason: 'superseded' } : typo);
      expect([path, r.status, json(r).code]).toEqual([path, 404, 'profile.not_found']);
      expect(json(r).message).toBe(
        "no certificate profile 'tls-servre', and no certificate carries that name: the filter would match nothing",
      );
    }
    const viaTrpc = await trpc('bulk.renew', typo, true);
    expect([viaTrpc.status, viaTrpc.error?.data.pkiCode]).toEqual([404, 'profile.not_found']);
    const listed = await rest('GET', '/certificates?profile=tls-servre');
    expect([listed.status, json(listed).code]).toEqual([404, 'profile.not_found']);
    const report = await rest('GET', '/certificates/export?format=csv&profile=tls-servre');
    expect([report.status, json(report).code]).toEqual([404, 'profile.not_found']);
    // a real profile that no certificate has yet: an empty listing, no error
    const unused = await rest('GET', '/certificates?profile=tls-client');
    expect([unused.status, json(unused).items]).toEqual([200, []]);

    // a profile deleted since still filters its certificates: they keep its name
    const gone = { ...BUILT_IN_PROFILES['tls-server'], name: 'bk-gone' };
    await authority.profileCatalog.create(gone, ACTORS.admin);
    const id = await leaf('gone.profile.example', 'bk-gone');
    await verifies(id);
    await authority.profileCatalog.delete('bk-gone', ACTORS.admin);
    const kept = await rest('GET', '/certificates?profile=bk-gone');
    expect([kept.status, json(kept).items.map((c: { id: string }) => c.id)]).toEqual([200, [id]]);
    // …and nothing matched besides it (a revoked one): an empty answer, not profile.not_found
    const none = await rest('GET', '/certificates?profile=bk-gone&status=revoked');
    expect([none.status, json(none).items]).toEqual([200, []]);
    const dl = await rest('POST', '/bulk/download', { profile: 'bk-gone' });
    expect(dl.status, Buffer.from(dl.bytes).toString()).toBe(201);
    const { job } = await finished((json(dl) as BulkJobDto).id);
    expect(job).toMatchObject({ kind: 'download', state: 'succeeded', total: 1, succeeded: 1 });
    expect((await authority.certificates.list({ caId: issuingId, limit: 500 })).items).toHaveLength(before + 1);
  });
});
