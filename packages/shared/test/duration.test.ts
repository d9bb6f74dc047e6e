// Lifetimes in messages are printed the way people write them: whole years as years (`--ttl 30y` → `30y`, once
// `10950d`), else the largest exact unit of days, hours, minutes, seconds.
import { describe, expect, it } from 'vitest';
import { formatDuration, formatLifetime, parseDuration } from '../src/duration';

describe('formatLifetime', () => {
  it.each([
    ['30y', '30y'],
    ['1y', '1y'],
    ['9125d', '25y'],
    ['730d', '2y'],
    ['398d', '398d'],
    ['366d', '366d'],
    ['36h', '36h'],
    ['24h', '1d'],
    ['90m', '90m'],
    ['45s', '45s'],
  ])('%s → %s', (given, shown) => {
    expect(formatLifetime(parseDuration(given))).toBe(shown);
  });

  it('ignores a remainder within the tolerance (the backdated minute of a validity period)', () => {
    expect(formatLifetime(parseDuration('30y') + 60_000, 60_000)).toBe('30y');
    expect(formatLifetime(parseDuration('500d') + 60_000, 60_000)).toBe('500d');
    expect(formatLifetime(parseDuration('30y') + 60_000)).toBe('15768001m');
  });

  it('leaves formatDuration (API values such as a profile maximum) in days', () => {
    expect(formatDuration(parseDuration('25y'))).toBe('9125d');
  });
});
