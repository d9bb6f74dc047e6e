// Remote mode beyond the first flow (issue #17 item 2): CA status and URLs, truststore, requests with approval,
// certificate renew and export, profiles, API tokens, users and notification rules run once on a local data
// directory and once through a `pkim serve` (--server/--token); every step's `--json` must have the same fields and
// values, ids, serials, secrets and times aside, and the same exit code. What the server made is checked by openssl.
import { describe, expect, it } from 'vitest';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { runPkim, type CliResult } from '../../../tests/support/cli-in-process';
import { opensslCsr, tempDir } from '../../../tests/support/openssl-tools';
import { opensslVerify } from '../../../tests/support/verifiers';
import {
  bothModesSuite,
  comparableShape,
  expectSameSteps,
  stepRecorder,
  type CliStep,
} from '../../../tests/support/remote-server';

const tmp = tempDir('pkim-remote-admin-');
const file = (name: string) => join(tmp.dir, name);
const XDG = { XDG_CONFIG_HOME: file('xdg') };

/** secrets and values that name the caller (a local operator vs a token) differ by design */
const VOLATILE = [
  'token',
  'password',
  'secret',
  'expiresAt',
  'lastUsedAt',
  'secretOverlapUntil',
  'requester',
  'reviewer',
  'reviewedAt',
  'certificateId',
  'bytes',
  'csr',
  'fingerprint_sha256',
  'not_before',
  'not_after',
  'ca_id',
  'issued_by',
];
const shape = (v: unknown): unknown => comparableShape(v, tmp.dir, VOLATILE);

type Pkim = (...args: string[]) => Promise<CliResult>;
type Step = CliStep;

