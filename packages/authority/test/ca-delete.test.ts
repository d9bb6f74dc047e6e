// Deleting a CA with its key (`pkim ca delete --destroy-key`, DELETE /api/v1/cas/:id?destroyKey=true): the row is
// committed away first, the key destroyed after. A commit that fails (here a SQLite trigger refusing the delete) must
// leave the CA whole: its row, its key, a CRL it still signs.
import { afterAll, describe, expect, it } from 'vitest';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { createAuthority } from '@pkim/authority';
import { internalsOf } from '@pkim/authority/internals';
import { tempDir } from '../../../tests/support/openssl-tools';
import { opensslCrlVerify } from '../../../tests/support/verifiers';
import { expectPkiError, silentLogger, TEST_ADMIN } from '../../../tests/support/test-kit';

const tmp = tempDir('pkim-ca-delete-');
afterAll(() => tmp.cleanup());

describe('deleting a CA with its key', () => {
  it('a delete whose commit fails keeps the key and the CA; once the commit passes the key is gone', async () => {
    const a = await createAuthority({ dataDir: tmp.dir, logger: silentLogger });
    try {
      const { ca, certificatePem } = await a.cas.create(
        { name: 'doomed', subject: 'CN=Doomed Root', keyType: 'ec-p256' },
        TEST_ADMIN,
      );
      await a.cas.revokeCa(ca.id, 'cessationOfOperation', TEST_ADMIN);
      const keys = internalsOf(a).keys;
      const db = new Database(join(tmp.dir, 'pkim.db'));
      try {
        db.exec(
          `CREATE TRIGGER refuse_ca_delete BEFORE DELETE ON certificate_authorities
           BEGIN SELECT RAISE(ABORT, 'refused by the test'); END`,
        );
        await expect(a.cas.delete(ca.id, { destroyKey: true }, TEST_ADMIN)).rejects.toThrow();
        expect((await a.cas.get(ca.id)).ca.id).toBe(ca.id);
        expect((await keys.getPublicKey(ca.keyUri)).length).toBeGreaterThan(0);
        const crl = await a.crl.generate(ca.id, TEST_ADMIN);
        const v = opensslCrlVerify(crl.der, certificatePem!);
        expect(v.ok, v.text).toBe(true);
        db.exec('DROP TRIGGER refuse_ca_delete');
      } finally {
        db.close();
      }
      await a.cas.delete(ca.id, { destroyKey: true }, TEST_ADMIN);
      await expectPkiError(a.cas.get(ca.id), 'ca.not_found');
      await expectPkiError(keys.getPublicKey(ca.keyUri), 'kms.key_not_found');
      expect((await a.audit.verify()).ok).toBe(true);
    } finally {
      await a.close();
    }
  }, 60_000);
});
