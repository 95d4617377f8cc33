// SMEP ports on the host: who holds a port already, the kernel's ephemeral
// range, and reserving SMEP ports inside it.
import { readFileSync, writeFileSync } from "node:fs";
import { runHost } from "./system.ts";

/** The process listening on a TCP port, as ss names it ("nginx (pid 812)"), when it can be found. */
export async function portHolder(port: number): Promise<string | undefined> {
  try {
    const out = await runHost("ss", ["-Hltnp", `sport = :${port}`]);
    const m = /users:\(\("([^"]+)",pid=(\d+)/.exec(out);
    if (m) return `${m[1]} (pid ${m[2]})`;
    return out.trim() ? "a process ss cannot name" : undefined;
  } catch {
    return undefined;
  }
}

export function ephemeralRange(file = "/proc/sys/net/ipv4/ip_local_port_range"): [number, number] | undefined {
  try {
    const [lo, hi] = readFileSync(file, "utf8").trim().split(/\s+/).map(Number);
    return lo && hi ? [lo, hi] : undefined;
  } catch {
    return undefined;
  }
}

/** Adds `ports` to ip_local_reserved_ports (keeping what is there), so the kernel never hands them out as source ports. */
export function reservePorts(ports: number[], file = "/proc/sys/net/ipv4/ip_local_reserved_ports"): void {
  const current = readFileSync(file, "utf8").trim();
  const have = new Set<string>(current ? current.split(",") : []);
  const add = ports.map(String).filter((p) => !have.has(p));
  if (add.length === 0) return;
  writeFileSync(file, [...have, ...add].join(","));
}
