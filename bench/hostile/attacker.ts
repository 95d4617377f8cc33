// The attackers' own process (forked by main.ts), so that their handshakes and megabytes
// do not stall the honest client's event loop: the runner sends a config, then one message
// per phase naming the attack families to run and for how long, and gets their tallies back.
// Every family stops by itself at the phase's deadline; the process exits when told to or
// when the runner goes away.
import { crashBodies, fakeTokenBodies } from "./attack-bodies.ts";
import { auditFlood } from "./attack-audit.ts";
import { idleAndSlowConnections } from "./attack-sockets.ts";
import { streamFlood } from "./attack-streams.ts";
import type { Target } from "./net.ts";

export const FAMILIES = ["crash-bodies", "fake-tokens", "sockets", "audit", "streams"] as const;
export type Family = (typeof FAMILIES)[number];

export interface AttackConfig {
  ca: string;
  mcr: { port: number };
  agent: { port: number; pid: number };
  /** Agent tokens of a system account and of a second admin, for the stream floods. */
  systemToken: string;
  adminToken: string;
  service: string;
}

export type ToAttacker = { type: "config"; config: AttackConfig } | { type: "phase"; families: Family[]; ms: number } | { type: "exit" };

export interface FamilyResult {
  family: Family;
  counts: Record<string, number>;
  /** Family-specific figures: connection lifetimes, podman events processes. */
  extra?: Record<string, unknown>;
  error?: string;
}

export type FromAttacker = { type: "ready" } | { type: "phase-done"; results: FamilyResult[] };

async function runFamily(family: Family, c: AttackConfig, deadline: number): Promise<FamilyResult> {
  const mcr: Target = { name: "mcr", port: c.mcr.port, ca: c.ca };
  const agent: Target = { name: "agent", port: c.agent.port, ca: c.ca };
  try {
    switch (family) {
      case "crash-bodies":
        return { family, counts: (await crashBodies({ mcr, agent }, deadline)).counts };
      case "fake-tokens":
        return { family, counts: (await fakeTokenBodies({ mcr, agent }, deadline)).counts };
      case "sockets": {
        const r = await idleAndSlowConnections({ mcr, agent }, deadline);
        return { family, counts: r.tally.counts, extra: { lifetimes: r.lifetimes } };
      }
      case "audit":
        return { family, counts: (await auditFlood(mcr, deadline)).counts };
      case "streams": {
        const r = await streamFlood({ agent, agentPid: c.agent.pid, systemToken: c.systemToken, adminToken: c.adminToken, service: c.service }, deadline);
        return { family, counts: r.tally.counts, extra: { cycles: r.cycles, max_podman_events_processes: r.maxPodmanEvents } };
      }
    }
  } catch (err) {
    return { family, counts: {}, error: (err as Error).stack ?? String(err) };
  }
}

if (process.send) {
  let config: AttackConfig | undefined;
  const send = (m: FromAttacker) => process.send!(m);
  process.on("disconnect", () => process.exit(0));
  process.on("message", (m: ToAttacker) => {
    if (m.type === "config") {
      config = m.config;
      send({ type: "ready" });
    } else if (m.type === "phase" && config) {
      const deadline = Date.now() + m.ms;
      void Promise.all(m.families.map((f) => runFamily(f, config!, deadline))).then((results) => send({ type: "phase-done", results }));
    } else if (m.type === "exit") {
      process.exit(0);
    }
  });
}
