import { afterAll, describe, expect, it } from 'vitest';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { runPkim } from '../../../tests/support/cli-in-process';
import { tempDir } from '../../../tests/support/openssl-tools';

describe('pkim acme: directories, EAB keys and accounts from the command line', () => {
  const tmp = tempDir('pkim-acme-cli-');
  const dataDir = join(tmp.dir, 'data');
  const pkim = (...args: string[]) => runPkim(args, { dataDir });
  const ok = (...args: string[]) => {
    const r = pkim(...args);
    expect(r.code, `pkim ${args.join(' ')}: ${r.stderr}`).toBe(0);
    return r;
  };
  const failsWith = (line: RegExp, ...args: string[]) => {
    const r = pkim(...args);
    expect(r.code, `pkim ${args.join(' ')}`).not.toBe(0);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
    expect(r.stderr.trim()).toMatch(line);
  };
  afterAll(() => tmp.cleanup());

  it('enable, list, eab create/list/revoke, accounts, disable; one-line errors', () => {
    ok('init', '--json');
    const rootId = ok(
      'ca',
      'create',
      '--name',
      'root',
      '--subject',
      'CN=ACME CLI Root',
      '--key-type',
      'ec-p256',
      '--json',
    ).json().id as string;
    const caId = ok(
      'ca',
      'create',
      '--name',
      'issuing',
      '--subject',
      'CN=ACME CLI Issuing',
      '--key-type',
      'ec-p256',
      '--parent',
      rootId,
      '--json',
    ).json().id as string;

    const enabled = ok(
      'acme',
      'enable',
      '--ca',
      'issuing',
      '--allow-dns',
      'localhost,*.test',
      '--allow-ip',
      '127.0.0.1',
      '--require-eab',
      '--orders-per-hour',
      '5',
      '--lifetime',
      '30d',
      '--json',
    ).json();
    expect(enabled).toMatchObject({
      caId,
      caName: 'issuing',
      profile: 'tls-server',
      allowDns: ['localhost', '*.test'],
      allowIps: ['127.0.0.1'],
      requireEab: true,
      ordersPerHour: 5,
      lifetime: '30d',
      directoryPath: `/acme/${caId}/directory`,
      directoryUrl: null, // no publicUrl here
    });
    expect(ok('acme', 'list', '--json').json()).toEqual({ items: [enabled], nextCursor: null });
    expect(ok('acme', 'list').stdout).toMatch(
      new RegExp(
        `issuing\\s+tls-server\\s+/acme/${caId}/directory\\s+localhost,\\*\\.test\\s+127\\.0\\.0\\.1\\s+required`,
      ),
    );

    // an EAB key: the HMAC key is shown once and stored only sealed
    const key = ok('acme', 'eab', 'create', '--ca', 'issuing', '--json').json<{ kid: string; hmacKey: string }>();
    expect(key.kid).toMatch(/^eab_/);
    expect(key.hmacKey).toMatch(/^[A-Za-z0-9_-]{43}$/);
    for (const f of ['pkim.db', 'pkim.db-wal'].map((n) => join(dataDir, n)).filter((f) => existsSync(f))) {
      expect(readFileSync(f).includes(Buffer.from(key.hmacKey)), f).toBe(false);
      expect(readFileSync(f).includes(Buffer.from(key.hmacKey, 'base64url')), f).toBe(false);
    }
    const listed = ok('acme', 'eab', 'list', '--json').json<{
      items: Record<string, unknown>[];
      nextCursor: string | null;
    }>();
    expect(listed.nextCursor).toBeNull();
    expect(listed.items).toEqual([
      {
        kid: key.kid,
        caId,
        status: 'unused',
        createdBy: expect.any(String),
        createdAt: expect.any(String),
        usedAt: null,
        accountId: null,
      },
    ]);
    expect(JSON.stringify(listed)).not.toContain(key.hmacKey);
    expect(ok('acme', 'eab', 'list', '--ca', 'root', '--json').json()).toEqual({ items: [], nextCursor: null });
    expect(ok('acme', 'eab', 'list').stdout).toContain(key.kid);
    expect(ok('acme', 'eab', 'revoke', key.kid, '--json').json()).toEqual({
      kid: key.kid,
      caId,
      revoked: true,
      deactivatedAccount: null,
    });
    expect(ok('acme', 'eab', 'list', '--json').json()).toEqual({ items: [], nextCursor: null });
    failsWith(/^error: acme\.not_found: no external account binding key eab_/, 'acme', 'eab', 'revoke', key.kid);

    expect(ok('acme', 'accounts', '--json').json()).toEqual({ items: [], nextCursor: null });
    failsWith(/^error: ca\.not_found: /, 'acme', 'enable', '--ca', 'no-such-ca');
    failsWith(/^error: acme\.not_enabled: /, 'acme', 'eab', 'create', '--ca', 'root');
    failsWith(
      /^error: [a-z_.]+: .*allow-dns|^error: [a-z_.]+: .*pattern/i,
      'acme',
      'enable',
      '--ca',
      'issuing',
      '--allow-dns',
      'a..b',
    );

    expect(ok('acme', 'disable', '--ca', 'issuing', '--json').json()).toEqual({ caId, disabled: true });
    expect(ok('acme', 'list', '--json').json()).toEqual({ items: [], nextCursor: null });
    expect(ok('acme', 'disable', '--ca', 'issuing').stdout).toContain(`ACME was not enabled for ${caId}`);
    // the audit trail names every administrative step
    const actions = ok('audit', 'list', '--json', '--limit', '50')
      .json<{ items: { action: string }[] }>()
      .items.map((e) => e.action)
      .filter((a) => a.startsWith('acme.'));
    expect(actions).toEqual(
      expect.arrayContaining(['acme.enabled', 'acme.eab_key_created', 'acme.eab_key_revoked', 'acme.disabled']),
    );
  }, 240_000);
});
