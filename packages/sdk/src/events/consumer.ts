// Reads Tenantry's pull API (`GET /v1/events`) from a cursor, oldest first.
import { isTenantryEvent, type TenantryEvent } from './envelope.js';

export interface EventConsumerOptions {
  /** Tenantry's base URL. */
  baseUrl: string | URL;
  /** A bearer token for Tenantry's API (the tool's own token, e.g. from ClientCredentials). */
  token: () => string | Promise<string>;
  /** Only these event types (e.g. REVOKING_EVENT_TYPES). */
  types?: readonly string[];
  /** Where to start: the cursor saved from a previous run (`next_after`), or null for the beginning. */
  after?: string | null;
  /** Events per page (1..500). */
  limit?: number;
  /** Handles each event in order; the cursor moves past an event only once its handler resolved. */
  onEvent: (event: TenantryEvent) => void | Promise<void>;
  fetch?: typeof fetch;
}

export class EventConsumer {
  private after: string | null;

  constructor(private readonly o: EventConsumerOptions) {
    this.after = o.after ?? null;
  }

  /** The cursor to save: pass it as `after` to resume. */
  get cursor(): string | null {
    return this.after;
  }

  /** Reads until there are no more events; returns how many were handled. */
  async poll(): Promise<number> {
    let handled = 0;
    for (;;) {
      const url = new URL('/v1/events', this.o.baseUrl);
      if (this.after) url.searchParams.set('after', this.after);
      if (this.o.types?.length) url.searchParams.set('types', this.o.types.join(','));
      url.searchParams.set('limit', String(this.o.limit ?? 100));
      const res = await (this.o.fetch ?? fetch)(url, {
        headers: { authorization: `Bearer ${await this.o.token()}`, accept: 'application/json' },
      });
      if (res.status !== 200) throw new Error(`GET /v1/events answered ${res.status}`);
      const page = (await res.json()) as { data?: unknown; has_more?: unknown; next_after?: unknown };
      if (!Array.isArray(page.data)) throw new Error('GET /v1/events answered no data');
      for (const event of page.data) {
        if (!isTenantryEvent(event)) throw new Error('GET /v1/events answered something that is not an event');
        await this.o.onEvent(event);
        handled++;
        this.after = event.id;
      }
      if (typeof page.next_after === 'string') this.after = page.next_after;
      if (page.has_more !== true || page.data.length === 0) return handled;
    }
  }

  /** Polls every `intervalMs` until `signal` aborts; errors go to `onError` and the loop goes on. */
  async run(options: { intervalMs?: number; signal: AbortSignal; onError?: (err: unknown) => void }): Promise<void> {
    while (!options.signal.aborted) {
      try {
        await this.poll();
      } catch (err) {
        options.onError?.(err);
      }
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, options.intervalMs ?? 5000);
        options.signal.addEventListener(
          'abort',
          () => {
            clearTimeout(timer);
            resolve();
          },
          { once: true },
        );
      });
    }
  }
}
