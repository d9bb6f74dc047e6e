import { afterAll, describe, expect, it } from 'vitest';
import { join } from 'node:path';
import { pino } from 'pino';
import { createAuthority, SYSTEM_ACTOR } from '@pkim/authority';
import { fixedClock } from '@pkim/shared';
import { runPkim } from '../../../tests/support/cli-in-process';
import { tempDir } from '../../../tests/support/openssl-tools';

const FAST_SCRYPT = { N: 1024, r: 8, p: 1, keyLength: 32, saltLength: 16 };

describe('pkim user: the locked state comes from the login throttle; unlock lifts it', () => {
  const tmp = tempDir('pkim-user-cli-');
  const dataDir = join(tmp.dir, 'data');
  const pkim = (args: string[], input?: string) => runPkim(args, { dataDir, input });
  afterAll(() => tmp.cleanup());

  it('lists a throttled user as locked, unlocks it, and refuses an unknown user in one line', async () => {
    expect(pkim(['init', '--json']).code).toBe(0);

    // failed logins from two addresses, as the server records them, an hour ahead of the real clock (the CLI reads
    // the blocks with the real clock, however slowly the test runs); cheap password hashing for the test user
    const clock = fixedClock(Date.now() + 3_600_000);
    const a = await createAuthority({
      dataDir,
      clock,
      logger: pino({ level: 'silent' }),
      auth: { scrypt: FAST_SCRYPT },
    });
    try {
      await a.auth.createUser({ username: 'dana', password: 'dana-password-123', role: 'operator' }, SYSTEM_ACTOR);
      for (const ip of ['192.0.2.10', '192.0.2.11'])
        for (let i = 0; i < 6; i++) await a.auth.login('dana', `wrong-${i}`, { ip }).catch(() => undefined);
    } finally {
      await a.close();
    }
    const listed = pkim(['user', 'list', '--json']).json<{
      items: { username: string; lockedUntil: string | null; lockedAddresses: number }[];
      nextCursor: null;
    }>();
    expect(listed.nextCursor).toBeNull();
    const dana = listed.items.find((u) => u.username === 'dana')!;
    expect(dana.lockedAddresses).toBe(2);
    expect(Date.parse(dana.lockedUntil!)).toBeGreaterThan(Date.now());
    expect(pkim(['user', 'list']).stdout).toMatch(/dana\s+operator\s+locked until .* \(2 addresses\)/);

    const unlocked = pkim(['user', 'unlock', 'dana', '--json']);
    expect(unlocked.code, unlocked.stderr).toBe(0);
    expect(unlocked.json()).toMatchObject({ username: 'dana', cleared: 2 });
    const after = pkim(['user', 'list', '--json']).json<{ items: { username: string }[] }>().items;
    expect(after.find((u) => u.username === 'dana')).toMatchObject({ lockedUntil: null, lockedAddresses: 0 });

    // a reset password is one the user must change at the next sign-in: the API's flag, and the STATE column
    expect(after.find((u) => u.username === 'dana')).toMatchObject({ mustChangePassword: false });
    const reset = pkim(['user', 'reset-password', 'dana', '--json']);
    expect(reset.code, reset.stderr).toBe(0);
    const flagged = pkim(['user', 'list', '--json']).json<{ items: { username: string }[] }>().items;
    expect(flagged.find((u) => u.username === 'dana')).toMatchObject({ mustChangePassword: true });
    expect(pkim(['user', 'list']).stdout).toMatch(/dana\s+operator\s+active, new password due/);

    const unknown = pkim(['user', 'unlock', 'nobody']);
    expect(unknown.code).not.toBe(0);
    expect(unknown.stderr.trim()).toBe("error: user.not_found: no user 'nobody'");
  }, 180_000);
});
