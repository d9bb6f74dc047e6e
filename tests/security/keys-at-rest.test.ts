// Keys at rest: after creating software CAs (RSA and EC, root and intermediate) and issuing certificates with
// server-generated keys (RSA and EC), no private key is anywhere in clear — not in the SQLite file, not in its WAL
// (scanned before any checkpoint), not in a plain `pg_dump` of a PostgreSQL database, not in a `pkim backup` file
// (SQLite online backup; PostgreSQL custom dump expanded by pg_restore), not in the debug log. The needles are every
// private key the test can obtain — the CA keys decrypted from `key_blobs` with the master key (which proves the
// test looks for the right bytes), the generated leaf keys returned once by the API — in every form a leak could
// take: PKCS#8 and PKCS#1/SEC1 DER, the PEM text, the raw private scalar and RSA primes/exponents as bytes, hex and
// base64url (JWK), plus the key-encryption key itself, an API token secret, a user password and an ACME external
// account binding HMAC key. Positive control: the same scan finds a key written in clear on purpose (in the WAL
// first, then in the file after a checkpoint).
import { execFileSync } from 'node:child_process';
import { createDecipheriv, createPrivateKey, randomBytes } from 'node:crypto';
import { existsSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import pg from 'pg';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createAuthority, type Actor, type Authority } from '@pkim/authority';
import { softwareBlobAad, type SoftwareKeyBlob } from '@pkim/keys';
import { runPkim } from '../support/cli-in-process';
import { tempDir } from '../support/openssl-tools';
import { createIssuingCa, createRootCa } from '../support/ca-kit';
import { findPostgresBinDir, startPostgres, type TestPostgres } from '../support/postgres';

const ADMIN: Actor = { id: 'usr_keys_admin', name: 'alice', role: 'admin' };
const FAST_SCRYPT = { N: 1024, r: 8, p: 1, keyLength: 32, saltLength: 16 };
const PASSWORD = 'a password that must never be stored 7';

interface Needle {
  what: string;
  bytes: Buffer;
}

/** Every encoding of one private key a leak could take. */
function keyNeedles(name: string, pem: string): Needle[] {
  const key = createPrivateKey(pem);
  const pkcs8 = key.export({ type: 'pkcs8', format: 'der' });
  const pkcs8Pem = key.export({ type: 'pkcs8', format: 'pem' }).toString();
  const out: Needle[] = [
    { what: `${name} PKCS#8 DER`, bytes: pkcs8 },
    { what: `${name} PKCS#8 DER base64`, bytes: Buffer.from(pkcs8.toString('base64')) },
    // the first line of the PEM body: the start of the DER, aligned as every PEM writer aligns it
    { what: `${name} PKCS#8 PEM line`, bytes: Buffer.from(pkcs8Pem.split('\n')[1]!) },
  ];
  if (key.asymmetricKeyType === 'rsa' || key.asymmetricKeyType === 'ec') {
    const type = key.asymmetricKeyType === 'rsa' ? 'pkcs1' : 'sec1';
    const der = key.export({ type, format: 'der' });
    const legacyPem = key.export({ type, format: 'pem' }).toString();
    out.push(
      { what: `${name} ${type} DER`, bytes: der },
      { what: `${name} ${type} PEM line`, bytes: Buffer.from(legacyPem.split('\n')[1]!) },
    );
  }
  const jwk = key.export({ format: 'jwk' });
  for (const part of ['d', 'p', 'q', 'dp', 'dq', 'qi'] as const) {
    const v = jwk[part];
    if (typeof v !== 'string') continue;
    const raw = Buffer.from(v, 'base64url');
    out.push(
      { what: `${name} ${part} raw`, bytes: raw },
      { what: `${name} ${part} hex`, bytes: Buffer.from(raw.toString('hex')) },
      { what: `${name} ${part} HEX`, bytes: Buffer.from(raw.toString('hex').toUpperCase()) },
      { what: `${name} ${part} base64url`, bytes: Buffer.from(v) },
      { what: `${name} ${part} base64`, bytes: Buffer.from(raw.toString('base64')) },
    );
  }
  return out;
}

function secretNeedles(what: string, secret: Buffer | string): Needle[] {
  const b = Buffer.isBuffer(secret) ? secret : Buffer.from(secret);
  return [
    { what: `${what} raw`, bytes: b },
    { what: `${what} hex`, bytes: Buffer.from(b.toString('hex')) },
    { what: `${what} base64`, bytes: Buffer.from(b.toString('base64')) },
  ];
}

/** Names every needle found in `haystack` (and any PEM private key header at all). */
function scan(haystack: Buffer, needles: Needle[]): string[] {
  const found = needles.filter((n) => haystack.includes(n.bytes)).map((n) => n.what);
  if (haystack.includes('PRIVATE KEY-----')) found.push('a PEM "PRIVATE KEY" block');
  return found;
}

