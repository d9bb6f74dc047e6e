import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PkiError } from '@pkim/shared';
import { formatPkcs11Uri, isPkcs11Uri, parsePkcs11Uri, pkcs11ConfigFromEnv } from '../src/pkcs11';

describe('PKCS#11 URIs (RFC 7512)', () => {
  it('formats token, id and object with the id fully percent-encoded and parses them back', () => {
    const id = Uint8Array.from([0x00, 0x01, 0xab, 0xff, 0x7f]);
    const uri = formatPkcs11Uri({ token: 'PKIM Root', id, object: 'Root CA 2025' });
    expect(uri).toBe('pkcs11:token=PKIM%20Root;id=%00%01%ab%ff%7f;object=Root%20CA%202025');
    const back = parsePkcs11Uri(uri);
    expect(back.token).toBe('PKIM Root');
    expect(back.object).toBe('Root CA 2025');
    expect(Buffer.from(back.id!).toString('hex')).toBe('0001abff7f');
    expect(formatPkcs11Uri(back)).toBe(uri);
  });

  it('round-trips labels with separators, percent signs and non-ASCII characters', () => {
    for (const label of ['a;b=c', '50% off/?', 'Zürich CA – 東京', 'x&y', "it's (1)"]) {
      const uri = formatPkcs11Uri({ token: label, object: label });
      expect(uri.slice('pkcs11:'.length).split(';')).toHaveLength(2);
      const back = parsePkcs11Uri(uri);
      expect(back.token).toBe(label);
      expect(back.object).toBe(label);
    }
  });

  it('parses the RFC 7512 examples, including slot-id, type, unknown attributes and query attributes', () => {
    const u = parsePkcs11Uri(
      [
        'pkcs11:token=The%20Software%20PKCS%2311%20Softtoken;manufacturer=Snake%20Oil,%20Inc.;model=1.0;',
        'object=my-certificate;type=cert;id=%69%95%3E%5C%F4%BD%EC%91;serial=;slot-id=42;x-vendor=v',
        '?pin-source=file:/etc/token_pin&module-path=/usr/lib/p11.so',
      ].join(''),
    );
    expect(u).toMatchObject({
      token: 'The Software PKCS#11 Softtoken',
      manufacturer: 'Snake Oil, Inc.',
      model: '1.0',
      object: 'my-certificate',
      type: 'cert',
      serial: '',
      slotId: 42,
      other: { 'x-vendor': 'v' },
      query: { 'pin-source': 'file:/etc/token_pin', 'module-path': '/usr/lib/p11.so' },
    });
    expect(Buffer.from(u.id!).toString('hex')).toBe('69953e5cf4bdec91');
    expect(parsePkcs11Uri(formatPkcs11Uri(u))).toEqual(u);
  });

  it('recognises the scheme case-insensitively and nothing else', () => {
    expect(isPkcs11Uri('pkcs11:token=a')).toBe(true);
    expect(isPkcs11Uri('PKCS11:token=a')).toBe(true);
    expect(isPkcs11Uri('software:key_1')).toBe(false);
    expect(isPkcs11Uri('')).toBe(false);
  });

  it('rejects malformed URIs with input.invalid', () => {
    for (const bad of ['software:key_1', 'pkcs11:id=%zz', 'pkcs11:id=%4', 'pkcs11:token', 'pkcs11:slot-id=abc']) {
      expect(() => parsePkcs11Uri(bad), bad).toThrow(expect.objectContaining({ code: 'input.invalid' }));
    }
  });
});

