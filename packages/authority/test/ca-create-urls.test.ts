// `cas.create`'s `urls`: the new CA's URL setting (what the certificates it signs carry). A root carries it in its
// own certificate too — what OpenBao's `root/generate` does with its mount's `config/urls` — and an intermediate here
// carries its parent's, keeping the given ones for its own leaves. Every certificate is read back by openssl; a bad
// URL is refused before a key is made, nothing stored.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createAuthority, type Authority } from '@pkim/authority';
import { tempDir } from '../../../tests/support/openssl-tools';
import { opensslText, opensslVerify } from '../../../tests/support/verifiers';
import { expectPkiError, silentLogger, TEST_ADMIN } from '../../../tests/support/test-kit';

const ROOT_URLS = {
  crlDistributionPoints: ['http://crl.example.org/root.crl'],
  ocspUrls: ['http://ocsp.example.org/root'],
  caIssuersUrls: ['http://ca.example.org/root.crt'],
};
const INT_URLS = {
  crlDistributionPoints: ['http://crl.example.org/int.crl'],
  ocspUrls: [],
  caIssuersUrls: ['http://ca.example.org/int.crt'],
};

describe('cas.create with urls', () => {
  let authority: Authority;
  let tmp: ReturnType<typeof tempDir>;
  beforeAll(async () => {
    tmp = tempDir();
    authority = await createAuthority({ dataDir: tmp.dir, logger: silentLogger, publicBaseUrl: 'http://pkim.test' });
  });
  afterAll(async () => {
    await authority?.close();
    tmp?.cleanup();
  });

  it('a root carries its own URLs; an intermediate its parent’s, its leaves its own (openssl)', async () => {
    const root = await authority.cas.create(
      { name: 'urls-root', subject: 'CN=URLs Root', keyType: 'ec-p256', urls: ROOT_URLS },
      TEST_ADMIN,
    );
    expect(root.ca.urls).toEqual(ROOT_URLS);
    const rootText = opensslText(root.certificatePem!);
    expect(rootText).toContain('URI:http://crl.example.org/root.crl');
    expect(rootText).toContain('OCSP - URI:http://ocsp.example.org/root');
    expect(rootText).toContain('CA Issuers - URI:http://ca.example.org/root.crt');
    expect(rootText).not.toContain('pkim.test');
    const created = await authority.audit.list({ action: 'ca.created', target: root.ca.id });
    expect(created[0]!.details).toMatchObject({ urls: ROOT_URLS });

    const int = await authority.cas.create(
      { name: 'urls-int', subject: 'CN=URLs Int', keyType: 'ec-p256', parentId: root.ca.id, urls: INT_URLS },
      TEST_ADMIN,
    );
    expect(int.ca.urls).toEqual(INT_URLS);
    const intText = opensslText(int.certificatePem!);
    expect(intText).toContain('URI:http://crl.example.org/root.crl');
    expect(intText).toContain('CA Issuers - URI:http://ca.example.org/root.crt');
    expect(intText).not.toContain('int.crl');

    const leaf = await authority.issuance.issueWithKey(
      {
        caId: int.ca.id,
        profile: 'tls-server',
        subject: 'CN=u.example.com',
        keyType: 'ec-p256',
        sans: { dns: ['u.example.com'] },
      },
      TEST_ADMIN,
    );
    const leafText = opensslText(leaf.certificatePem);
    expect(leafText).toContain('URI:http://crl.example.org/int.crl');
    expect(leafText).toContain('CA Issuers - URI:http://ca.example.org/int.crt');
    expect(leafText).not.toContain('OCSP');
    const v = opensslVerify({
      leafPem: leaf.certificatePem,
      chainPems: [int.certificatePem!],
      rootPem: root.certificatePem!,
      purpose: 'sslserver',
    });
    expect(v.ok, v.output).toBe(true);
  });

  it('a root without urls carries none and keeps the server’s own as its setting', async () => {
    const root = await authority.cas.create(
      { name: 'plain-root', subject: 'CN=Plain', keyType: 'ec-p256' },
      TEST_ADMIN,
    );
    expect(root.ca.urls?.base).toBe('http://pkim.test');
    const text = opensslText(root.certificatePem!);
    expect(text).not.toContain('Authority Information Access');
    expect(text).not.toContain('CRL Distribution Points');
  });

  it('refuses a URL that is not http(s) before a key is made: no CA, ca.create_failed', async () => {
    const before = (await authority.cas.list()).length;
    const e = await expectPkiError(
      authority.cas.create(
        { name: 'bad-urls', subject: 'CN=Bad', keyType: 'ec-p256', urls: { ...ROOT_URLS, ocspUrls: ['ftp://x'] } },
        TEST_ADMIN,
      ),
      'input.invalid',
    );
    expect(e.message).toMatch(/invalid OCSP URL 'ftp:\/\/x'/);
    expect((await authority.cas.list()).length).toBe(before);
    expect(await authority.audit.list({ action: 'kms.key_created', limit: 100 })).toHaveLength(before);
  });
});
