// `pkim ca create --external` and `pkim ca import` in both modes (once on a local data directory, once through a
// `pkim serve`: REST `POST /api/v1/cas/external`, `PUT /api/v1/cas/:id/certificate`): the key is made where the CA
// lives, the CSR comes back (printed and --csr-out), an openssl root outside the deployment signs it, and the import
// makes the CA active (--issuer-cert: the outside root, whose key verifies its signature); it then issues. Refused
// alike in both modes, each with its code and the CA left pending: an unreadable PEM, a certificate for another key or
// another subject, no issuer certificate for an outside issuer, an outside chain without its intermediate, an issuer
// chain whose intermediate does not verify with the root given, an unknown CA, --external with --parent or --validity,
// a taken name; and a second import of an active CA. The outside CA is an openssl root and intermediate: --issuer-cert
// is their chain, which is stored and served (`ca export --chain`, `cert issue --out-chain`). openssl checks the CSR's
// signature, the imported CA certificate against the outside root, and openssl, Go and certtool a leaf of it with
// the chain the CLI wrote (-untrusted chain, -CAfile outside root).
import { describe, expect, it } from 'vitest';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { runPkimAsync } from '../../../tests/support/cli-in-process';
import { opensslSignCaCsr, opensslSignCaCsrUnderIntermediate, tempDir } from '../../../tests/support/openssl-tools';
import { certtoolVerify, goVerify, opensslRaw, opensslVerify } from '../../../tests/support/verifiers';
import { bothModesSuite, comparableShape, expectSameSteps, stepRecorder } from '../../../tests/support/remote-server';

const tmp = tempDir('pkim-remote-external-');
const file = (name: string) => join(tmp.dir, name);
const XDG = { XDG_CONFIG_HOME: file('xdg') };

/** CSRs, fingerprints and ids inside messages differ between the modes as the fields do */
const shape = (json: unknown): unknown =>
  JSON.parse(
    JSON.stringify(comparableShape(json, tmp.dir, ['csr', 'fingerprint'])).replace(/\b[0-9a-f]{16,64}\b/g, '<hex>'),
  ) as unknown;

/** per mode: the outside root (PEM) */
const outsideRoot: Record<string, string> = {};

async function flow(pkim: (...args: string[]) => ReturnType<typeof runPkimAsync>, dir: string) {
  mkdirSync(dir, { recursive: true });
  const { steps, run } = stepRecorder(pkim);
  const f = (name: string) => join(dir, name);
  const subject = '--subject CN=External-Issuing,O=Example --key-type ec-p256';
  const created = await run(
    'ca create --external',
    `ca create --external --name ext-issuing ${subject} --path-len 0 --csr-out ${f('ext.csr')}`,
  );
  await run('ca create --external, name taken', `ca create --external --name ext-issuing ${subject}`);
  await run('ca create --external --parent', `ca create --external --parent ext-issuing --name x ${subject}`);
  await run('ca create --external --validity', `ca create --external --validity 5y --name x ${subject}`);
  // without a CSR (the create refused) the steps below still run, and the comparison shows where the modes differ
  const csr = existsSync(f('ext.csr')) ? readFileSync(f('ext.csr'), 'utf8') : undefined;
  const outside = csr ? opensslSignCaCsrUnderIntermediate(csr) : { rootPem: '', intermediatePem: '', subPem: '' };
  writeFileSync(f('outside-root.pem'), outside.rootPem);
  writeFileSync(f('outside-chain.pem'), outside.intermediatePem + outside.rootPem);
  writeFileSync(f('ext.pem'), outside.subPem);
  // the intermediate with a root of the same name and another key; the CSR's key under another subject
  writeFileSync(f('impostor-chain.pem'), outside.intermediatePem + (csr ? opensslSignCaCsr(csr).rootPem : ''));
  const renamed = csr ? opensslSignCaCsr(csr, undefined, { subject: '/O=Example/CN=Renamed' }) : outside;
  writeFileSync(f('renamed.pem'), renamed.subPem);
  writeFileSync(f('renamed-root.pem'), renamed.rootPem);
  writeFileSync(f('not-a-cert.pem'), 'not a certificate\n');
  outsideRoot[dir] = outside.rootPem;
  await run('ca import, not a certificate', `ca import ext-issuing --cert ${f('not-a-cert.pem')}`);
  await run('ca import, another key', `ca import ext-issuing --cert ${f('outside-root.pem')}`);
  const renamedImport = `ca import ext-issuing --cert ${f('renamed.pem')} --issuer-cert ${f('renamed-root.pem')}`;
  await run('ca import, another subject', renamedImport);
  await run('ca import, no issuer certificate', `ca import ext-issuing --cert ${f('ext.pem')}`);
  const rootOnly = `ca import ext-issuing --cert ${f('ext.pem')} --issuer-cert ${f('outside-root.pem')}`;
  await run('ca import, outside chain without its intermediate', rootOnly);
  const impostor = `ca import ext-issuing --cert ${f('ext.pem')} --issuer-cert ${f('impostor-chain.pem')}`;
  await run('ca import, issuer certificate of another key', impostor);
  const issuer = `--issuer-cert ${f('outside-chain.pem')}`;
  await run('ca import, unknown CA', `ca import no-such-ca --cert ${f('ext.pem')} ${issuer}`);
  await run('ca show, still pending', 'ca show ext-issuing');
  await run('ca import', `ca import ${String(created.id)} --cert ${f('ext.pem')} ${issuer}`);
  await run('ca import again', `ca import ext-issuing --cert ${f('ext.pem')} ${issuer}`);
  const outs = `--out-cert ${f('leaf.pem')} --out-chain ${f('leaf-chain.pem')}`;
  await run('cert issue', `cert issue --ca ext-issuing --cn app.example.com --ttl 1d ${outs}`);
  await run('ca export', `ca export ext-issuing --out ${f('ca.pem')}`);
  await run('ca export --chain', `ca export ext-issuing --chain --out ${f('ca-chain.pem')}`);
  return steps;
}

