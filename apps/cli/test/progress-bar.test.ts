import { describe, expect, it } from 'vitest';
import { createProgressBar, renderProgress } from '../src/progress-bar';

/** a terminal-like stream that records what is written */
function fakeTerminal(isTTY: boolean): NodeJS.WriteStream & { text: string } {
  const s = {
    isTTY,
    columns: 100,
    text: '',
    write(chunk: string) {
      s.text += chunk;
      return true;
    },
  };
  return s as unknown as NodeJS.WriteStream & { text: string };
}

describe('the CLI progress bar', () => {
  it('shows count, percentage, rate and ETA', () => {
    expect(renderProgress({ label: 'issue', done: 250, total: 500, elapsedMs: 5000, width: 10 })).toBe(
      'issue [#####-----] 250/500  50% 50.0/s ETA 5s',
    );
    expect(renderProgress({ label: 'check', done: 10, total: 1000, elapsedMs: 10_000, width: 4 })).toBe(
      'check [----] 10/1000   1% 1.0/s ETA 16m30s',
    );
    expect(renderProgress({ label: 'issue', done: 0, total: 5, elapsedMs: 0, width: 4 })).toContain('ETA ?');
  });

  it('draws on a terminal only after the delay, at most every 100 ms, and clears its line at the end', () => {
    let t = 0;
    const tty = fakeTerminal(true);
    const bar = createProgressBar({ enabled: true, stream: tty, delayMs: 2000, now: () => t });
    bar.update('issue', 1, 100);
    t = 1999;
    bar.update('issue', 50, 100);
    expect(tty.text).toBe(''); // a short batch stays quiet
    t = 2500;
    bar.update('issue', 60, 100);
    expect(tty.text).toBe(
      `\r\x1b[2K${renderProgress({ label: 'issue', done: 60, total: 100, elapsedMs: 2500, width: 30 })}`,
    );
    t = 2550;
    bar.update('issue', 61, 100); // throttled
    expect(tty.text.split('\r').length).toBe(2);
    t = 2700;
    bar.update('issue', 100, 100);
    expect(tty.text).toContain('100/100 100%');
    bar.finish();
    expect(tty.text.endsWith('\r\x1b[2K')).toBe(true);
  });

  it('stays quiet without a terminal or when disabled (--json)', () => {
    let t = 0;
    for (const [stream, enabled] of [
      [fakeTerminal(false), true],
      [fakeTerminal(true), false],
    ] as const) {
      const bar = createProgressBar({ enabled, stream, delayMs: 0, now: () => t });
      t = 5000;
      bar.update('issue', 10, 20);
      bar.finish();
      expect(stream.text).toBe('');
    }
  });
});
