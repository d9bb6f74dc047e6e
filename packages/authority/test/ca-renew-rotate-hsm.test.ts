// CA renewal and key rotation with keys on a real SoftHSM2 token (PKCS#11): a root and an intermediate whose keys
// were made on the token are renewed with those keys — signed on the token, the key never leaves it — and the root is
// rotated to a new key made on the token, its cross certificate signed by the old key on the token. Leaves issued
// before and after verify with openssl and certtool under the old and the new certificates, and through the cross
// certificate with only the old root trusted; the token holds one private key more after the rotation, none after
// the renewals.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import * as graphene from 'graphene-pk11';
import { parseCertificate } from '@pkim/core';
import { ENGINES } from '../../../tests/support/engines';
import { authorityOnEngine } from '../../../tests/support/authority-on-engine';
import { createSoftHsmToken, withTokenSession, type SoftHsmToken } from '../../../tests/support/softhsm';
import { tempDir } from '../../../tests/support/openssl-tools';
import { certtoolVerify, opensslVerify } from '../../../tests/support/verifiers';
import { TEST_ADMIN } from '../../../tests/support/test-kit';

let hsm: SoftHsmToken;
const tmp = tempDir('pkim-renew-hsm-');
/** PKIM_PKCS11_*, filled before the authority opens (authorityOnEngine reads it in its beforeAll) */
const env: Record<string, string> = {};

beforeAll(async () => {
  hsm = await createSoftHsmToken({ label: 'pkim-renew' });
  mkdirSync(join(tmp.dir, 'credentials'), { recursive: true });
  const pin = join(tmp.dir, 'credentials', 'pin');
  writeFileSync(pin, `${hsm.pin}\n`, { mode: 0o600 });
  Object.assign(env, {
    PKIM_PKCS11_MODULE: hsm.modulePath,
    PKIM_PKCS11_TOKEN_LABEL: hsm.tokenLabel,
    PKIM_PKCS11_PIN_FILE: pin,
  });
}, 120_000);

afterAll(async () => {
  await hsm?.cleanup();
  tmp.cleanup();
});

const privateKeysOnToken = (): number =>
  withTokenSession(hsm, (s) => s.find({ class: graphene.ObjectClass.PRIVATE_KEY }).length, { login: true });

function verified(leafPem: string, chainPems: string[], rootPem: string): void {
  const o = opensslVerify({ leafPem, chainPems, rootPem, purpose: 'sslserver' });
  expect(o.ok, o.output).toBe(true);
  const c = certtoolVerify({ leafPem, chainPems, rootPem, purpose: 'serverAuth' });
  expect(c.ok, c.output).toBe(true);
}

describe.each(ENGINES.filter((e) => e.name === 'sqlite'))('renew and rotate with PKCS#11 keys, on $name', (engine) => {
  const fx = authorityOnEngine(engine, { env, publicBaseUrl: 'http://127.0.0.1:9' });

  it('renews a root and an intermediate on the token and rotates the root to a new token key', async () => {
    const a = fx.authority;
    const root = await a.cas.create(
      { name: 'hsm-root', subject: 'CN=HSM Root,O=Example', keyType: 'ec-p256', backend: 'pkcs11' },
      TEST_ADMIN,
    );
    const int = await a.cas.create(
      { name: 'hsm-int', subject: 'CN=HSM Int', keyType: 'ec-p256', backend: 'pkcs11', parentId: root.ca.id },
      TEST_ADMIN,
    );
    const leafOf = async (caId: string, dns: string) =>
      (
        await a.issuance.issueWithKey(
          { caId, profile: 'tls-server', subject: `CN=${dns}`, sans: { dns: [dns] }, keyType: 'ec-p256' },
          TEST_ADMIN,
        )
      ).certificatePem;
    const before = await leafOf(int.ca.id, 'before.hsm.example');
    const keys = privateKeysOnToken();

    const newInt = await a.cas.renew(int.ca.id, {}, TEST_ADMIN);
    const newRoot = await a.cas.renew(root.ca.id, {}, TEST_ADMIN);
    expect(newInt.ca.keyUri).toBe(int.ca.keyUri);
    expect(newRoot.ca.keyUri).toBe(root.ca.keyUri);
    expect(privateKeysOnToken()).toBe(keys);
    for (const rootPem of [root.certificatePem!, newRoot.certificatePem!])
      for (const intPem of [int.certificatePem!, newInt.certificatePem!]) verified(before, [intPem], rootPem);
    verified(await leafOf(int.ca.id, 'after.hsm.example'), [newInt.certificatePem!], newRoot.certificatePem!);

    const r = await a.cas.rotate(root.ca.id, {}, TEST_ADMIN);
    expect(r.ca).toMatchObject({ keyBackend: 'pkcs11', keyType: 'ec-p256', predecessorId: root.ca.id });
    expect(r.ca.keyUri).toMatch(/^pkcs11:token=pkim-renew;/);
    expect(privateKeysOnToken()).toBe(keys + 1);
    const cross = parseCertificate(r.crossCertificatePem!);
    expect(cross.authorityKeyIdentifierHex).toBe(parseCertificate(newRoot.certificatePem!).subjectKeyIdentifierHex);
    const under = await a.cas.create(
      { name: 'hsm-int-2', subject: 'CN=HSM Int 2', keyType: 'ec-p256', parentId: r.ca.id },
      TEST_ADMIN,
    );
    const leaf = await leafOf(under.ca.id, 'new.hsm.example');
    verified(leaf, [under.certificatePem!], r.certificatePem!);
    verified(leaf, [under.certificatePem!, r.crossCertificatePem!], newRoot.certificatePem!);
  }, 120_000);
});
