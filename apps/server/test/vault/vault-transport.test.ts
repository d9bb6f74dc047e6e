// The Vault API transport: envelope, errors, LIST verb, parameter coercion, roles, auth tokens.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { once } from 'node:events';
import { connect } from 'node:net';
import { opensslVerify } from '../../../../tests/support/verifiers';
import { openVaultFixture, WEB_ROLE, rawHttp, vaultCall, type VaultFixture } from './vault-test-support';

/**
 * One connection: writes each step's bytes, then waits until the step's condition holds on everything received so
 * far (or, for a number, that many ms: the next bytes arrive in a packet of their own).
 */
async function rawHttpSteps(port: number, steps: [string, ((received: string) => boolean) | number][]) {
  const socket = connect(port, '127.0.0.1');
  await once(socket, 'connect');
  let received = '';
  let wake: () => void = () => undefined;
  socket.on('data', (d: Buffer) => {
    received += d.toString('latin1');
    wake();
  });
  socket.on('close', () => wake());
  try {
    for (const [bytes, until] of steps) {
      socket.write(bytes);
      if (typeof until === 'number') {
        await new Promise((r) => setTimeout(r, until));
        continue;
      }
      const deadline = Date.now() + 10_000;
      while (!until(received)) {
        if (socket.destroyed || Date.now() > deadline) throw new Error(`raw HTTP: received so far\n${received}`);
        await new Promise<void>((r) => {
          wake = r;
          setTimeout(r, 200);
        });
      }
    }
    return received;
  } finally {
    socket.destroy();
  }
}

const UUID_RE = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

let f: VaultFixture;
beforeAll(async () => {
  f = await openVaultFixture({}, { roles: { web: WEB_ROLE } });
}, 60_000);
afterAll(async () => f?.close());

