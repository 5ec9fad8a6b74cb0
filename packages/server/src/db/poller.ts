/**
 * Runs `run` every `intervalMs` (counted from the end of the previous run, so runs never
 * overlap) until stop(), which waits for a run in progress. A failed run is logged and the
 * next one comes as usual: background work (outboxes, expiry jobs) must outlive a fault.
 * A run that answers a positive count found work, and more is likely to follow soon: the
 * next run then comes after `busyIntervalMs`, so work arriving under load waits that long
 * rather than the idle interval.
 */
export class Poller {
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<unknown> | undefined;

  constructor(
    private readonly run: () => Promise<unknown>,
    private readonly onError: (err: unknown) => void,
  ) {}

  start(intervalMs: number, busyIntervalMs = intervalMs): void {
    const tick = () => {
      let busy = false;
      this.running = this.run().then((found) => {
        busy = typeof found === 'number' && found > 0;
      }, this.onError);
      void this.running.finally(() => {
        if (this.timer) this.timer = setTimeout(tick, busy ? busyIntervalMs : intervalMs).unref();
      });
    };
    this.timer = setTimeout(tick, intervalMs).unref();
  }

  async stop(): Promise<void> {
    const t = this.timer;
    this.timer = undefined;
    if (t) clearTimeout(t);
    await this.running;
  }
}
