// Vault's JSON answers are written by `jsonTextOf` (vault-reply.ts, issue #12): the text of JSON.stringify, with an
// issue/sign answer's CA PEMs escaped once per PEM. Every body below must give exactly JSON.stringify's text, the
// first time and again when its PEMs are kept.
import { describe, expect, it } from 'vitest';
import { jsonTextOf } from '../../src/transports/vault/vault-reply';
import { opensslCsr } from '../../../../tests/support/openssl-tools';

const pem = (n: number) => opensslCsr({ keyType: 'ec-p256', subject: `/CN=pem${n}.example.com` }).csrPem.trim();
const [leaf, issuing, root] = [pem(1), pem(2), pem(3)];

const envelope = (data: unknown, extra: Record<string, unknown> = {}) => ({
  ...extra,
  request_id: '6a0c1f2e-0000-4000-8000-000000000000',
  lease_id: '',
  renewable: false,
  lease_duration: 0,
  data,
  wrap_info: null,
  warnings: null,
  auth: null,
});

const bodies: unknown[] = [
  envelope({ certificate: leaf, issuing_ca: issuing, serial_number: '01:02', expiration: 1, not_before: 0 }),
  envelope({ certificate: leaf, issuing_ca: issuing, ca_chain: [issuing, root], serial_number: 'ab', expiration: 2 }),
  envelope({ certificate: leaf, issuing_ca: issuing, ca_chain: [issuing] }, { mount_type: 'pki' }),
  envelope({ issuing_ca: issuing, ca_chain: [issuing, root], private_key: 'k\n"q"', private_key_type: undefined }),
  envelope({ issuing_ca: 'MIIB+base64/der==', ca_chain: ['MIIB+base64/der==', 'MIIC'], certificate: 'MIID' }),
  envelope({ issuing_ca: issuing, ca_chain: [issuing, 7], f: () => 1, s: Symbol('x'), u: undefined, n: null }),
  envelope({ ca_chain: [root, issuing], issuing_ca: 12, '2': 'two', '1': 'one' }),
  { ...envelope({ issuing_ca: issuing }), warnings: ['TTL "1h" is "longer"\n'], lease_id: 'pki/issue/web/x' },
  envelope({ issuing_ca: issuing, nested: { issuing_ca: root, ca_chain: [root] }, dates: new Date(0) }),
  envelope({}),
  envelope([issuing]),
  envelope(null),
  { errors: ['permission denied'] },
  { errors: [] },
  { data: { issuing_ca: issuing, toJSON: () => 'x' } },
  { data: Object.assign(Object.create(null) as object, { issuing_ca: issuing }) },
  [envelope({ issuing_ca: issuing })],
  null,
  'text',
];

describe('jsonTextOf writes what JSON.stringify writes', () => {
  it('for answers with and without CA PEMs, the first time and with the PEMs kept', () => {
    for (const round of [1, 2]) {
      for (const [i, body] of bodies.entries()) {
        expect(jsonTextOf(body), `round ${round}, body ${i}`).toBe(JSON.stringify(body));
      }
    }
  });
});
