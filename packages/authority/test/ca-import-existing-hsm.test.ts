// An existing CA brought with its private key INTO an HSM or a KMS (`cas.importExisting` with backend pkcs11 / kmip),
// on SQLite and PostgreSQL: openssl makes the CAs (EC P-256, EC P-384, RSA-2048); the key is created on a real SoftHSM2
// token (C_CreateObject: sensitive, not extractable — reading CKA_VALUE / CKA_PRIVATE_EXPONENT back is refused) or
// registered in a real PyKMIP server (Register + Activate); leaves and CRLs signed through the pipeline verify with
// openssl and certtool against the ORIGINAL certificates. A backend that takes the key but cannot sign with it (PyKMIP
// holds RSA only: an EC key) is refused with kms.unsupported: no CA row, no key blob, nothing left in the KMS.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import * as graphene from 'graphene-pk11';
import type { Authority } from '@pkim/authority';
import { parseKmipKeyUri, parsePkcs11Uri } from '@pkim/keys';
import { ENGINES } from '../../../tests/support/engines';
import { authorityOnEngine } from '../../../tests/support/authority-on-engine';
import { createSoftHsmToken, withTokenSession, type SoftHsmToken } from '../../../tests/support/softhsm';
import { startPyKmip, type PyKmipServer } from '../../../tests/support/pykmip';
import { keyCustodyEnv } from '../../../tests/support/key-custody-env';
import { opensslCsr, opensslSelfSigned, tempDir } from '../../../tests/support/openssl-tools';
import { certtoolVerify, opensslCrlVerify, opensslVerify } from '../../../tests/support/verifiers';
import { expectPkiError, TEST_ADMIN } from '../../../tests/support/test-kit';

const CA_EXT = ['basicConstraints=critical,CA:TRUE', 'keyUsage=critical,keyCertSign,cRLSign'];

let hsm: SoftHsmToken;
let kmip: PyKmipServer;
const tmp = tempDir('pkim-import-hsm-');
/** PKIM_* of both backends, filled before any authority opens (authorityOnEngine reads it in its beforeAll) */
const env: Record<string, string> = {};

beforeAll(async () => {
  hsm = await createSoftHsmToken({ label: 'pkim-import' });
  kmip = await startPyKmip();
  Object.assign(env, keyCustodyEnv(tmp.dir, hsm, kmip));
}, 120_000);

afterAll(async () => {
  await kmip?.stop();
  await hsm?.cleanup();
  tmp.cleanup();
});

/** a tls-server leaf for `dns` from an openssl CSR, verified by openssl and certtool against the original root */
async function expectLeafVerifies(a: Authority, caId: string, rootPem: string, dns: string): Promise<void> {
  const csrPem = opensslCsr({ keyType: 'ec-p256', subject: `/CN=${dns}`, sans: [`DNS:${dns}`] }).csrPem;
  const leafPem = (await a.issuance.issueFromCsr({ caId, profile: 'tls-server', csrPem }, TEST_ADMIN)).certificatePem;
  const o = opensslVerify({ leafPem, rootPem, purpose: 'sslserver', hostname: dns });
  expect(o.ok, o.output).toBe(true);
  const c = certtoolVerify({ leafPem, rootPem, purpose: 'serverAuth' });
  expect(c.ok, c.output).toBe(true);
}

/** runs `fn` with a read-write session on the test token, logged in (a second view beside the backend) */
const onToken = <T>(fn: (session: graphene.Session) => T): T => withTokenSession(hsm, fn, { login: true });

/** PyKMIP's managed objects (its own SQLite database): what a refused import must leave as it was */
function kmipObjects(): number {
  const db = new Database(join(kmip.dir, 'pykmip.db'), { readonly: true, fileMustExist: true });
  try {
    return (db.prepare('select count(*) as n from managed_objects').get() as { n: number }).n;
  } finally {
    db.close();
  }
}

