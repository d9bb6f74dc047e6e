// A CA key of a deployment, for tests whose outside tool (openssl) must sign as that CA.
import { createDecipheriv, createPrivateKey } from 'node:crypto';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { loadKeyEncryptionKey, softwareBlobAad, type SoftwareKeyBlob } from '@pkim/keys';

/**
 * The PKCS#8 PEM of a software-custody key of the deployment in `dataDir` (its SQLite `key_blobs` row decrypted with
 * `<dataDir>/master.key`), for a test whose outside tool must sign as a CA of the deployment: openssl signing an
 * external CA's CSR with the key of a CA the deployment already knows.
 */
export async function softwareKeyPem(dataDir: string, keyUri: string): Promise<string> {
  const id = keyUri.replace(/^software:/, '');
  const { kek } = await loadKeyEncryptionKey({ dataDir });
  const db = new Database(join(dataDir, 'pkim.db'), { readonly: true, fileMustExist: true });
  try {
    const row = db.prepare('select data from key_blobs where id = ?').get(id) as { data: string } | undefined;
    if (!row) throw new Error(`no software key ${id}`);
    const blob = JSON.parse(row.data) as SoftwareKeyBlob;
    const d = createDecipheriv('aes-256-gcm', kek, Buffer.from(blob.iv, 'base64'));
    d.setAAD(softwareBlobAad(id, blob));
    d.setAuthTag(Buffer.from(blob.tag, 'base64'));
    const pkcs8 = Buffer.concat([d.update(Buffer.from(blob.ct, 'base64')), d.final()]);
    return createPrivateKey({ key: pkcs8, format: 'der', type: 'pkcs8' })
      .export({ type: 'pkcs8', format: 'pem' })
      .toString();
  } finally {
    db.close();
  }
}
