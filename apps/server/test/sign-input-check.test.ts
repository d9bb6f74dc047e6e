// The CSR sign route's body check (rest-pki-plugin.ts `checkedSignInput`, issue #12) runs the whole zod schema only
// for `profile`/`ttl` pairs it has not accepted before; for the others only the CSR's schema. Every body must get
// exactly what restSignInputSchema gives — the same output (keys included) or the same 400 — whether its pair was
// seen or not, so each body below is checked after bodies that fill the kept pairs, and twice.
import { describe, expect, it } from 'vitest';
import { restSignInputSchema } from '@pkim/contract';
import { PkiError } from '@pkim/shared';
import { checkedSignInput } from '../src/transports/rest/rest-pki-plugin';
import { zodIssueCode, zodMessage } from '../src/error-mapping';
import { opensslCsr } from '../../../tests/support/openssl-tools';

const csr = opensslCsr({
  keyType: 'ec-p256',
  subject: '/CN=input.example.com',
  sans: ['DNS:input.example.com'],
}).csrPem;

/** what the schema alone answers: its output, or the route's 400 code, message and issues */
function bySchema(body: unknown) {
  const r = restSignInputSchema.safeParse(body);
  if (r.success) return { ok: r.data };
  return {
    // input.invalid, or csr.invalid for a CSR field that is no PEM CSR (every channel); the route's one-line message
    code: zodIssueCode(r.error.issues[0]),
    message: zodMessage(r.error),
    issues: r.error.issues.map((i) => ({ path: i.path.map(String).join('.'), message: i.message })),
  };
}

function byCheck(body: unknown) {
  try {
    return { ok: checkedSignInput(body) };
  } catch (e) {
    if (!(e instanceof PkiError)) throw e;
    return { code: e.code, message: e.message, issues: (e.details as { issues: unknown }).issues };
  }
}

const accepted = [
  { csr },
  { csr, profile: 'tls-server' },
  { csr, profile: ' tls-client ' },
  { csr, ttl: '30d' },
  { csr, profile: 'tls-server', ttl: '30d' },
  { csr, profile: 'tls-server', ttl: 86_400 },
  { csr, ttl: 3600 },
];
/** bodies whose profile/ttl pair is one of the above: only the rest is wrong */
const refusedWithKeptPairs = [
  { csr: 'not a PEM' },
  { csr: 42, profile: 'tls-server' },
  { csr: `${'x'.repeat(64 * 1024)}-----BEGIN CERTIFICATE REQUEST-----`, ttl: '30d' },
  { profile: 'tls-server', ttl: '30d' },
  { csr, profile: 'tls-server', ttl: '30d', extra: true },
  { csr, profile: ' tls-client ', subject: 'CN=x' },
  { csr: null, ttl: 3600 },
];
const refused = [
  { csr, profile: 'no spaces allowed' },
  { csr, profile: '' },
  { csr, ttl: '30 days' },
  { csr, ttl: 0 },
  { csr, ttl: 1.5 },
  { csr, ttl: -0 },
  { csr, profile: 7 },
  { csr, ttl: true },
  { csr, ttl: ['30d'] },
  { csr, profile: 'tls-server\u0000n3600' },
  [csr],
  null,
  'csr',
  {},
];

describe('checkedSignInput answers as restSignInputSchema', () => {
  it('gives the same output or the same 400 for each body, before and after its profile/ttl pair is kept', () => {
    for (const round of [1, 2]) {
      for (const body of [...accepted, ...refusedWithKeptPairs, ...refused]) {
        const want = bySchema(body);
        expect(byCheck(body), `round ${round}: ${JSON.stringify(body)?.slice(0, 120)}`).toStrictEqual(want);
      }
    }
    // the accepted bodies were accepted (the table above is not all refusals)
    for (const body of accepted) expect(byCheck(body).ok?.csr).toBe(csr);
  });
});
