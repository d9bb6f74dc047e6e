// Ids draw their random part from a pool of CSPRNG bytes refilled when used up (issue #12, main-thread CPU per
// certificate): the format stays `<prefix>_<time base 36, 9><20 hex>`, and no id repeats across refills.
import { describe, expect, it } from 'vitest';
import { hasPrefix, newId } from '../src/ids';

describe('newId', () => {
  it('keeps its format and never repeats, across several refills of the random pool', () => {
    const ids = Array.from({ length: 2_500 }, (_, i) => newId(i % 2 ? 'crt' : 'evt'));
    for (const [i, id] of ids.entries()) {
      expect(id).toMatch(/^(crt|evt)_[0-9a-z]{9}[0-9a-f]{20}$/);
      expect(hasPrefix(id, i % 2 ? 'crt' : 'evt')).toBe(true);
    }
    expect(new Set(ids).size).toBe(ids.length);
    // the random parts too: a pool handed out twice would repeat them even when the time differs
    expect(new Set(ids.map((id) => id.slice(-20))).size).toBe(ids.length);
  });

  it('orders ids of different milliseconds by time', async () => {
    const a = newId('ca');
    await new Promise((r) => setTimeout(r, 5));
    const b = newId('ca');
    expect(a.slice(0, 12) < b.slice(0, 12)).toBe(true);
  });
});
