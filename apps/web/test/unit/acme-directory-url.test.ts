// The URL the console's ACME page shows and puts in its certbot command (lib/pki.ts acmeDirectoryUrl): the server's
// own directoryUrl when it has a public URL (behind a proxy the console's origin may be an internal address), else the
// console's origin and the directory's path. The page against a real server and certbot: console-spiffe-acme-e2e.
import { describe, expect, it } from 'vitest';
import { acmeDirectoryUrl } from '../../src/lib/pki';

describe('acmeDirectoryUrl', () => {
  const path = '/acme/ca_1/directory';
  it("is the server's directoryUrl when it has one", () => {
    const d = { directoryPath: path, directoryUrl: 'https://pki.example.com/acme/ca_1/directory' };
    expect(acmeDirectoryUrl(d, 'http://10.0.0.5:8200')).toBe('https://pki.example.com/acme/ca_1/directory');
  });
  it("is the console's origin and the path when the server has no public URL", () => {
    expect(acmeDirectoryUrl({ directoryPath: path, directoryUrl: null }, 'http://127.0.0.1:8200')).toBe(
      'http://127.0.0.1:8200/acme/ca_1/directory',
    );
  });
});