describe('Vault transport conventions', () => {
  it('answers sys/health without a token as a bare JSON object', async () => {
    const r = await vaultCall(f, 'GET', 'sys/health', undefined, { token: null });
    expect(r.status).toBe(200);
    expect(r.headers.get('content-type')).toBe('application/json');
    expect(r.body).not.toHaveProperty('data');
    expect(r.body).toMatchObject({ initialized: true, sealed: false, standby: false });
    expect(Number.isInteger(r.body.server_time_utc)).toBe(true);
    expect(r.body.cluster_id).toMatch(UUID_RE);
  });

  it('wraps JSON answers in the Vault envelope with exactly application/json', async () => {
    const r = await vaultCall(f, 'GET', 'pki/roles/web');
    expect(r.status).toBe(200);
    expect(r.headers.get('content-type')).toBe('application/json');
    expect(r.body.request_id).toMatch(UUID_RE);
    expect(r.body).toMatchObject({ lease_id: '', renewable: false, lease_duration: 0, wrap_info: null, auth: null });
    expect(r.body.warnings).toBeNull();
  });

  it('refuses a missing or bad token with 403 permission denied, and accepts Bearer', async () => {
    for (const token of [null, 'pkim_not-a-token', 'hvs.whatever']) {
      const r = await vaultCall(f, 'GET', 'pki/roles/web', undefined, { token });
      expect(r.status).toBe(403);
      expect(r.body).toEqual({ errors: ['permission denied'] });
    }
    const bearer = await vaultCall(f, 'GET', 'pki/roles/web', undefined, {
      token: null,
      headers: { authorization: `Bearer ${f.token}` },
    });
    expect(bearer.status).toBe(200);
  });

  it('answers unknown paths 404 and unsupported operations 405', async () => {
    const nope = await vaultCall(f, 'GET', 'pki/nope-path');
    expect(nope.status).toBe(404);
    expect(nope.body.errors[0]).toMatch(/unsupported path/);
    const noMount = await vaultCall(f, 'GET', 'kv/data/x');
    expect(noMount.status).toBe(404);
    expect(noMount.body.errors.length).toBe(1);
    const del = await vaultCall(f, 'DELETE', 'pki/revoke');
    expect(del.status).toBe(405);
    expect(del.body.errors[0]).toMatch(/unsupported operation/);
  });

  it('lists with ?list=true and ?list=1, with and without trailing slash', async () => {
    const a = await vaultCall(f, 'GET', 'pki/roles?list=true');
    const b = await vaultCall(f, 'GET', 'pki/roles/?list=1');
    expect(a.status).toBe(200);
    expect(a.body.data.keys).toContain('web');
    expect(b.body.data.keys).toEqual(a.body.data.keys);
  });

  it('answers an empty LIST with 404 {"errors":[]}', async () => {
    await f.authority.vault.mounts.mount({ path: 'pki2', ca: f.caId }, { id: 'usr_admin0', role: 'admin' });
    const r = await vaultCall(f, 'GET', 'pki2/roles?list=true');
    expect(r.status).toBe(404);
    expect(r.text).toBe('{"errors":[]}');
  });

  it('accepts the raw LIST verb on a keep-alive connection followed by a GET and a POST', async () => {
    const body = JSON.stringify({ note: 'LIST /v1/pki/roles HTTP/1.1 inside a body is just data' });
    const payload =
      `LIST /v1/pki/roles HTTP/1.1\r\nHost: x\r\nX-Vault-Token: ${f.token}\r\n\r\n` +
      `POST /v1/pki/roles/raw HTTP/1.1\r\nHost: x\r\nX-Vault-Token: ${f.token}\r\n` +
      `Content-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}` +
      `LIST /v1/pki/roles/?after=a HTTP/1.1\r\nHost: x\r\nX-Vault-Token: ${f.token}\r\n\r\n` +
      `GET /v1/sys/health HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n`;
    const out = await rawHttp(
      f.port,
      payload,
      (s) => (s.match(/HTTP\/1\.1 /g) ?? []).length >= 4 && s.includes('"initialized":true'),
    );
    const statuses = [...out.matchAll(/HTTP\/1\.1 (\d{3})/g)].map((m) => Number(m[1]));
    expect(statuses).toEqual([200, 200, 200, 200]);
    const bodies = [...out.matchAll(/\{"request_id".*?"auth":null\}/g)].map((m) => JSON.parse(m[0]));
    expect(bodies[0].data.keys).toContain('web');
    expect(bodies[1].data.allow_localhost).toBe(true); // the POST reached its route with its body intact
    expect(bodies[2].data.keys).toContain('web');
    // pipelined requests may run concurrently: check the POST's effect afterwards
    expect((await vaultCall(f, 'GET', 'pki/roles?list=true')).body.data.keys).toContain('raw');
  });

  // Node parses a connection alone until it refuses a LIST; the connection is then taken over (list-verb-shim.ts)
  it('accepts LIST after an answered request, pipelined behind a GET, and split across two packets', async () => {
    const list = `LIST /v1/pki/roles HTTP/1.1\r\nHost: x\r\nX-Vault-Token: ${f.token}\r\n\r\n`;
    const health = 'GET /v1/sys/health HTTP/1.1\r\nHost: x\r\n\r\n';
    const answers = (s: string) => (s.match(/HTTP\/1\.1 /g) ?? []).length;
    const kinds = (out: string) =>
      out.split(/(?=HTTP\/1\.1 )/).map((p) => {
        const status = /^HTTP\/1\.1 (\d{3})/.exec(p)?.[1];
        return `${status} ${p.includes('"initialized":true') ? 'health' : /"keys":\[[^\]]*"web"/.test(p) ? 'list' : p}`;
      });
    // each connection is taken over at its first LIST (a different path each), then stays with the shim
    const afterAnswered = await rawHttpSteps(f.port, [
      [health, (s) => answers(s) === 1 && s.includes('"initialized":true')],
      [list + health, (s) => answers(s) === 3 && s.includes('"initialized":true', s.indexOf('"keys"'))],
      [list, (s) => answers(s) === 4 && s.endsWith('"auth":null}')],
    ]);
    expect(kinds(afterAnswered)).toEqual(['200 health', '200 list', '200 health', '200 list']);
    // behind a slower request (an RSA key generated): the LIST answer must still come second
    const issue = JSON.stringify({ common_name: 'pipelined.example.com', ttl: '1h' });
    const slow =
      `POST /v1/pki/issue/web HTTP/1.1\r\nHost: x\r\nX-Vault-Token: ${f.token}\r\n` +
      `Content-Type: application/json\r\nContent-Length: ${issue.length}\r\n\r\n${issue}`;
    const pipelined = await rawHttpSteps(f.port, [
      [slow + list + health, (s) => answers(s) === 3 && s.includes('"initialized":true', s.indexOf('"keys"'))],
    ]);
    const issued = JSON.parse(/\{"request_id".*?"auth":null\}/.exec(pipelined)![0]) as {
      data: { certificate: string; ca_chain: string[] };
    };
    const verified = opensslVerify({
      leafPem: `${issued.data.certificate}\n`,
      chainPems: issued.data.ca_chain,
      rootPem: f.rootPem,
      hostname: 'pipelined.example.com',
    });
    expect(verified.ok, verified.output).toBe(true);
    expect(kinds(pipelined).map((k) => (k.includes('"private_key"') ? '200 issue' : k))).toEqual([
      '200 issue',
      '200 list',
      '200 health',
    ]);
    const split = await rawHttpSteps(f.port, [
      ['LI', 50],
      [list.slice(2), (s) => answers(s) === 1 && s.endsWith('"auth":null}')],
    ]);
    expect(kinds(split)).toEqual(['200 list']);
    // a LIST request line that is not `LIST <target> HTTP/1.x` is still refused, on a connection taken over or not
    const bad = await rawHttpSteps(f.port, [['LIST  HTTP/1.1\r\nHost: x\r\n\r\n', (s) => s.includes('400')]]);
    expect(bad).toMatch(/^HTTP\/1\.1 400 /);
  });
});

