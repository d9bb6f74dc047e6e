// What the console says a CA's certificates carry (lib/pki.ts caRevocationUrls: the CA page's settings card and its
// no-URLs warning) is what the signing pipeline writes into them (url-plan.ts urlsOfCa, urlsFromBase): one function
// for the paths under a base URL. The page against a real server, the URLs read back by openssl from a leaf:
// ca-settings-console-e2e.
import { describe, expect, it } from 'vitest';
import { urlsFromBase, urlsOfCa } from '../../../../packages/authority/src/url-plan';
import { caRevocationUrls } from '../../src/lib/pki';

describe('caRevocationUrls', () => {
  const own = { crlDistributionPoints: ['http://crl.example/a.crl'], ocspUrls: [], caIssuersUrls: [] };
  it("is the CA's own setting when it has one", () => {
    const u = caRevocationUrls({ id: 'ca_1', urls: own }, 'https://pki.example.com');
    expect(u).toMatchObject({ source: 'ca', crlDistributionPoints: own.crlDistributionPoints, lacksRevocation: false });
  });
  it("is what the signing pipeline writes under the server's public URL for a CA without its own", () => {
    const u = caRevocationUrls({ id: 'ca_1', urls: null }, 'https://pki.example.com/');
    const { crlDistributionPoints, ocspUrls, caIssuersUrls } = urlsOfCa(
      { id: 'ca_1', urls: null },
      'https://pki.example.com/',
    );
    expect(u).toEqual({ source: 'server', crlDistributionPoints, ocspUrls, caIssuersUrls, lacksRevocation: false });
    expect(u?.ocspUrls).toEqual(['https://pki.example.com/ocsp']);
    expect(urlsFromBase('https://pki.example.com', 'ca_1').crlDistributionPoints).toEqual(u?.crlDistributionPoints);
  });
  it('says a CA without URLs on a server without a public URL lacks revocation; claims nothing when unknown', () => {
    expect(caRevocationUrls({ id: 'ca_1', urls: null }, null)).toMatchObject({ source: 'none', lacksRevocation: true });
    expect(caRevocationUrls({ id: 'ca_1', urls: null }, undefined)).toBeNull();
    const none = { crlDistributionPoints: [], ocspUrls: [], caIssuersUrls: ['http://x.example/ca.crt'] };
    expect(caRevocationUrls({ id: 'ca_1', urls: none }, 'https://pki.example.com')?.lacksRevocation).toBe(true);
  });
});
