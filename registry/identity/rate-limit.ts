// Failed login attempts per key within a sliding window. Once a key has `limit`
// failures in the window, every attempt for it waits until the oldest expires.
// In memory: it protects one registry process; the window is short.
export class RateLimiter {
  private readonly hits = new Map<string, number[]>();

  constructor(
    private readonly limit = 10,
    private readonly windowMs = 60_000,
    private readonly now: () => number = Date.now,
  ) {}

  /** Seconds to wait before `key` may try again; 0 when it may try now. */
  waitFor(key: string): number {
    const t = this.now();
    const recent = (this.hits.get(key) ?? []).filter((h) => t - h < this.windowMs);
    if (recent.length === 0) this.hits.delete(key);
    else this.hits.set(key, recent);
    return recent.length >= this.limit ? Math.max(1, Math.ceil((recent[0]! + this.windowMs - t) / 1000)) : 0;
  }

  /** Records a failed attempt. */
  fail(key: string): void {
    const t = this.now();
    const list = this.hits.get(key) ?? [];
    list.push(t);
    this.hits.set(key, list);
    if (this.hits.size > 10_000) this.sweep(t);
  }

  private sweep(t: number): void {
    for (const [k, v] of this.hits) if (v.every((h) => t - h >= this.windowMs)) this.hits.delete(k);
  }
}
