/** Everything time-dependent takes a Clock so tests can move time. */
export interface Clock {
  now(): number; // epoch ms
}
export const systemClock: Clock = { now: () => Date.now() };
export function fixedClock(t: number): Clock & { set(t: number): void; advance(ms: number): void } {
  let cur = t;
  return {
    now: () => cur,
    set: (v) => {
      cur = v;
    },
    advance: (ms) => {
      cur += ms;
    },
  };
}
