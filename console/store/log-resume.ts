// Where a broken log follow picks up again. The store always asks the agent for podman's
// timestamps (and strips them unless the user asked for them), so it knows the time of the
// last line it has. A reconnect asks for lines `since` that time; podman returns lines at or
// after it, so the lines at exactly that time that were already shown are skipped: no line is
// repeated, and none written while the connection was down is lost (as long as podman still
// has them).

const TS_RE = /^(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d)(\.\d+)?(Z|[+-]\d\d:\d\d) ([\s\S]*)$/;

export interface Stamped {
  /** The timestamp as podman wrote it (RFC 3339, nanoseconds). */
  time: string;
  /** Nanoseconds since the epoch, for ordering. */
  key: bigint;
  text: string;
}

/** Splits podman's `--timestamps` prefix off a line; null when the line has none. */
export function splitTimestamp(line: string): Stamped | null {
  const m = TS_RE.exec(line);
  if (!m) return null;
  const ms = Date.parse(`${m[1]}${m[3]}`);
  if (Number.isNaN(ms)) return null;
  const nanos = (m[2] ?? ".").slice(1).padEnd(9, "0").slice(0, 9);
  return { time: `${m[1]}${m[2] ?? ""}${m[3]}`, key: BigInt(ms) * 1_000_000n + BigInt(nanos), text: m[4]! };
}

/** The last line's time and how many lines had exactly that time. */
export class ResumePoint {
  time = "";
  private key = -1n;
  private atKey = 0;
  private skip = 0;

  /** Called before reconnecting: lines at the last time that were seen will come again. */
  reconnecting(): void {
    this.skip = this.atKey;
  }

  /** True when the line was shown before this reconnect (drop it); records it otherwise. */
  seen(s: Stamped): boolean {
    if (this.time && s.key < this.key) return true;
    if (s.key === this.key && this.skip > 0) {
      this.skip--;
      return true;
    }
    this.skip = 0;
    if (s.key === this.key) this.atKey++;
    else {
      this.key = s.key;
      this.time = s.time;
      this.atKey = 1;
    }
    return false;
  }
}

/** Backoff before reconnect attempt `n` (0-based): 250 ms doubling to 10 s. */
export const reconnectDelay = (n: number) => Math.min(10_000, 250 * 2 ** n);
