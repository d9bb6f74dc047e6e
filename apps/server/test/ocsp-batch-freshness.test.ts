// The OCSP front path answers the requests received together (one poll phase of the event loop) with ONE read of
// Store.otherCommits (`authority.ocsp.answersInMemory`, on SQLite a `PRAGMA data_version`), made after the last of
// them arrived (ocsp-fast-path.ts). Over real sockets written in one synchronous block, so the server reads them in one
// poll phase: the burst costs one read, not one per request; and a revocation committed by another connection (a
// second authority on the data dir: its own SQLite connection) between two bursts is in every answer of the second —
// a read kept past its batch answers "good". The server's clock stands still, so no clock window ends meanwhile. Every
// answer is checked by `openssl ocsp`.
import net from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { FastifyInstance } from 'fastify';
import { fixedClock } from '@pkim/shared';
import type { Authority } from '@pkim/authority';
import { internalsOf } from '@pkim/authority/internals';
import { opensslOcspRequest } from '../../../tests/support/verifiers';
import { buildServer } from '../src/build-server';
import { ACTORS, listen, openAuthorityFixture, type AuthorityFixture } from './server-test-support';
import { checked, ocspPki, statusOf, type OcspLeaf, type OcspPki } from './ocsp-test-support';

/** a keep-alive HTTP/1.1 connection: one request at a time, the answer's status line, content-type and body */
async function connection(port: number) {
  const socket = net.connect(port, '127.0.0.1');
  await new Promise<void>((resolve, reject) => socket.once('connect', resolve).once('error', reject));
  let buffered = Buffer.alloc(0);
  let waiter: ((a: { head: string; body: Buffer }) => void) | undefined;
  socket.on('data', (chunk: Buffer) => {
    buffered = Buffer.concat([buffered, chunk]);
    const end = buffered.indexOf('\r\n\r\n');
    if (end < 0 || !waiter) return;
    const head = buffered.subarray(0, end).toString('latin1');
    const length = Number(/\r\ncontent-length: (\d+)/i.exec(head)?.[1]);
    if (buffered.length < end + 4 + length) return;
    const body = buffered.subarray(end + 4, end + 4 + length);
    buffered = buffered.subarray(end + 4 + length);
    const w = waiter;
    waiter = undefined;
    w({ head, body });
  });
  return {
    /** writes the request now (synchronously, into the kernel's socket buffer); the answer arrives later */
    send(request: Buffer): Promise<{ head: string; body: Buffer }> {
      const answer = new Promise<{ head: string; body: Buffer }>((resolve) => (waiter = resolve));
      socket.write(request);
      return answer;
    },
    close: () => socket.destroy(),
  };
}

const postOf = (der: Uint8Array) =>
  Buffer.concat([
    Buffer.from(`POST /ocsp HTTP/1.1\r\nhost: t\r\ncontent-type: application/ocsp-request\r\n`),
    Buffer.from(`content-length: ${der.length}\r\n\r\n`),
    der,
  ]);
const getOf = (der: Uint8Array) =>
  Buffer.from(`GET /ocsp/${encodeURIComponent(Buffer.from(der).toString('base64'))} HTTP/1.1\r\nhost: t\r\n\r\n`);

describe('OCSP requests received together: one read of Store.otherCommits, made after they arrived (SQLite)', () => {
  let fx: AuthorityFixture;
  let authority: Authority;
  let second: Authority;
  let p: OcspPki;
  let app: FastifyInstance;
  let port: number;
  let conns: Awaited<ReturnType<typeof connection>>[] = [];
  /** reads of the server's Store.otherCommits */
  const reads = { n: 0 };
  const now = Date.now();

  beforeAll(async () => {
    fx = await openAuthorityFixture({ clock: fixedClock(now) });
    authority = fx.authority;
    p = await ocspPki(authority, 'batch', 3);
    second = await fx.openSecond({ clock: fixedClock(now) });
    const store = internalsOf(authority).store;
    const signal = Object.getOwnPropertyDescriptor(store, 'otherCommits')!;
    Object.defineProperty(store, 'otherCommits', {
      get: () => (reads.n++, signal.get!.call(store) as number),
      configurable: true,
    });
    app = await buildServer(authority, {
      logger: false,
      rateLimit: false,
      relyingPartyRateLimit: false,
      backgroundJobs: false,
      console: false,
    });
    port = Number(new URL(await listen(app)).port);
    for (let i = 0; i < 8; i++) conns.push(await connection(port));
  }, 60_000);
  afterAll(async () => {
    for (const c of conns) c.close();
    conns = [];
    await app?.close();
    await fx?.close();
  });

  /** one request per connection, all written in one synchronous block (POST on even ones, GET on odd ones) */
  async function burst(leaf: OcspLeaf) {
    const der = opensslOcspRequest({ issuerPem: p.issuingPem, leafPem: leaf.pem });
    const answers = await Promise.all(conns.map((c, i) => c.send(i % 2 ? getOf(der) : postOf(der))));
    return answers.map(({ head, body }) => {
      expect(head).toMatch(/^HTTP\/1\.1 200 /);
      expect(head).toMatch(/\r\ncontent-type: application\/ocsp-response\r\n/i);
      return statusOf(checked({ der: body, issuingPem: p.issuingPem, rootPem: p.rootPem, leafPem: leaf.pem }));
    });
  }

  it('answers a burst of requests for answers kept in memory with one read', async () => {
    const leaf = p.leaves[0]!;
    await burst(leaf); // the answer is kept in memory now (and every connection accepted and read once)
    await burst(leaf);
    const before = reads.n;
    expect(await burst(leaf)).toEqual(Array(8).fill('good'));
    expect(reads.n - before).toBe(1);
  }, 60_000);

  it("another connection's revocation between two bursts is in every answer of the second", async () => {
    for (const leaf of p.leaves.slice(1)) {
      expect(await burst(leaf)).toEqual(Array(8).fill('good'));
      expect(await burst(leaf)).toEqual(Array(8).fill('good')); // from memory
      await second.certificates.revoke(leaf.id, 'keyCompromise', ACTORS.admin); // its own SQLite connection
      expect(await burst(leaf)).toEqual(Array(8).fill('revoked'));
    }
  }, 60_000);
});
