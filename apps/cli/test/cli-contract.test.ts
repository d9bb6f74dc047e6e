// The CLI contract (issue #10 item 11, issue #11 items 4–5): --ttl/--out-cert/--cn aliases, CN → DNS SAN on TLS
// profiles, top-level id/serial in --json, commander's errors in the one form, --version, the requester's download.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { MAX_PATH_LEN, PATH_LEN_MESSAGE } from '@pkim/shared';
import { runPkim } from '../../../tests/support/cli-in-process';
import { opensslCsr, tempDir } from '../../../tests/support/openssl-tools';
import { opensslText, opensslVerify } from '../../../tests/support/verifiers';
import { contractViolations, RFC3339 } from '../../../tests/support/output-contract';

const HEX_SERIAL = /^[0-9a-f]{30,40}$/;
const lifetimeDays = (c: { notBefore: string; notAfter: string }) =>
  Math.round((Date.parse(c.notAfter) - Date.parse(c.notBefore)) / 86_400_000);

describe('pkim CLI contract', () => {
  const tmp = tempDir('pkim-cli-contract-');
  const dataDir = join(tmp.dir, 'data');
  const pkim = (...args: string[]) => runPkim(args, { dataDir });
  let rootPem: string;
  let intPem: string;

  beforeAll(() => {
    expect(pkim('init', '--json').code).toBe(0);
  });
  afterAll(() => tmp.cleanup());

  it('ca create --json: top-level id and serial (lowercase hex) beside the PEM', () => {
    const root = pkim('ca', 'create', '--name', 'c-root', '--subject', 'CN=C Root', '--key-type', 'ec-p256', '--json');
    expect(root.code, root.stderr).toBe(0);
    const r = root.json<{ id: string; serial: string; certificatePem: string }>();
    expect(r.id).toMatch(/^ca_/);
    expect(r.serial).toMatch(HEX_SERIAL);
    rootPem = r.certificatePem;
    const int = pkim('ca', 'create', '--name', 'c-int', '--parent', 'c-root', '--subject', 'CN=C Int', '--json');
    expect(int.code, int.stderr).toBe(0);
    intPem = int.json<{ certificatePem: string }>().certificatePem;
  });

  // one path-length limit for the CLI, the API and custom profiles (MAX_PATH_LEN, @pkim/shared)
  it('ca create --path-len: up to MAX_PATH_LEN taken, above it refused in one line, exit ≠ 0, nothing made', () => {
    const deep = pkim(
      'ca',
      'create',
      '--name',
      'deep',
      '--subject',
      'CN=Deep',
      '--key-type',
      'ec-p256',
      '--json',
      ...['--path-len', String(MAX_PATH_LEN)],
    );
    expect(deep.code, deep.stderr).toBe(0);
    expect(opensslText(deep.json<{ certificatePem: string }>().certificatePem)).toContain(
      `CA:TRUE, pathlen:${MAX_PATH_LEN}`,
    );
    const before = pkim('ca', 'list', '--json').stdout;
    const tooDeep = pkim(
      'ca',
      'create',
      '--name',
      'too-deep',
      '--subject',
      'CN=Too Deep',
      '--key-type',
      'ec-p256',
      ...['--path-len', String(MAX_PATH_LEN + 1)],
    );
    expect(tooDeep.code).not.toBe(0);
    expect(tooDeep.stderr.trim()).toBe(`error: input.invalid: ${PATH_LEN_MESSAGE}`);
    expect(pkim('ca', 'list', '--json').stdout).toBe(before);
  });

  it('cert issue --cn --ttl: the CN becomes the DNS SAN of a TLS profile; id and serial at the top', () => {
    const r = pkim('cert', 'issue', '--ca', 'c-int', '--cn', 'web.example.com', '--ttl', '30d', '--json');
    expect(r.code, r.stderr).toBe(0);
    const c = r.json<{ id: string; serial: string; sans: unknown; notBefore: string; notAfter: string }>();
    expect(c.id).toMatch(/^crt_/);
    expect(c.serial).toMatch(HEX_SERIAL);
    expect(c.sans).toEqual({ dns: ['web.example.com'] });
    expect(lifetimeDays(c)).toBe(30);
    // an explicit --san wins
    const withSan = pkim('cert', 'issue', '--ca', 'c-int', '--cn', 'a.example.com', '--san', 'b.example.com', '--json');
    expect(withSan.json<{ sans: unknown }>().sans).toEqual({ dns: ['b.example.com'] });
  });

  it('cert sign --ttl --out-cert: the file is written; id and serial at the top; --validity still works', () => {
    const { csrPem } = opensslCsr({
      keyType: 'ec-p256',
      subject: '/CN=sign.example.com',
      sans: ['DNS:sign.example.com'],
    });
    writeFileSync(join(tmp.dir, 's.csr'), csrPem);
    const out = join(tmp.dir, 's.pem');
    const r = pkim('cert', 'sign', '--ca', 'c-int', '--csr', join(tmp.dir, 's.csr'), '--ttl', '90d', '--out-cert', out);
    expect(r.code, r.stderr).toBe(0);
    const pem = readFileSync(out, 'utf8');
    const v = opensslVerify({ leafPem: pem, chainPems: [intPem], rootPem, purpose: 'sslserver' });
    expect(v.ok, v.output).toBe(true);
    expect(opensslText(pem)).toContain('DNS:sign.example.com');
    const j = pkim('cert', 'sign', '--ca', 'c-int', '--csr', join(tmp.dir, 's.csr'), '--validity', '10d', '--json');
    const c = j.json<{ id: string; serial: string; notBefore: string; notAfter: string }>();
    expect(c.serial).toMatch(HEX_SERIAL);
    expect(lifetimeDays(c)).toBe(10);
  });

  it("commander's own errors follow `error: <code>: <message>` with exit code 2; --version answers", () => {
    const missing = pkim('cert', 'issue', '--cn', 'x.example.com');
    expect(missing.code).toBe(2);
    expect(missing.stderr).toMatch(/^error: input\.invalid: required option '--ca <ca>' not specified/);
    expect(missing.stderr.trim().split('\n')).toHaveLength(1);
    const unknown = pkim('ca', 'list', '--bogus');
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toMatch(/^error: input\.invalid: unknown option '--bogus'/);
    const v = pkim('--version');
    expect(v.code).toBe(0);
    expect(v.stdout.trim()).toMatch(/^\d+\.\d+\.\d+/);
  });

  it('lifetimes are reported in the unit the user gave: 500d, not 12000h; an SSH CA of 16h', () => {
    const tooLong = pkim('cert', 'issue', '--ca', 'c-int', '--cn', 'long.example.com', '--ttl', '500d');
    expect(tooLong.code).toBe(5);
    expect(tooLong.stderr).toContain('lifetime 500d exceeds the profile maximum of 398d');
    const hours = pkim('cert', 'issue', '--ca', 'c-int', '--cn', 'long.example.com', '--ttl', '9601h');
    expect(hours.stderr).toContain('lifetime 9601h exceeds the profile maximum of 398d');
    // years as given, not as days (2y was '730d'); a profile maximum of whole years in years (25y, not 9125d)
    const years = pkim('cert', 'issue', '--ca', 'c-int', '--cn', 'long.example.com', '--ttl', '2y');
    expect(years.stderr).toContain('lifetime 2y exceeds the profile maximum of 398d');
    const root = pkim(
      'ca',
      'create',
      '--name',
      'y30',
      '--subject',
      'CN=y30',
      '--key-type',
      'ec-p256',
      '--validity',
      '30y',
    );
    expect(root.code).toBe(5);
    expect(root.stderr).toContain('lifetime 30y exceeds the profile maximum of 25y');
    const ssh = pkim('ssh', 'ca', 'create', '--name', 'u16', '--type', 'user', '--max-ttl', '16h');
    expect(ssh.code, ssh.stderr).toBe(0);
    const shown = pkim('ssh', 'ca', 'show', 'u16', '--json').json<{ maxTtl: string; defaultTtl: string }>();
    expect(shown.maxTtl).toBe('16h');
    const profile = pkim('profile', 'show', 'tls-server');
    expect(profile.stdout).toMatch(/default lifetime:\s+90d/);
    expect(profile.stdout).toMatch(/max lifetime:\s+398d/);
    // --json and GET /api/v1/profiles carry what the profile puts in a certificate, as the text does
    const tls = pkim('profile', 'show', 'tls-server', '--json').json<Record<string, unknown>>();
    expect(tls).toMatchObject({
      keyUsage: ['digitalSignature'],
      rsaKeyUsage: ['keyEncipherment'],
      extKeyUsage: ['serverAuth'],
      pathLen: null,
      allowKeyReuse: false,
      extensions: [],
    });
    const cas = pkim('profile', 'list', '--json').json<{ items: { name: string; pathLen: number | null }[] }>();
    expect(cas.items.filter((p) => p.name.endsWith('-ca')).map((p) => [p.name, p.pathLen])).toEqual([
      ['root-ca', null],
      ['intermediate-ca', 0],
    ]);
    expect(pkim('profile', 'show', 'intermediate-ca').stdout).toMatch(/path length:\s+0/);
  });

  it('request certificate <id>: the issued certificate and its chain; a pending request says so', () => {
    const { csrPem } = opensslCsr({
      keyType: 'ec-p256',
      subject: '/CN=req.example.com',
      sans: ['DNS:req.example.com'],
    });
    writeFileSync(join(tmp.dir, 'r.csr'), csrPem);
    const id = pkim(
      'request',
      'submit',
      '--ca',
      'c-int',
      '--csr',
      join(tmp.dir, 'r.csr'),
      '--ttl',
      '7d',
      '--json',
    ).json<{
      id: string;
      ttl: string;
    }>();
    expect(id.ttl).toBe('7d');
    const pending = pkim('request', 'certificate', id.id);
    expect(pending.code).toBe(4);
    expect(pending.stderr).toMatch(/^error: request\.not_issued: /);
    expect(pkim('request', 'approve', id.id).code).toBe(0);
    const got = pkim('request', 'certificate', id.id);
    expect(got.code, got.stderr).toBe(0);
    expect(got.stdout.match(/BEGIN CERTIFICATE/g)).toHaveLength(3);
  });

  it('--json of commands without a REST twin follows the output contract: RFC 3339 times, lists paged', () => {
    // the chain head after the commands above: a signed checkpoint (its time RFC 3339, as in `audit verify`)
    const checkpoint = pkim('audit', 'checkpoint', '--json');
    expect(checkpoint.code, checkpoint.stderr).toBe(0);
    const cp = checkpoint.json<{ seq: number; hash: string; time: unknown; source: string }>();
    expect(cp.time).toMatch(RFC3339);
    const verified = pkim('audit', 'verify', '--json').json<{ checkpoint: unknown }>();
    expect(verified.checkpoint).toEqual({ seq: cp.seq, hash: cp.hash, time: cp.time, source: cp.source });
    const found: Record<string, string[]> = {};
    for (const args of [
      ['audit', 'checkpoint'],
      ['audit', 'verify'],
      ['crl', 'generate', '--ca', 'c-int'],
      ['keystore', 'list'],
      ['keystore', 'events'],
    ]) {
      const r = pkim(...args, '--json');
      expect(r.code, `${args.join(' ')}: ${r.stderr}`).toBe(0);
      const wrong = contractViolations(r.json());
      if (wrong.length) found[args.join(' ')] = wrong;
    }
    expect(found).toEqual({});
  });
});