describe('pkcs11ConfigFromEnv', () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'pkim-pkcs11-env-'));
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  function configError(env: NodeJS.ProcessEnv): PkiError {
    try {
      pkcs11ConfigFromEnv(env);
    } catch (e) {
      expect(e).toBeInstanceOf(PkiError);
      expect((e as PkiError).code).toBe('kms.config_invalid');
      return e as PkiError;
    }
    throw new Error('expected kms.config_invalid');
  }

  it('returns undefined when PKIM_PKCS11_MODULE is unset or empty', () => {
    expect(pkcs11ConfigFromEnv({})).toBeUndefined();
    expect(pkcs11ConfigFromEnv({ PKIM_PKCS11_MODULE: '  ', PKIM_PKCS11_PIN: '1' })).toBeUndefined();
  });

  it('reads module, token label, slot and PIN', () => {
    expect(
      pkcs11ConfigFromEnv({
        PKIM_PKCS11_MODULE: '/usr/lib/softhsm/libsofthsm2.so',
        PKIM_PKCS11_TOKEN_LABEL: 'pkim',
        PKIM_PKCS11_SLOT: '7',
        PKIM_PKCS11_PIN: '1234',
      }),
    ).toEqual({
      modulePath: '/usr/lib/softhsm/libsofthsm2.so',
      tokenLabel: 'pkim',
      slot: 7,
      pin: '1234',
      pinSource: 'PKIM_PKCS11_PIN',
    });
  });

  it('reads the PIN from PKIM_PKCS11_PIN_FILE, trimmed', async () => {
    const pinFile = join(dir, 'pin');
    await writeFile(pinFile, '  s3cret-pin\n\n', { mode: 0o600 });
    expect(
      pkcs11ConfigFromEnv({ PKIM_PKCS11_MODULE: '/m.so', PKIM_PKCS11_TOKEN_LABEL: 't', PKIM_PKCS11_PIN_FILE: pinFile }),
    ).toEqual({
      modulePath: '/m.so',
      tokenLabel: 't',
      pin: 's3cret-pin',
      pinSource: `PKIM_PKCS11_PIN_FILE ('${pinFile}')`,
    });
  });

  it('refuses incomplete or contradictory settings with kms.config_invalid and a clear message', async () => {
    expect(configError({ PKIM_PKCS11_MODULE: '/m.so', PKIM_PKCS11_PIN: '1' }).message).toMatch(
      /PKIM_PKCS11_TOKEN_LABEL.*PKIM_PKCS11_SLOT/,
    );
    expect(configError({ PKIM_PKCS11_MODULE: '/m.so', PKIM_PKCS11_TOKEN_LABEL: 't' }).message).toMatch(
      /PKIM_PKCS11_PIN_FILE.*PKIM_PKCS11_PIN/,
    );
    expect(configError({ PKIM_PKCS11_MODULE: '/m.so', PKIM_PKCS11_SLOT: 'one', PKIM_PKCS11_PIN: '1' }).message).toMatch(
      /PKIM_PKCS11_SLOT/,
    );
    const pinFile = join(dir, 'pin2');
    await writeFile(pinFile, '1234');
    expect(
      configError({
        PKIM_PKCS11_MODULE: '/m.so',
        PKIM_PKCS11_TOKEN_LABEL: 't',
        PKIM_PKCS11_PIN: '1234',
        PKIM_PKCS11_PIN_FILE: pinFile,
      }).message,
    ).toMatch(/not both/);
    const missing = join(dir, 'nope');
    const err = configError({
      PKIM_PKCS11_MODULE: '/m.so',
      PKIM_PKCS11_TOKEN_LABEL: 't',
      PKIM_PKCS11_PIN_FILE: missing,
    });
    expect(err.message).toContain(missing);
    expect(err.message).toContain('ENOENT');
    const empty = join(dir, 'empty');
    await writeFile(empty, ' \n');
    expect(
      configError({ PKIM_PKCS11_MODULE: '/m.so', PKIM_PKCS11_TOKEN_LABEL: 't', PKIM_PKCS11_PIN_FILE: empty }).message,
    ).toMatch(/empty/);
  });

  it('never puts the PIN into an error', async () => {
    const pinFile = join(dir, 'pin3');
    await writeFile(pinFile, 'very-secret-1234');
    const err = configError({
      PKIM_PKCS11_MODULE: '/m.so',
      PKIM_PKCS11_TOKEN_LABEL: 't',
      PKIM_PKCS11_PIN: 'very-secret-1234',
      PKIM_PKCS11_PIN_FILE: pinFile,
    });
    expect(JSON.stringify(err.toJSON())).not.toContain('very-secret-1234');
  });
});
