// Processes a test started, found through /proc: by pid, or by a folder of the test's own
// that their command lines name (configs, podman roots).
import { readdirSync, readFileSync } from "node:fs";

/** True while `pid` runs (a zombie, exited but not yet reaped, counts as gone). */
export function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return !/^\d+ \(.*\) Z/.test(readFileSync(`/proc/${pid}/stat`, "utf8"));
  } catch {
    return false;
  }
}

/** Live processes, other than this one, whose command line names one of `dirs`. */
export function processesUnder(...dirs: string[]): number[] {
  const found: number[] = [];
  for (const e of readdirSync("/proc")) {
    if (!/^\d+$/.test(e) || Number(e) === process.pid) continue;
    try {
      const cmdline = readFileSync(`/proc/${e}/cmdline`, "utf8");
      if (dirs.some((d) => cmdline.includes(d)) && alive(Number(e))) found.push(Number(e));
    } catch {
      // gone
    }
  }
  return found;
}