/** the same commands in either mode; each step's exit code and --json output (stdout, or the error on stderr) */
async function flow(pkim: Pkim, dir: string): Promise<Record<string, Step>> {
  mkdirSync(dir, { recursive: true });
  const { steps, run } = stepRecorder(pkim);
  const f = (name: string) => join(dir, name);
  writeFileSync(f('password'), 'a long enough password 1\n');
  writeFileSync(f('secret'), 'webhook-secret-0123456789\n');
  writeFileSync(f('secret2'), 'webhook-secret-abcdefghij\n');
  const { csrPem } = opensslCsr({ keyType: 'ec-p256', subject: '/CN=req.example.com', sans: ['DNS:req.example.com'] });
  writeFileSync(f('req.csr'), csrPem);

  await run('ca create', 'ca create --name adm-root --subject CN=Admin-Root,O=Example --key-type ec-p256');
  await run('ca set-urls', 'ca set-urls adm-root --base http://pki.example.test');
  // what a leaf asked past the CA's end gets: set, shown (text too), a bad value refused with nothing changed, back
  await run('ca set-leaf-not-after', 'ca set-leaf-not-after adm-root truncate');
  await run('ca set-leaf-not-after bad', 'ca set-leaf-not-after adm-root forever');
  await run('ca show after leaf-not-after', 'ca show adm-root');
  const leafText = await pkim('ca', 'show', 'adm-root');
  // the text names it (locally `leaf past CA end:`, remotely the generic `leafNotAfterBehavior:`)
  const leafLine = /^(leaf past CA end|leafNotAfterBehavior):\s+truncate$/m.test(leafText.stdout);
  steps['ca show leaf-not-after text'] = { code: leafText.code, json: leafLine };
  await run('ca set-leaf-not-after back', 'ca set-leaf-not-after adm-root err');
  await run('ca disable', 'ca disable adm-root');
  await run('ca disabled refuses', 'cert issue --ca adm-root --cn x.example.com');
  await run('ca enable', 'ca enable adm-root');
  await run('ca truststore', `ca truststore adm-root --format pem --out ${f('trust.pem')}`);
  await run('profile list', 'profile list');
  await run('profile show', 'profile show tls-server');
  await run('profile show unknown', 'profile show no-such-profile');
  // the text (no --json): the lists too — key usage, extended key usage, SAN types, key types
  for (const name of ['tls-server', 'intermediate-ca']) {
    const shown = await pkim('profile', 'show', name);
    steps[`profile show ${name} text`] = { code: shown.code, json: shown.stdout };
  }
  // a custom profile made, changed and deleted from a file (kept in the database); refusals with their codes
  const lab = {
    name: 'adm-lab',
    isCa: false,
    keyUsage: ['digitalSignature'],
    extKeyUsage: ['clientAuth'],
    allowedSanTypes: ['dns'],
    sanRequired: false,
    allowedKeyTypes: ['ec-p256'],
    defaultLifetime: '7d',
    maxLifetime: '30d',
  };
  writeFileSync(f('lab.json'), JSON.stringify(lab));
  // the update sets the SAN rules the summary carries and `profile show` prints when set
  const sanRules = {
    requiredSanTypes: ['dns'],
    allowedUriSchemes: ['spiffe'],
    maxUriSans: 1,
    maxSans: 5,
    maxSanBytes: 200,
  };
  writeFileSync(
    f('lab2.json'),
    JSON.stringify({ ...lab, extKeyUsage: ['serverAuth'], defaultLifetime: '2d', ...sanRules }),
  );
  writeFileSync(f('builtin.json'), JSON.stringify({ ...lab, name: 'tls-server' }));
  writeFileSync(f('notjson.json'), '{ name: adm-lab');
  await run('profile create', `profile create --file ${f('lab.json')}`);
  await run('profile create again', `profile create --file ${f('lab.json')}`);
  await run('profile create built-in', `profile create --file ${f('builtin.json')}`);
  await run('profile create not json', `profile create --file ${f('notjson.json')}`);
  await run('profile update', `profile update adm-lab --file ${f('lab2.json')}`);
  await run('profile update built-in', `profile update tls-server --file ${f('lab2.json')}`);
  await run('profile show adm-lab', 'profile show adm-lab');
  const labText = await pkim('profile', 'show', 'adm-lab');
  steps['profile show adm-lab text'] = { code: labText.code, json: labText.stdout };
  await run('profile issue', 'cert issue --ca adm-root --cn lab.example.com --san lab.example.com --profile adm-lab');
  await run('profile delete', 'profile delete adm-lab');
  await run('profile delete again', 'profile delete adm-lab');
  // 2-character CA and profile names, as local mode takes them (a ref of 3 characters at least was refused remotely)
  await run('ca create ab', `ca create --name ab --subject CN=AB --key-type ec-p256 --out ${f('ab.pem')}`);
  await run('ca show ab', 'ca show ab');
  // a rename (`ca.renamed`) and back; a name taken and a bad name: refused, nothing changed
  await run('ca rename', 'ca rename adm-root adm-root-2');
  await run('ca rename taken', 'ca rename adm-root-2 ab');
  await run('ca rename bad', 'ca rename adm-root-2 bad/name');
  await run('ca rename back', 'ca rename adm-root-2 adm-root');
  await run('cert issue from ab', `cert issue --ca ab --cn two.example.com --out-cert ${f('two.pem')}`);
  await run('profile show xy', 'profile show xy');
  // the inventory report (remotely: GET /api/v1/certificates/export), as JSON on stdout and as a CSV file
  await run('cert list json report', 'cert list --ca ab --format json');
  await run('cert list csv report', `cert list --ca ab --format csv --out ${f('inventory.csv')}`);
  // requests: submit → approve, submit → reject (twice: refused)
  const submitted = await run('request submit', `request submit --ca adm-root --csr ${f('req.csr')} --ttl 20d`);
  await run('request approve', `request approve ${String(submitted.id)} --out ${f('approved.pem')}`);
  await run('request certificate', `request certificate ${String(submitted.id)}`);
  const other = await run('request submit 2', `request submit --ca adm-root --csr ${f('req.csr')}`);
  await run('request reject', `request reject ${String(other.id)} --reason not-needed`);
  await run('request reject again', `request reject ${String(other.id)} --reason twice`);
  // certificates: issue → export → renew
  const issued = await run(
    'cert issue',
    `cert issue --ca adm-root --cn app.example.com --out-cert ${f('app.pem')} --out-key ${f('app.key')}`,
  );
  const serial = String(issued.serial);
  await run('cert export der', `cert export ${serial} --format der --out ${f('app.der')}`);
  await run('cert export chain', `cert export ${serial} --format chain --no-root --out ${f('app-chain.pem')}`);
  await run(
    'cert export p12 without a key',
    `cert export ${serial} --format p12 --password-file ${f('password')} --out ${f('app.p12')}`,
  );
  await run(
    'cert renew',
    `cert renew ${serial} --validity 30d --revoke-old --out-cert ${f('renewed.pem')} --out-key ${f('renewed.key')}`,
  );
  // API tokens
  const token = await run(
    'token create',
    'token create --name ci --scope certificate:issue --ca adm-root --expires 30d',
  );
  await run('token revoke', `token revoke ${String(token.id)}`);
  // users
  await run('user create', `user create alice --role operator --password-file ${f('password')}`);
  await run('user set-role', 'user set-role alice auditor');
  await run('user disable', 'user disable alice');
  await run('user enable', 'user disable alice --enable');
  await run('user unlock', 'user unlock alice');
  await run('user reset-password', `user reset-password alice --password-file ${f('password')}`);
  await run('user unknown', 'user unlock nobody');
  // notification rules
  await run(
    'notify rule add',
    'notify rule add expiry-hook --webhook http://127.0.0.1:9/hook --days 30,7 --ca adm-root ' +
      `--secret-file ${f('secret')}`,
  );
  await run(
    'notify rule add events',
    'notify rule add events-hook --webhook http://127.0.0.1:9/ev --events certificate.revoked ' +
      `--secret-file ${f('secret')}`,
  );
  await run(
    'notify rule rotate-secret',
    `notify rule rotate-secret expiry-hook --overlap 1h --secret-file ${f('secret2')}`,
  );
  await run('notify rule disable', 'notify rule disable events-hook');
  await run('notify rule enable', 'notify rule enable events-hook');
  await run('notify rule list', 'notify rule list');
  await run('notify deliveries', 'notify deliveries --rule expiry-hook');
  await run('notify rule remove', 'notify rule remove events-hook');
  return steps;
}

