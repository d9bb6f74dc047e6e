// `POST /api/v1/cas/:id/sign` checks its usual body by hand and leaves everything else to zod (issue #12 item 2):
// whatever the hand check accepts, the contract's schema must accept with the same result, and what the schema
// refuses the hand check must not accept (else the route would sign what the API contract refuses).
import { describe, expect, it } from 'vitest';
import { caRefSchema, restSignInputSchema } from '@pkim/contract';
import { caRefOf, plainSignInput } from '../src/transports/rest/rest-pki-plugin';

const CSR = '-----BEGIN CERTIFICATE REQUEST-----\nMIIB\n-----END CERTIFICATE REQUEST-----\n';
const NEW_CSR = CSR.replaceAll('CERTIFICATE REQUEST', 'NEW CERTIFICATE REQUEST');

const bodies: unknown[] = [
  { csr: CSR },
  { csr: NEW_CSR },
  { csr: CSR, profile: 'tls-server' },
  { csr: CSR, profile: 'TLS_client.v2-x' },
  { csr: CSR, profile: 'tls-server', ttl: '30d' },
  { csr: CSR, ttl: '720h' },
  { csr: CSR, ttl: '90' },
  { csr: CSR, ttl: '1y' },
  { csr: CSR, ttl: 86_400 },
  { csr: CSR, ttl: 36_500 * 86_400 },
  // refused or reshaped by zod: the hand check must leave these to it
  { csr: CSR, ttl: 36_500 * 86_400 + 1 },
  { csr: CSR, ttl: '36501d' },
  { csr: CSR, ttl: '101y' },
  { csr: CSR, ttl: '0d' },
  { csr: CSR, ttl: 0 },
  { csr: CSR, ttl: -5 },
  { csr: CSR, ttl: 1.5 },
  { csr: CSR, ttl: Number.NaN },
  { csr: CSR, ttl: ' 30d' },
  { csr: CSR, ttl: '30 d' },
  { csr: CSR, ttl: '30D' },
  { csr: CSR, ttl: '1234567890123d' },
  { csr: CSR, ttl: null },
  { csr: CSR, ttl: true },
  { csr: CSR, profile: ' tls-server ' },
  { csr: CSR, profile: '' },
  { csr: CSR, profile: '-tls' },
  { csr: CSR, profile: 'tls server' },
  { csr: CSR, profile: 'a'.repeat(64) },
  { csr: CSR, profile: 'a'.repeat(65) },
  { csr: CSR, profile: null },
  { csr: CSR, profile: 7 },
  { csr: 'nope' },
  { csr: '' },
  { csr: 5 },
  { csr: CSR + 'x'.repeat(64 * 1024) },
  { csr: CSR.padEnd(64 * 1024, '\n') },
  { csr: CSR, extra: 1 },
  { csr: CSR, __proto__: null },
  { profile: 'tls-server' },
  {},
  [],
  [CSR],
  null,
  'text',
  42,
];

describe('plainSignInput (the sign route without zod)', () => {
  it.each(bodies.map((b, i) => [i, b]))('body %i: accepted only as the contract schema accepts it', (_i, body) => {
    const fast = plainSignInput(body);
    const zod = restSignInputSchema.safeParse(body);
    if (fast === undefined) return;
    expect(zod.success).toBe(true);
    expect(fast).toEqual(zod.data);
  });

  it('takes the usual bodies (the route does not fall back to zod for them)', () => {
    for (const body of bodies.slice(0, 10)) expect(plainSignInput(body), JSON.stringify(body)).toBeDefined();
    expect(plainSignInput({ csr: CSR })).toEqual({ csr: CSR, profile: 'tls-server' });
    expect(plainSignInput({ csr: CSR, ttl: 60 })).toEqual({ csr: CSR, profile: 'tls-server', ttl: 60 });
  });

  it.each([
    'ca_0mx813yn67eb5cdffa9bfb392720d',
    'bench-root',
    'my.ca_1',
    ' padded ',
    'with space',
    '',
    'a'.repeat(128),
    'a'.repeat(129),
    'bell\u0007',
    'naïve',
  ])('CA reference %j: as caRefSchema', (ref) => {
    const zod = caRefSchema.safeParse(ref);
    if (zod.success) expect(caRefOf(ref)).toBe(zod.data);
    else expect(() => caRefOf(ref)).toThrow(expect.objectContaining({ code: 'input.invalid' }));
  });
});
