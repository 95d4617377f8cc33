// An async queue: producers push, one consumer iterates. Lets a generator
// stream progress from work that runs elsewhere (inside a lock, say).
export class Channel<T> implements AsyncIterable<T> {
  private readonly items: T[] = [];
  private waiter: { resolve: (r: IteratorResult<T>) => void; reject: (e: unknown) => void } | undefined;
  private closed = false;
  private failure: unknown;

  /** Items pushed and not yet taken by the consumer. */
  get pending(): number {
    return this.items.length;
  }

  push(item: T): void {
    if (this.closed) return;
    const w = this.waiter;
    this.waiter = undefined;
    if (w) w.resolve({ value: item, done: false });
    else this.items.push(item);
  }

  /** Ends the stream after the queued items; with `err`, the consumer's loop throws it. */
  close(err?: unknown): void {
    this.closed = true;
    this.failure = err;
    const w = this.waiter;
    this.waiter = undefined;
    if (!w) return;
    if (err === undefined) w.resolve({ value: undefined, done: true });
    else w.reject(err);
  }

  async *[Symbol.asyncIterator](): AsyncIterator<T> {
    for (;;) {
      if (this.items.length) {
        yield this.items.shift()!;
        continue;
      }
      if (this.closed) {
        if (this.failure !== undefined) throw this.failure;
        return;
      }
      const r = await new Promise<IteratorResult<T>>((resolve, reject) => (this.waiter = { resolve, reject }));
      if (r.done) return;
      yield r.value;
    }
  }
}
