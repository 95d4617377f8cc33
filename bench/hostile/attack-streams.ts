// Attack family 5: follow floods at the agent, in cycles until the deadline. Each cycle
// opens, over one HTTP/2 connection per account:
// - from a system account (pull-only, no agent rights): Events and Logs follows of a service,
//   which must be refused (permission_denied), and Events follows of no particular service,
//   which the agent accepts but filters to nothing (they count against the account's cap);
// - from an admin: more Events follows than `server.max_streams_per_account` (32), the ones
//   past the cap refused (resource_exhausted).
// It holds them for a while, counts the agent's `podman events` processes (one is shared by
// every Events stream), then closes them all.
import { execFileSync } from "node:child_process";
import type { ClientHttp2Session } from "node:http2";
import { connectEnvelope, connectStreamOutcome, h2From, sleep, sourceAddress, Tally, type Target } from "./net.ts";

const STREAM_BLOCK = 6;
const HOLD_MS = 3_000;

export interface StreamTargets {
  agent: Target;
  agentPid: number;
  /** Agent tokens (service mcp-agent) of a system account and of an admin other than the honest client. */
  systemToken: string;
  adminToken: string;
  /** A service the agent knows (synced by the runner). */
  service: string;
}

export interface StreamResult {
  tally: Tally;
  cycles: number;
  /** The most `podman events` children of the agent seen at once. */
  maxPodmanEvents: number;
}

/** Opens one Connect server-streaming call; resolves with its outcome once it ends, or "held" at `holdUntil`. */
function follow(
  session: ClientHttp2Session,
  method: "Events" | "Logs",
  token: string,
  message: unknown,
  holdUntil: number,
): { outcome: Promise<string>; close(): void } {
  const stream = session.request({
    ":method": "POST",
    ":path": `/mcp.agent.v1.AgentService/${method}`,
    "content-type": "application/connect+json",
    "connect-protocol-version": "1",
    authorization: `Bearer ${token}`,
  });
  let data = Buffer.alloc(0);
  const outcome = new Promise<string>((resolve) => {
    const timer = setTimeout(() => resolve("held"), Math.max(0, holdUntil - Date.now()));
    const settle = (v: string) => {
      clearTimeout(timer);
      resolve(v);
    };
    stream.on("data", (d: Buffer) => {
      data = Buffer.concat([data, d]);
      const o = connectStreamOutcome(data);
      if (o) settle(o);
    });
    stream.on("error", () => settle("stream error"));
    stream.on("close", () => settle(stream.rstCode ? "reset" : "closed"));
  });
  stream.end(connectEnvelope(message));
  return { outcome, close: () => stream.close() };
}

function podmanEventsChildren(agentPid: number): number {
  try {
    return Number(
      execFileSync("pgrep", ["-c", "-P", String(agentPid), "-f", "podman events"])
        .toString()
        .trim(),
    );
  } catch {
    return 0; // pgrep exits 1 when nothing matches
  }
}

/** Family 5 until `deadline` (at most 20 cycles). */
export async function streamFlood(t: StreamTargets, deadline: number): Promise<StreamResult> {
  const tally = new Tally();
  let maxPodmanEvents = 0;
  let cycles = 0;
  while (Date.now() + HOLD_MS / 2 < deadline && cycles < 20) {
    cycles++;
    const holdUntil = Math.min(deadline, Date.now() + HOLD_MS);
    const system = h2From(t.agent, sourceAddress(STREAM_BLOCK, 0));
    const admin = h2From(t.agent, sourceAddress(STREAM_BLOCK, 1));
    const opened: Array<{ what: string; call: ReturnType<typeof follow> }> = [];
    for (let i = 0; i < 20; i++) {
      opened.push({ what: "system Events of a service", call: follow(system, "Events", t.systemToken, { service: t.service }, holdUntil) });
      opened.push({ what: "system Logs follow", call: follow(system, "Logs", t.systemToken, { service: t.service, follow: true }, holdUntil) });
    }
    for (let i = 0; i < 40; i++) opened.push({ what: "system Events of all", call: follow(system, "Events", t.systemToken, {}, holdUntil) });
    for (let i = 0; i < 40; i++) opened.push({ what: "admin Events of all", call: follow(admin, "Events", t.adminToken, {}, holdUntil) });
    const watcher = setInterval(() => (maxPodmanEvents = Math.max(maxPodmanEvents, podmanEventsChildren(t.agentPid))), 250);
    try {
      const outcomes = await Promise.all(opened.map((o) => o.call.outcome));
      outcomes.forEach((o, i) => tally.add(`${opened[i]!.what} ${o}`));
    } finally {
      clearInterval(watcher);
      for (const o of opened) o.call.close();
      system.close();
      admin.close();
    }
    await sleep(Math.min(500, deadline - Date.now())); // the agent releases the closed follows
  }
  return { tally, cycles, maxPodmanEvents };
}