describe('pkim remote mode: administration commands give the same JSON as local mode', () => {
  const serverDir = file('server-data');
  const runs = bothModesSuite(tmp.dir, XDG, flow, { after: () => tmp.cleanup() });

  it('every step: the same exit code and the same JSON (ids, serials, secrets and times aside)', () => {
    const { local, remote } = runs;
    expectSameSteps(local, remote, shape);
    // the refusals are real ones, in both modes
    expect(local['ca disabled refuses']!.code).not.toBe(0);
    expect(local['profile show unknown']!.code).toBe(3);
    expect(local['profile show xy']!.code).toBe(3);
    expect(local['profile create']!.code).toBe(0);
    expect(local['profile show adm-lab']!.json).toMatchObject({
      source: 'api',
      extKeyUsage: ['serverAuth'],
      requiredSanTypes: ['dns'],
      allowedUriSchemes: ['spiffe'],
      maxUriSans: 1,
      maxSans: 5,
      maxSanBytes: 200,
    });
    // the text prints the SAN rules when set (local and --server alike: expectSameSteps), not when unset
    for (const mode of [local, remote]) {
      const text = String(mode['profile show adm-lab text']!.json);
      expect(text).toMatch(/^SAN types required:\s+dns$/m);
      expect(text).toMatch(/^URI schemes:\s+spiffe$/m);
      expect(text).toMatch(/^max URI SANs:\s+1$/m);
      expect(text).toMatch(/^max SANs:\s+5$/m);
      expect(text).toMatch(/^max SAN bytes:\s+200$/m);
      expect(String(mode['profile show tls-server text']!.json)).not.toMatch(
        /^(max (URI )?SAN|URI schemes|SAN types required)/m,
      );
    }
    expect(local['profile issue']!.code).toBe(0);
    expect(local['profile delete']!.json).toEqual({ name: 'adm-lab', deleted: true });
    for (const [step, code] of [
      ['profile create again', 'profile.exists'],
      ['profile create built-in', 'profile.exists'],
      ['profile create not json', 'profile.invalid'],
      ['profile update built-in', 'profile.read_only'],
      ['profile delete again', 'profile.not_found'],
    ] as const) {
      expect(local[step]!.code, step).not.toBe(0);
      expect(local[step]!.json, step).toMatchObject({ error: { code } });
    }
    const profileText = String(remote['profile show tls-server text']!.json);
    expect(profileText).toMatch(/^extended key usage:\s+serverAuth$/m);
    expect(profileText).toMatch(/^key usage:\s+digitalSignature$/m);
    expect(profileText).toMatch(/^SAN types:\s+dns, ip$/m);
    expect(profileText).toMatch(/^key types:\s+rsa-2048, .*ec-p256/m);
    expect(String(remote['profile show intermediate-ca text']!.json)).toMatch(/^path length:\s+0$/m);
    expect(local['cert issue from ab']!.code).toBe(0);
    expect(local['ca set-leaf-not-after']).toMatchObject({ code: 0, json: { leafNotAfterBehavior: 'truncate' } });
    expect(local['ca set-leaf-not-after bad']).toMatchObject({ code: 2, json: { error: { code: 'input.invalid' } } });
    expect(local['ca show after leaf-not-after']!.json).toMatchObject({ leafNotAfterBehavior: 'truncate' });
    expect(local['ca show leaf-not-after text']!.json).toBe(true);
    expect(local['ca set-leaf-not-after back']).toMatchObject({ code: 0, json: { leafNotAfterBehavior: 'err' } });
    expect(local['ca rename']).toMatchObject({ code: 0, json: { name: 'adm-root-2' } });
    expect(local['ca rename taken']).toMatchObject({ code: 4, json: { error: { code: 'ca.name_taken' } } });
    expect(local['ca rename bad']).toMatchObject({ code: 2, json: { error: { code: 'input.invalid' } } });
    expect(local['ca rename back']).toMatchObject({ code: 0, json: { name: 'adm-root' } });
    expect(remote['cert list json report']!.json).toEqual([
      expect.objectContaining({ common_name: 'two.example.com', ca_name: 'ab', status: 'active' }),
    ]);
    const csv = (mode: string) =>
      readFileSync(file(`${mode}-out/inventory.csv`), 'utf8')
        .trim()
        .split('\n');
    expect(csv('remote')[0]).toBe(csv('local')[0]);
    expect(csv('remote')).toHaveLength(2);
    expect(csv('remote')[1]).toContain('two.example.com');
    expect(local['request reject again']!.code).not.toBe(0);
    expect(local['user unknown']!.code).toBe(3);
    expect(Object.values(local).filter((s) => s.code === 0).length).toBeGreaterThan(30);
  });

  it('the objects are on the server and its certificates verify with openssl', () => {
    const onServer = (...args: string[]) => runPkim([...args, '--json'], { dataDir: serverDir, env: XDG });
    const users = onServer('user', 'list').json<{ items: { username: string; role: string }[] }>();
    expect(users.items).toContainEqual(expect.objectContaining({ username: 'alice', role: 'auditor' }));
    const rules = onServer('notify', 'rule', 'list').json<{ items: { name: string }[] }>();
    expect(rules.items.map((r) => r.name)).toEqual(['expiry-hook']);
    const root = readFileSync(file('remote-out/trust.pem'), 'utf8');
    for (const leaf of ['approved.pem', 'renewed.pem']) {
      const v = opensslVerify({ leafPem: readFileSync(file(`remote-out/${leaf}`), 'utf8'), rootPem: root });
      expect(v.ok, `${leaf}: ${v.output}`).toBe(true);
    }
    const two = opensslVerify({
      leafPem: readFileSync(file('remote-out/two.pem'), 'utf8'),
      rootPem: readFileSync(file('remote-out/ab.pem'), 'utf8'),
    });
    expect(two.ok, two.output).toBe(true);
    const der = readFileSync(file('remote-out/app.der'));
    expect(der[0]).toBe(0x30);
    expect(readFileSync(file('remote-out/renewed.key'), 'utf8')).toMatch(/^-----BEGIN PRIVATE KEY-----/);
    const renewed = runs.remote['cert renew']!.json as { previousRevoked: boolean; privateKeyPem?: string };
    expect(renewed.previousRevoked).toBe(true);
    expect(renewed.privateKeyPem).toBeUndefined();
  });
});