describe('pkim ca create --external and ca import, local and remote', () => {
  const runs = bothModesSuite(tmp.dir, XDG, flow, { after: () => tmp.cleanup() });

  it('every step: the same exit code and the same JSON in both modes', () => {
    expectSameSteps(runs.local, runs.remote, shape);
    const step = (name: string) => runs.remote[name]!;
    const error = (name: string) => (step(name).json as { error: { code: string; message: string } }).error;
    expect(step('ca create --external').code).toBe(0);
    expect(step('ca create --external').json).toMatchObject({
      name: 'ext-issuing',
      status: 'pending',
      serial: null,
      csr: expect.stringMatching(/^-----BEGIN CERTIFICATE REQUEST-----/) as unknown,
    });
    const refused: [string, number, string, RegExp][] = [
      ['ca create --external, name taken', 4, 'ca.name_taken', /ext-issuing/],
      ['ca create --external --parent', 2, 'input.invalid', /--external and --parent exclude each other/],
      ['ca create --external --validity', 2, 'input.invalid', /lifetime is set by the outside CA/],
      ['ca import, not a certificate', 2, 'certificate.invalid', /not a certificate/],
      ['ca import, another key', 2, 'ca.certificate_mismatch', /public keys differ/],
      ['ca import, another subject', 2, 'ca.certificate_mismatch', /CN=Renamed.* is not the CSR's subject/],
      ['ca import, no issuer certificate', 2, 'ca.issuer_unverified', /not a CA here: give its certificate/],
      [
        'ca import, outside chain without its intermediate',
        2,
        'ca.issuer_unverified',
        /given is for CN=Outside Root, but the certificate was issued by CN=Outside Intermediate/,
      ],
      ['ca import, issuer certificate of another key', 2, 'ca.issuer_unverified', /Intermediate's signature does not/],
      ['ca import, unknown CA', 3, 'ca.not_found', /no-such-ca/],
      ['ca import again', 4, 'ca.not_active', /only a pending CA/],
    ];
    for (const [name, code, pkiCode, message] of refused) {
      expect([step(name).code, error(name).code], name).toEqual([code, pkiCode]);
      expect(error(name).message, name).toMatch(message);
    }
    // nothing changed by the refusals: the CA is pending, with no certificate
    expect(step('ca show, still pending').json).toMatchObject({
      status: 'pending',
      certificatePem: null,
      csr: (step('ca create --external').json as { csr: string }).csr,
    });
    // what the certificate says counts: the outside CA set no path length (the pending CA asked for 0)
    expect(step('ca create --external').json).toMatchObject({ pathLen: 0 });
    expect(step('ca import').json).toMatchObject({ name: 'ext-issuing', status: 'active', pathLen: null });
    expect(step('ca import').json).not.toHaveProperty('csr');
    expect(step('cert issue').code).toBe(0);
  });

  it.each(['local-out', 'remote-out'])(
    '%s: the CSR, the imported CA and its leaf verify with the chain served (openssl, Go, certtool)',
    (mode) => {
      const dir = file(mode);
      const runOf = mode === 'local-out' ? runs.local : runs.remote;
      const csr = readFileSync(join(dir, 'ext.csr'), 'utf8');
      expect(csr).toBe((runOf['ca create --external']!.json as { csr: string }).csr);
      const req = opensslRaw(['req', '-verify', '-noout', '-subject'], Buffer.from(csr));
      expect(req.output).toMatch(/verify OK/i);
      expect(req.stdout).toMatch(/CN\s*=\s*External-Issuing/);
      const caPem = readFileSync(join(dir, 'ca.pem'), 'utf8');
      expect(caPem).toBe((runOf['ca import']!.json as { certificatePem: string }).certificatePem);
      const rootPem = outsideRoot[dir]!;
      // the chain served: the CA, the outside intermediate, the outside root (stored at import)
      const chainPem = readFileSync(join(dir, 'ca-chain.pem'), 'utf8');
      const certs = chainPem.match(/-----BEGIN CERTIFICATE-----[^-]+-----END CERTIFICATE-----\n/g) ?? [];
      expect(certs).toHaveLength(3);
      expect(certs[0]!.trim()).toBe(caPem.trim());
      expect(certs[2]!.trim()).toBe(rootPem.trim());
      expect(readFileSync(join(dir, 'leaf-chain.pem'), 'utf8')).toBe(chainPem);
      const ca = opensslVerify({ leafPem: caPem, chainPems: [certs[1]!], rootPem });
      expect(ca.ok, ca.output).toBe(true);
      const leafPem = readFileSync(join(dir, 'leaf.pem'), 'utf8');
      const leaf = opensslVerify({
        leafPem,
        chainPems: [chainPem],
        rootPem,
        purpose: 'sslserver',
        hostname: 'app.example.com',
      });
      expect(leaf.ok, leaf.output).toBe(true);
      const go = goVerify({ leafPem, intermediatesPems: certs, rootPem, dnsName: 'app.example.com' });
      expect(go.ok, go.output).toBe(true);
      const gnutls = certtoolVerify({ leafPem, chainPems: certs, rootPem });
      expect(gnutls.ok, gnutls.output).toBe(true);
    },
  );
});
