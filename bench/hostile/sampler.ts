// What the runner watches while the attacks run: each daemon's resident memory from
// /proc/<pid>/status every 75 ms, the machine's load average, and how late the runner's
// own event loop is (the honest client's latencies include that delay).
import { readFileSync } from "node:fs";
import { monitorEventLoopDelay } from "node:perf_hooks";

export const MiB = 1024 * 1024;

export interface RssSample {
  at: number;
  /** Resident bytes per daemon; absent once the process is gone. */
  mcr?: number;
  agent?: number;
}

export function rssBytes(pid: number): number | undefined {
  try {
    const m = /^VmRSS:\s+(\d+) kB$/m.exec(readFileSync(`/proc/${pid}/status`, "utf8"));
    return m ? Number(m[1]) * 1024 : undefined;
  } catch {
    return undefined;
  }
}

export function loadAverage(): number[] {
  return readFileSync("/proc/loadavg", "utf8").split(" ").slice(0, 3).map(Number);
}

/**
 * The kernel's count of connections dropped because a listener's accept queue was full
 * (TcpExt ListenOverflows, machine-wide): a burst of strangers' connections can make an
 * honest newcomer's SYN wait for a retransmission (1 s, then 3 s, 7 s…).
 */
export function listenOverflows(): number {
  const lines = readFileSync("/proc/net/netstat", "utf8")
    .split("\n")
    .filter((l) => l.startsWith("TcpExt:"));
  const names = lines[0]?.split(" ") ?? [];
  const values = lines[1]?.split(" ") ?? [];
  return Number(values[names.indexOf("ListenOverflows")] ?? NaN);
}

const CLK_TCK = 100; // Linux's USER_HZ

/** CPU seconds the whole machine has spent busy (every core), from /proc/stat. */
export function machineBusySeconds(): number {
  const f = readFileSync("/proc/stat", "utf8").split("\n", 1)[0]!.trim().split(/\s+/).slice(1).map(Number);
  // user nice system idle iowait irq softirq steal
  return (f[0]! + f[1]! + f[2]! + f[5]! + f[6]! + f[7]!) / CLK_TCK;
}

/** CPU seconds used by these processes and the children they have reaped (the agent's podman calls). */
export function processSeconds(pids: number[]): number {
  let total = 0;
  for (const pid of pids) {
    try {
      const text = readFileSync(`/proc/${pid}/stat`, "utf8");
      const f = text.slice(text.lastIndexOf(")") + 2).split(" "); // [0] is field 3 (state)
      total += (Number(f[11]) + Number(f[12]) + Number(f[13]) + Number(f[14])) / CLK_TCK;
    } catch {
      /* gone */
    }
  }
  return total;
}

export class Sampler {
  readonly rss: RssSample[] = [];
  readonly load: Array<{ at: number; one: number }> = [];
  /** The longest time between two RSS samples (the target is 50–100 ms). */
  maxGapMs = 0;
  private timers: NodeJS.Timeout[] = [];
  private readonly loopDelay = monitorEventLoopDelay({ resolution: 10 });

  constructor(private readonly pids: { mcr: number; agent: number }) {}

  start(everyMs = 75): void {
    this.loopDelay.enable();
    const sample = () => {
      const at = Date.now();
      const last = this.rss.at(-1);
      if (last) this.maxGapMs = Math.max(this.maxGapMs, at - last.at);
      this.rss.push({ at, mcr: rssBytes(this.pids.mcr), agent: rssBytes(this.pids.agent) });
    };
    sample();
    this.timers.push(setInterval(sample, everyMs));
    this.timers.push(setInterval(() => this.load.push({ at: Date.now(), one: loadAverage()[0]! }), 5_000));
  }

  stop(): void {
    for (const t of this.timers) clearInterval(t);
    this.loopDelay.disable();
  }

  /** The runner's event-loop delay, p99 and max, in ms. */
  loopDelayMs(): { p99: number; max: number } {
    return { p99: this.loopDelay.percentile(99) / 1e6, max: this.loopDelay.max / 1e6 };
  }

  resetLoopDelay(): void {
    this.loopDelay.reset();
  }

  /** The highest and the mean RSS of `daemon` between two times. */
  rssIn(daemon: "mcr" | "agent", from: number, to: number): { peak: number; mean: number } {
    const xs = this.rss
      .filter((s) => s.at >= from && s.at <= to)
      .map((s) => s[daemon])
      .filter((v): v is number => v !== undefined);
    if (xs.length === 0) return { peak: NaN, mean: NaN };
    return { peak: Math.max(...xs), mean: xs.reduce((a, b) => a + b, 0) / xs.length };
  }

  maxLoadIn(from: number, to: number): number {
    return Math.max(0, ...this.load.filter((l) => l.at >= from && l.at <= to).map((l) => l.one));
  }
}