/** The CA keys of the software backend, decrypted from the key_blobs rows with the master key (AES-256-GCM). */
function decryptBlobs(rows: { id: string; data: string }[], kek: Buffer): string[] {
  const keys: string[] = [];
  for (const row of rows) {
    const blob = JSON.parse(row.data) as SoftwareKeyBlob & { ct?: string };
    if (!blob.ct || blob.alg !== 'A256GCM') continue; // the KEK check record
    const d = createDecipheriv('aes-256-gcm', kek, Buffer.from(blob.iv, 'base64'), { authTagLength: 16 });
    d.setAAD(softwareBlobAad(row.id, blob));
    d.setAuthTag(Buffer.from(blob.tag, 'base64'));
    const pkcs8 = Buffer.concat([d.update(Buffer.from(blob.ct, 'base64')), d.final()]);
    keys.push(
      createPrivateKey({ key: pkcs8, format: 'der', type: 'pkcs8' })
        .export({ type: 'pkcs8', format: 'pem' })
        .toString(),
    );
  }
  return keys;
}

/** Software CAs (RSA root, EC intermediate, EC P-384 root) + leaves with generated RSA and EC keys, a token, a user. */
async function populate(a: Authority): Promise<{ leafKeys: string[]; tokenSecret: string; eabHmacKey: string }> {
  const actor = ADMIN;
  const root = await createRootCa(a, 'rest-root-rsa', {
    subject: { commonName: 'Keys At Rest RSA Root' },
    keyType: 'rsa-2048',
    actor,
  });
  const int = await createIssuingCa(a, root, 'rest-int-ec', {
    subject: { commonName: 'Keys At Rest EC Issuing' },
    actor,
  });
  await createRootCa(a, 'rest-root-p384', { subject: { commonName: 'Keys At Rest P-384' }, keyType: 'ec-p384', actor });
  const leafKeys: string[] = [];
  for (const [caId, keyType] of [
    [int.id, 'ec-p256'],
    [int.id, 'rsa-2048'],
    [root.id, 'ec-p384'],
  ] as const) {
    const issued = await a.issuance.issueWithKey(
      {
        caId,
        profile: 'tls-server',
        subject: { commonName: `${keyType}.rest.example` },
        sans: { dns: [`${keyType}.rest.example`] },
        keyType,
      },
      ADMIN,
    );
    expect(issued.privateKeyPem).toMatch(/^-----BEGIN PRIVATE KEY-----/);
    leafKeys.push(issued.privateKeyPem!);
  }
  await a.auth.createUser({ username: 'rest-user', password: PASSWORD, role: 'operator' }, ADMIN);
  const { token } = await a.auth.createToken({ name: 'rest-token', role: 'operator' }, ADMIN);
  // an ACME external account binding key: the HMAC key must be sealed at rest like the CA keys
  await a.acme.enable({ ca: int.id, requireEab: true, allowDns: ['*.rest.example'] }, ADMIN);
  const eab = await a.acme.createEabKey(int.id, ADMIN);
  expect(eab.hmacKey).toMatch(/^[A-Za-z0-9_-]{43}$/);
  return { leafKeys, tokenSecret: token, eabHmacKey: eab.hmacKey };
}

function needlesFor(
  caKeys: string[],
  leafKeys: string[],
  kek: Buffer,
  tokenSecret: string,
  eabHmacKey: string,
): Needle[] {
  return [
    ...caKeys.flatMap((k, i) => keyNeedles(`CA key #${i + 1}`, k)),
    ...leafKeys.flatMap((k, i) => keyNeedles(`generated leaf key #${i + 1}`, k)),
    ...secretNeedles('master key (KEK)', kek),
    ...secretNeedles('API token secret', tokenSecret),
    ...secretNeedles('user password', PASSWORD),
    { what: 'ACME EAB HMAC key base64url', bytes: Buffer.from(eabHmacKey) },
    ...secretNeedles('ACME EAB HMAC key bytes', Buffer.from(eabHmacKey, 'base64url')),
  ];
}

