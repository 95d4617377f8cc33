// One measurement taken on a quiet machine, taken again when other processes disturbed it: the
// policy of the registry benchmark (README.md, "Every figure is the median…"), in one place so
// that every driver waits and counts "disturbed" alike. Built on measure.ts's /proc readings.
import { execFileSync } from "node:child_process";
import { closeSync, openSync, readSync } from "node:fs";
import { waitQuiet } from "./measure.ts";

/** Before a measurement: wait (at most QUIET_WAIT_SECONDS) until others use under this many cores. */
export const QUIET_CORES = 0.15;
export const QUIET_WAIT_SECONDS = 60;
/** Other processes using more than this many cores during a measurement make it count as disturbed. */
export const DISTURBED_CORES = 0.25;

export interface SampleOptions {
  /** Files read through right before each attempt (see warm()). */
  files?: string[];
  /** `sync` before each attempt: a push must not pay for the writeback of an earlier one. */
  flush?: boolean;
  /** Untimed work before each attempt (put the store back in the state the measurement expects). */
  before?: () => Promise<void>;
  say?: (msg: string) => void;
}

/**
 * One measurement, started once the machine is quiet. A disturbed one is taken again (at most
 * three attempts); the least disturbed attempt is kept.
 */
export async function sample<T extends { othersCores: number }>(what: string, work: () => Promise<T>, o: SampleOptions = {}): Promise<T> {
  let best: T | undefined;
  for (let attempt = 1; attempt <= 3; attempt++) {
    await o.before?.();
    if (o.flush) execFileSync("sync");
    await waitQuiet(QUIET_CORES, QUIET_WAIT_SECONDS, o.say);
    warm(o.files ?? []);
    const t = await work();
    if (!best || t.othersCores < best.othersCores) best = t;
    if (t.othersCores < DISTURBED_CORES) break;
    o.say?.(`${what}: other processes used ${t.othersCores.toFixed(2)} cores meanwhile${attempt < 3 ? "; measuring again" : ""}`);
  }
  return best!;
}

/**
 * Reads files through the page cache right before a measurement. Machines like this one may run
 * DAMON "pageout" on page cache idle for ~30 s (docs/performance.md): without this, a sample
 * could include re-reading a file from disk.
 */
export function warm(paths: string[]): void {
  const buf = Buffer.allocUnsafe(4 * 1024 * 1024);
  for (const p of paths) {
    const fd = openSync(p, "r");
    try {
      while (readSync(fd, buf, 0, buf.length, null) > 0);
    } finally {
      closeSync(fd);
    }
  }
}