describe('Vault parameter coercion and roles', () => {
  it('coerces string-valued fields by type', async () => {
    const w = await vaultCall(f, 'POST', 'pki/roles/str', {
      allow_any_name: 'true',
      key_bits: '4096',
      ttl: '30d',
      max_ttl: '720h',
      allowed_domains: 'a.com, b.com',
    });
    expect(w.status, w.text).toBe(200);
    const r = await vaultCall(f, 'GET', 'pki/roles/str');
    expect(r.body.data).toMatchObject({
      allow_any_name: true,
      key_bits: 4096,
      ttl: 2592000,
      max_ttl: 2592000,
      allowed_domains: ['a.com', 'b.com'],
    });
  });

  it('refuses 1d12h and accepts integer seconds as number or string', async () => {
    expect((await vaultCall(f, 'POST', 'pki/roles/d', { ttl: '1d12h' })).status).toBe(400);
    for (const ttl of [3600, '3600']) {
      await vaultCall(f, 'POST', 'pki/roles/d', { ttl });
      expect((await vaultCall(f, 'GET', 'pki/roles/d')).body.data.ttl).toBe(3600);
    }
  });

  it('reads a role with every Vault default', async () => {
    const r = await vaultCall(f, 'GET', 'pki/roles/web');
    expect(r.body.data).toMatchObject({
      allow_localhost: true,
      allow_ip_sans: true,
      server_flag: true,
      client_flag: true,
      key_type: 'rsa',
      key_bits: 2048,
      use_csr_common_name: true,
      use_csr_sans: true,
      require_cn: true,
      enforce_hostnames: true,
      key_usage: ['DigitalSignature', 'KeyAgreement', 'KeyEncipherment'],
      not_before_duration: 30,
      no_store: false,
      generate_lease: false,
      max_ttl: 259200,
    });
  });

  it('answers a missing role 404 {"errors":[]} and deletes idempotently with 204', async () => {
    const r = await vaultCall(f, 'GET', 'pki/roles/missing');
    expect(r.status).toBe(404);
    expect(r.text).toBe('{"errors":[]}');
    const d = await vaultCall(f, 'DELETE', 'pki/roles/missing');
    expect(d.status).toBe(204);
    expect(d.text).toBe('');
  });

  it('refuses role fields PKI Manager cannot honour with 400', async () => {
    for (const body of [{ key_type: 'ec', key_bits: 521 }, { key_usage: 'Bogus' }, { ttl: '2h', max_ttl: '1h' }]) {
      const r = await vaultCall(f, 'POST', 'pki/roles/bad', body);
      expect(r.status, JSON.stringify(body)).toBe(400);
      expect(r.body.errors[0]).toBeTruthy();
    }
    expect((await vaultCall(f, 'GET', 'pki/roles/bad')).status).toBe(404);
  });

  it('looks up the token itself', async () => {
    const r = await vaultCall(f, 'GET', 'auth/token/lookup-self');
    expect(r.status).toBe(200);
    expect(r.body.data.id).toBe(f.token);
    expect(Array.isArray(r.body.data.policies)).toBe(true);
    expect(Number.isInteger(r.body.data.ttl)).toBe(true);
    expect((await vaultCall(f, 'GET', 'auth/token/lookup-self', undefined, { token: 'pkim_bad' })).status).toBe(403);
  });

  it('mounts a PKI engine with POST sys/mounts/<path> (204), refuses the same path again (400), lists it', async () => {
    const body = { type: 'pki', config: { max_lease_ttl: '87600h' }, options: { ca: f.caId } };
    const created = await vaultCall(f, 'POST', 'sys/mounts/pki3', body);
    expect(created.status).toBe(204);
    const again = await vaultCall(f, 'POST', 'sys/mounts/pki3', body);
    expect(again.status).toBe(400);
    expect(again.body.errors[0]).toEqual(expect.any(String));
    const r = await vaultCall(f, 'GET', 'sys/mounts');
    expect(r.body.data['pki3/'].type).toBe('pki');
  });

  it('reports mounts like Vault (map keyed by path/, repeated at the top level)', async () => {
    const r = await vaultCall(f, 'GET', 'sys/mounts');
    expect(r.body.data['pki/']).toMatchObject({ type: 'pki', config: { max_lease_ttl: 87600 * 3600 } });
    expect(r.body['pki/'].type).toBe('pki');
  });
});
