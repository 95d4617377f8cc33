// Open follows (Logs with follow, Events) per account: past the limit a new one
// is refused ResourceExhausted, naming the limit, instead of holding another
// stream (and its podman process) for whoever asks.
import { Code, ConnectError } from "@connectrpc/connect";

export class StreamLimits {
  private readonly open = new Map<string, number>();

  constructor(private readonly perAccount: number) {}

  /** Counts a stream of `account` ("" when authentication is off: not limited); the function that ends it. */
  acquire(account: string): () => void {
    if (!account) return () => {};
    const n = this.open.get(account) ?? 0;
    if (n >= this.perAccount) {
      throw new ConnectError(`this account has ${n} streams open, the most it may (server.max_streams_per_account); close one first`, Code.ResourceExhausted);
    }
    this.open.set(account, n + 1);
    let done = false;
    return () => {
      if (done) return;
      done = true;
      const left = (this.open.get(account) ?? 1) - 1;
      if (left > 0) this.open.set(account, left);
      else this.open.delete(account);
    };
  }
}