describe.each(ENGINES)('an existing CA whose key goes into an HSM or a KMS, on $name', (engine) => {
  const fx = authorityOnEngine(engine, { env, publicBaseUrl: 'http://127.0.0.1:9' });

  it.each(['ec-p256', 'ec-p384', 'rsa-2048'] as const)(
    'PKCS#11: a %s root is created on the token, not extractable; its leaves and CRL verify against the original',
    async (keyType) => {
      const a = fx.authority;
      const blobs = await fx.rowCount('key_blobs');
      const root = opensslSelfSigned({
        subject: `/O=Example/CN=HSM Old ${keyType}`,
        keyType,
        days: 30,
        addext: CA_EXT,
      });
      const { ca, chainPem } = await a.cas.importExisting(
        { certificatePem: root.certPem, keyPem: root.keyPem, backend: 'pkcs11', name: `hsm-${keyType}-${engine.name}` },
        TEST_ADMIN,
      );
      expect(ca).toMatchObject({ keyBackend: 'pkcs11', keyType, status: 'active' });
      expect(ca.keyUri).toMatch(/^pkcs11:token=pkim-import;id=(%[0-9a-f]{2}){16};object=hsm-/);
      expect(chainPem.trim()).toBe(root.certPem.trim());
      await expectLeafVerifies(a, ca.id, root.certPem, `${keyType}.hsm.example`);
      const crl = await a.crl.generate(ca.id, TEST_ADMIN);
      const v = opensslCrlVerify(crl.der, root.certPem);
      expect(v.ok, v.text).toBe(true);
      expect(await fx.rowCount('key_blobs')).toBe(blobs); // the software backend kept nothing

      const id = Buffer.from(parsePkcs11Uri(ca.keyUri).id!);
      onToken((session) => {
        const privs = session.find({ class: graphene.ObjectClass.PRIVATE_KEY, id });
        expect(privs.length).toBe(1);
        const key = privs.items(0);
        expect(
          key.getAttribute({ extractable: null, sensitive: null, token: null, private: null, sign: null }),
        ).toEqual({ extractable: false, sensitive: true, token: true, private: true, sign: true });
        // C_GetAttributeValue of the secret: refused (CKR_ATTRIBUTE_SENSITIVE)
        const secret = keyType === 'rsa-2048' ? 'privateExponent' : 'value';
        expect(() => key.getAttribute(secret)).toThrow(/CKR_ATTRIBUTE_SENSITIVE/);
        expect(session.find({ class: graphene.ObjectClass.PUBLIC_KEY, id }).length).toBe(1);
      });
      const events = await a.audit.list({ action: 'kms.key_imported', target: ca.keyUri, limit: 1 });
      expect(events[0]?.details).toMatchObject({ backend: 'pkcs11', caId: ca.id });
    },
    120_000,
  );

  it('KMIP: an RSA root is registered in PyKMIP; its leaves verify against the original', async () => {
    const a = fx.authority;
    const root = opensslSelfSigned({
      subject: '/O=Example/CN=KMS Old Root',
      keyType: 'rsa-2048',
      days: 30,
      addext: CA_EXT,
    });
    const before = kmipObjects();
    const { ca } = await a.cas.importExisting(
      { certificatePem: root.certPem, keyPem: root.keyPem, backend: 'kmip', name: `kms-rsa-${engine.name}` },
      TEST_ADMIN,
    );
    expect(ca).toMatchObject({ keyBackend: 'kmip', keyType: 'rsa-2048', status: 'active' });
    const uri = parseKmipKeyUri(ca.keyUri)!;
    expect(uri.publicKeyUid).toBeDefined();
    expect(kmipObjects()).toBe(before + 2); // the private key and its public key
    await expectLeafVerifies(a, ca.id, root.certPem, 'rsa.kms.example');
  }, 120_000);

  it('KMIP with an EC key (PyKMIP holds RSA only): kms.unsupported, nothing stored here or in the KMS', async () => {
    const a = fx.authority;
    const root = opensslSelfSigned({ subject: '/O=Example/CN=KMS EC Root', days: 30, addext: CA_EXT });
    const before = {
      cas: await fx.rowCount('certificate_authorities'),
      blobs: await fx.rowCount('key_blobs'),
      kms: kmipObjects(),
    };
    const e = await expectPkiError(
      a.cas.importExisting({ certificatePem: root.certPem, keyPem: root.keyPem, backend: 'kmip' }, TEST_ADMIN),
      'kms.unsupported',
    );
    expect(e.kind).toBe('invalid_input');
    expect(e.message).toMatch(/key backend kmip took the ec-p256 key but cannot sign with it .*nothing was kept/);
    expect({
      cas: await fx.rowCount('certificate_authorities'),
      blobs: await fx.rowCount('key_blobs'),
      kms: kmipObjects(),
    }).toEqual(before);
    const failed = await a.audit.list({ action: 'ca.import_failed', limit: 1, order: 'desc' });
    expect(failed[0]?.details).toMatchObject({ backend: 'kmip' });
  }, 120_000);
});
