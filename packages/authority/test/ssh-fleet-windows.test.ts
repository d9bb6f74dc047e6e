/**
 * The SSH fleet-token rate windows a process holds in memory: only the tokens used within the last minute (a token
 * used once is released a minute later), and a token's limit still holds within its window.
 */
import { describe, expect, it } from 'vitest';
import { fixedClock } from '@pkim/shared';
import type { Actor } from '@pkim/authority';
import { internalsOf } from '@pkim/authority/internals';
import { ENGINES } from '../../../tests/support/engines';
import { authorityOnEngine } from '../../../tests/support/authority-on-engine';
import { expectPkiError } from '../../../tests/support/test-kit';
import { describeCertificate, generateSshKey } from '../../../tests/support/openssh';

const admin: Actor = { id: 'cli:test', role: 'admin' };

describe.each(ENGINES)('fleet token rate windows on $name', (engine) => {
  const clock = fixedClock(Date.UTC(2026, 11, 1, 12, 0, 0));
  const on = authorityOnEngine(engine, { clock });
  const held = () => internalsOf(on.authority).held.fleetWindows();
  const fleetToken = async (name: string, ratePerMinute = 60) =>
    (await on.authority.ssh.createFleetToken({ name, operations: ['sign-host'], ratePerMinute }, admin)).token;
  let keys = 0;
  const sign = (token: string, host: string) =>
    on.authority.ssh.fleetSign(token, {
      type: 'host',
      host,
      publicKey: generateSshKey(on.dataDir, `key-${++keys}`).pub,
    });

  it('holds the windows of the tokens used within the last minute only: one used once is released', async () => {
    await on.authority.ssh.createCa({ name: 'hosts', type: 'host' }, admin);
    expect(held()).toBe(0);
    const tokens = [];
    for (let i = 0; i < 12; i++) tokens.push(await fleetToken(`boot-${i}`));
    for (const [i, t] of tokens.entries()) await sign(t, `web${i}.example.com`);
    expect(held()).toBe(12);
    clock.advance(60_000); // every window is a minute old: it decides nothing any more
    const issued = await sign(await fleetToken('boot-next'), 'next.example.com');
    expect(held()).toBe(1);
    // an independent reader of the certificate: ssh-keygen
    expect(describeCertificate(issued.line)).toContain('next.example.com');
    // a swept token still signs
    await sign(tokens[0]!, 'again.example.com');
    expect(held()).toBe(2);
  });

  it("holds a token's limit within its window, the sweep run in it; frees it a minute after a request", async () => {
    clock.advance(120_000);
    await sign(await fleetToken('boot-other'), 'o1.example.com'); // the sweep runs here, then a minute later
    const t = await fleetToken('boot-limited', 2);
    clock.advance(30_000);
    await sign(t, 'l1.example.com');
    clock.advance(20_000);
    await sign(t, 'l2.example.com');
    clock.advance(10_000); // a minute after the last sweep: it runs with this request and must keep this window
    const refused = await expectPkiError(sign(t, 'l3.example.com'), 'rate.limited');
    expect(refused.message).toContain('2 requests a minute');
    expect(held()).toBe(1); // boot-other's window (a minute old) swept, boot-limited's kept
    clock.advance(31_000); // l1 is over a minute old: one more fits
    await sign(t, 'l3.example.com');
  });
});
