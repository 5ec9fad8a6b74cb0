import { afterEach, describe, expect, it, vi } from 'vitest';
import { Poller } from '../src/db/poller.js';

describe('Poller', () => {
  afterEach(() => {
    vi.useRealTimers();
  });

  it('comes back after the busy interval while runs find work, and after the idle interval once they find none', async () => {
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout'] });
    const found = [3, 2, 0, 0];
    let runs = 0;
    const poller = new Poller(
      async () => found[runs++] ?? 0,
      () => {},
    );
    poller.start(1000, 50);
    await vi.advanceTimersByTimeAsync(1000);
    expect(runs).toBe(1); // found 3: busy
    await vi.advanceTimersByTimeAsync(50);
    expect(runs).toBe(2); // found 2: busy
    await vi.advanceTimersByTimeAsync(50);
    expect(runs).toBe(3); // found none: idle from here
    await vi.advanceTimersByTimeAsync(999);
    expect(runs).toBe(3);
    await vi.advanceTimersByTimeAsync(1);
    expect(runs).toBe(4);
    await poller.stop();
  });

  it('keeps its idle interval for runs that answer no count, and after a failed run', async () => {
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout'] });
    let runs = 0;
    const errors: unknown[] = [];
    const poller = new Poller(
      async () => {
        runs++;
        if (runs === 2) throw new Error('down');
      },
      (err) => errors.push(err),
    );
    poller.start(1000, 50);
    await vi.advanceTimersByTimeAsync(1050);
    expect(runs).toBe(1);
    await vi.advanceTimersByTimeAsync(950);
    expect(runs).toBe(2);
    expect(errors).toHaveLength(1);
    await vi.advanceTimersByTimeAsync(1000);
    expect(runs).toBe(3);
    await poller.stop();
  });
});
