// The stand-in of a service made on its first call (lazy-service.ts): before and after the service is made, a caller
// cannot tell it from the service — the same results, and what a method throws reaches the caller as a rejection.
import { describe, expect, it } from 'vitest';
import { lazyService } from '../src/lazy-service';

interface Service {
  add(a: number, b: number): Promise<number>;
  /** not an async function: it throws before it returns a promise */
  refuse(why: string): Promise<never>;
  part: { twice(n: number): Promise<number> };
}

function made(): { service: Service; calls: string[]; makes: () => number } {
  const calls: string[] = [];
  let makes = 0;
  const service = lazyService<Service, never, 'part'>(
    async () => {
      makes++;
      await new Promise((resolve) => setImmediate(resolve));
      return {
        add: async (a, b) => (calls.push('add'), a + b),
        refuse: (why) => {
          calls.push('refuse');
          throw new Error(why);
        },
        part: { twice: async (n) => (calls.push('twice'), 2 * n) },
      };
    },
    { parts: ['part'] },
  );
  return { service, calls, makes: () => makes };
}

/** calls fn and returns what it returned; fails the test if it threw */
function returned<T>(fn: () => T): T {
  let out: T | undefined;
  expect(() => (out = fn())).not.toThrow();
  return out!;
}

describe('a lazy service stand-in', () => {
  it('makes the service once, at its first call, and answers every call as the service does', async () => {
    const { service, calls, makes } = made();
    expect(makes()).toBe(0);
    const first = [service.add(1, 2), service.part.twice(4), service.add(3, 4)];
    expect(await Promise.all(first)).toEqual([3, 8, 7]);
    expect(makes()).toBe(1);
    // made: the same answers, no new service
    expect(await service.add(5, 6)).toBe(11);
    expect(await service.part.twice(21)).toBe(42);
    expect(makes()).toBe(1);
    expect(calls.sort()).toEqual(['add', 'add', 'add', 'twice', 'twice']);
  });

  it("turns what a method throws into the call's rejection, before and after the service is made", async () => {
    const { service } = made();
    await expect(returned(() => service.refuse('before'))).rejects.toThrow('before');
    await expect(returned(() => service.refuse('after'))).rejects.toThrow('after');
    // a member the service lacks: a rejection too, not a throw
    const missing = (service as unknown as Record<string, () => Promise<unknown>>).nothing!;
    await expect(returned(() => missing())).rejects.toThrow(TypeError);
  });

  it('rejects every call when the service cannot be made, and is not a thenable', async () => {
    const failing = lazyService<Pick<Service, 'add'>>(() => Promise.reject(new Error('no module')));
    await expect(failing.add(1, 2)).rejects.toThrow('no module');
    await expect(failing.add(1, 2)).rejects.toThrow('no module');
    expect((failing as unknown as { then?: unknown }).then).toBeUndefined();
  });
});