describe('keys at rest: no private key in clear in the database, its WAL, dumps, backups or logs', () => {
  describe('SQLite', () => {
    const tmp = tempDir('pkim-keys-at-rest-');
    const logFile = join(tmp.dir, 'debug.log');
    let a: Authority;
    let needles: Needle[];
    let leafKeys: string[];
    const db = () => join(tmp.dir, 'pkim.db');

    beforeAll(async () => {
      const logger = pino({ level: 'trace' }, pino.destination({ dest: logFile, sync: true }));
      a = await createAuthority({ dataDir: tmp.dir, logger, auth: { scrypt: FAST_SCRYPT } });
      const p = await populate(a);
      leafKeys = p.leafKeys;
      const kek = Buffer.from(readFileSync(join(tmp.dir, 'master.key'), 'utf8').trim(), 'base64');
      expect(kek.length).toBe(32);
      const reader = new Database(db(), { readonly: true });
      const caKeys = decryptBlobs(reader.prepare('SELECT id, data FROM key_blobs').all() as never, kek);
      reader.close();
      expect(caKeys.length).toBeGreaterThanOrEqual(3); // the three CA keys, decrypted: the needles are the real keys
      needles = needlesFor(caKeys, leafKeys, kek, p.tokenSecret, p.eabHmacKey);
    });
    afterAll(async () => {
      await a?.close().catch(() => undefined);
      tmp.cleanup();
    });

    it('every needle is findable by the scan (each encoding, embedded in random bytes)', () => {
      for (const n of needles) {
        const hay = Buffer.concat([randomBytes(997), n.bytes, randomBytes(1009)]);
        expect(scan(hay, [n]), n.what).toEqual([n.what]);
      }
    });

    it('finds nothing in the database file, the WAL before checkpoint, a pkim backup file or the debug log', () => {
      const wal = `${db()}-wal`;
      expect(existsSync(wal) && statSync(wal).size > 0, 'the WAL holds the recent writes').toBe(true);
      expect(scan(readFileSync(db()), needles)).toEqual([]);
      expect(scan(readFileSync(wal), needles)).toEqual([]);
      const out = join(tmp.dir, 'backup.db');
      const r = runPkim(['backup', '--out', out, '--json'], { dataDir: tmp.dir });
      expect(r.code, r.stderr).toBe(0);
      expect(r.json().contents.cas).toBe(3);
      expect(scan(readFileSync(out), needles)).toEqual([]);
      expect(statSync(logFile).size).toBeGreaterThan(0);
      expect(scan(readFileSync(logFile), needles)).toEqual([]);
    });

    it('positive control: a key written in clear on purpose is found in the WAL, then in the file and a backup', () => {
      const leak = new Database(db());
      leak.prepare('INSERT INTO settings (key, value) VALUES (?, ?)').run('leak-on-purpose', leafKeys[1]!);
      expect(scan(readFileSync(`${db()}-wal`), needles)).toEqual(
        expect.arrayContaining(['generated leaf key #2 PKCS#8 PEM line', 'a PEM "PRIVATE KEY" block']),
      );
      leak.pragma('wal_checkpoint(TRUNCATE)');
      leak.close();
      expect(scan(readFileSync(db()), needles)).toContain('generated leaf key #2 PKCS#8 PEM line');
      const out = join(tmp.dir, 'backup-leaky.db');
      expect(runPkim(['backup', '--out', out], { dataDir: tmp.dir }).code).toBe(0);
      expect(scan(readFileSync(out), needles)).toContain('generated leaf key #2 PKCS#8 PEM line');
    });
  });

  describe('PostgreSQL', () => {
    const tmp = tempDir('pkim-keys-at-rest-pg-');
    let cluster: TestPostgres;
    let url: string;
    let a: Authority;
    let needles: Needle[];
    let leafKeys: string[];
    const pgDump = (args: string[]) =>
      execFileSync(join(findPostgresBinDir(), 'pg_dump'), args, { maxBuffer: 256 * 1024 * 1024 });
    const query = async (sql: string, params: unknown[] = []) => {
      const c = new pg.Client({ connectionString: url });
      await c.connect();
      try {
        return (await c.query(sql, params)).rows as Record<string, string>[];
      } finally {
        await c.end();
      }
    };

    beforeAll(async () => {
      cluster = await startPostgres();
      url = await cluster.createDatabase();
      a = await createAuthority({
        dataDir: tmp.dir,
        databaseUrl: url,
        logger: pino({ level: 'silent' }),
        auth: { scrypt: FAST_SCRYPT },
      });
      const p = await populate(a);
      leafKeys = p.leafKeys;
      const kek = Buffer.from(readFileSync(join(tmp.dir, 'master.key'), 'utf8').trim(), 'base64');
      const caKeys = decryptBlobs((await query('SELECT id, data FROM key_blobs')) as never, kek);
      expect(caKeys.length).toBeGreaterThanOrEqual(3);
      needles = needlesFor(caKeys, leafKeys, kek, p.tokenSecret, p.eabHmacKey);
    }, 120_000);
    afterAll(async () => {
      await a?.close().catch(() => undefined);
      await cluster?.stop();
      tmp.cleanup();
    });

    it('finds nothing in a plain pg_dump nor in a pkim backup (custom format, expanded by pg_restore)', () => {
      const dump = pgDump(['--dbname', url, '--format', 'plain']);
      expect(dump.includes('key_blobs')).toBe(true);
      expect(scan(dump, needles)).toEqual([]);
      const out = join(tmp.dir, 'backup.dump');
      const r = runPkim(['backup', '--out', out, '--json'], { dataDir: tmp.dir, env: { PKIM_DATABASE_URL: url } });
      expect(r.code, r.stderr).toBe(0);
      expect(r.json().format).toBe('pg_dump-custom');
      const expanded = execFileSync(join(findPostgresBinDir(), 'pg_restore'), ['--file', '-', out], {
        maxBuffer: 256 * 1024 * 1024,
      });
      expect(expanded.includes('key_blobs')).toBe(true);
      expect(scan(expanded, needles)).toEqual([]);
    });

    it('positive control: a key written in clear on purpose is found by the same scan of pg_dump', async () => {
      await query('INSERT INTO settings (key, value) VALUES ($1, $2)', ['leak-on-purpose', leafKeys[0]!]);
      expect(scan(pgDump(['--dbname', url, '--format', 'plain']), needles)).toContain(
        'generated leaf key #1 PKCS#8 PEM line',
      );
    });
  });
});
