// `issuing_ca` and `ca_chain` of the Vault issue/sign answers are kept per CA chain (vault-issue-service.ts
// `chainOf`, issue #12), their JSON strings per PEM (vault-reply.ts `jsonTextOf`): every answer still carries the
// chain of ITS request — the whole chain, or without the root when `remove_roots_from_chain` asks, in any order of
// requests —, is JSON.stringify of itself, and each certificate verifies with openssl.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { opensslCsr } from '../../../../tests/support/openssl-tools';
import { opensslVerify } from '../../../../tests/support/verifiers';
import { openVaultFixture, vaultCall, WEB_ROLE, type VaultFixture } from './vault-test-support';

let f: VaultFixture;
beforeAll(async () => {
  f = await openVaultFixture({}, { roles: { web: { ...WEB_ROLE, key_type: 'ec', key_bits: 256 } } });
}, 60_000);
afterAll(async () => f?.close());

const trimmed = (pem: string) => pem.trim();

async function signed(cn: string, removeRoots: boolean | undefined, verb: 'sign' | 'issue' = 'sign') {
  const { csrPem } = opensslCsr({ keyType: 'ec-p256', subject: `/CN=${cn}`, sans: [`DNS:${cn}`] });
  const body: Record<string, unknown> = verb === 'sign' ? { csr: csrPem, common_name: cn } : { common_name: cn };
  if (removeRoots !== undefined) body.remove_roots_from_chain = removeRoots;
  const r = await vaultCall(f, 'POST', `pki/${verb}/web`, body);
  expect(r.status, r.text).toBe(200);
  expect(r.text, 'the answer is JSON.stringify of itself (vault-reply.ts jsonTextOf)').toBe(JSON.stringify(r.body));
  const v = opensslVerify({ leafPem: r.body.data.certificate, chainPems: [f.intermediatePem], rootPem: f.rootPem });
  expect(v.ok, v.output).toBe(true);
  return r.body.data as { issuing_ca: string; ca_chain: string[] };
}

describe('Vault issue/sign answers: the CA chain of each request', () => {
  it('whole chain, chain without the root, whole chain again (sign and issue), each as its request asked', async () => {
    const whole = [trimmed(f.intermediatePem), trimmed(f.rootPem)];
    const withoutRoot = [trimmed(f.intermediatePem)];
    const asked: [string, boolean | undefined, 'sign' | 'issue', string[]][] = [
      ['a.example.com', undefined, 'sign', whole],
      ['b.example.com', true, 'sign', withoutRoot],
      ['c.example.com', false, 'sign', whole],
      ['d.example.com', true, 'issue', withoutRoot],
      ['e.example.com', undefined, 'issue', whole],
      ['f.example.com', true, 'sign', withoutRoot],
    ];
    for (const [cn, removeRoots, verb, chain] of asked) {
      const data = await signed(cn, removeRoots, verb);
      expect(data.issuing_ca, cn).toBe(trimmed(f.intermediatePem));
      expect(data.ca_chain, cn).toEqual(chain);
    }
  });
});
