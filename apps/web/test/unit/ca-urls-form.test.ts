// The console's Set URLs form (lib/pki.ts caUrlsFormCheck, the CA page's dialog) checks a URL as the API does: what
// it sends passes `ca.setUrls`'s schema, and each URL it refuses the schema refuses too — a message under the field
// before anything is sent, not a 400 after. The dialog against a real server, the URLs read back by openssl from a
// leaf: ca-settings-console-e2e.
import { describe, expect, it } from 'vitest';
import { caSetUrlsInputSchema } from '@pkim/contract';
import { caUrlsFormCheck, type CaUrlsForm } from '../../src/lib/pki';

const form = (patch: Partial<CaUrlsForm>): CaUrlsForm => ({
  mode: 'each',
  base: '',
  crl: '',
  ocsp: '',
  aia: '',
  ...patch,
});
const URLS = [
  'https://pki.example.com',
  'http://cdn.example.com/a b.crl',
  'ldap://ocsp.example.com',
  'https://',
  'https://pki.example.com:8443/crl/ca_1.crl',
  'http://?x',
  'HTTP://PKI.EXAMPLE.COM/OCSP',
  `https://pki.example.com/${'x'.repeat(2100)}`,
  'pki.example.com/ocsp',
];

describe('caUrlsFormCheck', () => {
  it.each(URLS)('takes %s as a base URL exactly when ca.setUrls does', (url) => {
    const api = caSetUrlsInputSchema.safeParse({ base: url }).success;
    const c = caUrlsFormCheck(form({ mode: 'base', base: url }));
    expect(c.input !== null, c.errors.base).toBe(api);
    if (!api) expect(c.errors.base).toMatch(/^Not an http:\/\/ or https:\/\/ URL: /);
  });

  it('takes each kind one URL a line, names the first wrong one, and sends what the API takes', () => {
    const ok = caUrlsFormCheck(
      form({ crl: ' https://a.example/1.crl \n\nhttp://cdn.example/1.crl\n', ocsp: 'https://a.example/ocsp', aia: '' }),
    );
    expect(ok.errors).toEqual({});
    expect(ok.input).toEqual({
      crlDistributionPoints: ['https://a.example/1.crl', 'http://cdn.example/1.crl'],
      ocspUrls: ['https://a.example/ocsp'],
      caIssuersUrls: [],
    });
    expect(caSetUrlsInputSchema.safeParse(ok.input).success).toBe(true);
    expect(ok.noRevocation).toBe(false);

    const bad = caUrlsFormCheck(form({ crl: 'https://a.example/1.crl', ocsp: 'https://a.example/ocsp\nftp://x' }));
    expect(bad.input).toBeNull();
    expect(bad.errors).toEqual({ ocsp: 'URL 2 is not an http:// or https:// URL: ftp://x' });
  });

  it('refuses more URLs of a kind than the API takes, and a form with none at all', () => {
    const eleven = Array.from({ length: 11 }, (_, i) => `https://a.example/${i}.crl`);
    expect(caSetUrlsInputSchema.safeParse({ crlDistributionPoints: eleven }).success).toBe(false);
    expect(caUrlsFormCheck(form({ crl: eleven.join('\n') })).errors).toEqual({ crl: 'At most 10 URLs' });
    const none = caUrlsFormCheck(form({ crl: '  \n', ocsp: '', aia: '' }));
    expect(none.input).toBeNull();
    expect(none.errors.form).toMatch(/^Give at least one URL/);
  });

  it('says when the certificates would carry no CRL and no OCSP URL (allowed), and sends clear as it is', () => {
    const aiaOnly = caUrlsFormCheck(form({ aia: 'https://a.example/ca.crt' }));
    expect(aiaOnly.input).not.toBeNull();
    expect(aiaOnly.noRevocation).toBe(true);
    expect(caUrlsFormCheck(form({ mode: 'clear', crl: 'ftp://ignored' }))).toEqual({
      input: { clear: true },
      errors: {},
      noRevocation: false,
    });
    expect(caSetUrlsInputSchema.safeParse({ clear: true }).success).toBe(true);
  });
});
