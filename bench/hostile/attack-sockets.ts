// Attack family 3: connections that hold a slot and say nothing useful.
// - idle: over 1,024 TCP connections to mcr and over 256 to the agent (their caps), from
//   eight source addresses each, that never start a TLS handshake; whatever the daemon
//   closes is opened again until the deadline;
// - slow headers (slowloris): TLS connections that send a request line and then one header
//   byte a second, before any request and after a first complete one;
// - half-closed: a request whose declared body never comes, followed by the client ending
//   its side of the connection, and a complete request followed by the same.
// Each reports how long the daemon let such connections live.
import { connect as tcpConnect, type Socket } from "node:net";
import type { TLSSocket } from "node:tls";
import { loopUntil, sleep, sourceAddress, Tally, tlsFrom, type Target } from "./net.ts";

/** The agent's public Health call over HTTP/1.1 (Connect, JSON). */
const AGENT_HEALTH = "POST /mcp.agent.v1.AgentService/Health HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\nContent-Length: 2\r\n\r\n{}";

const IDLE_BLOCK = 3;
const SLOW_BLOCK = 4;

export interface SocketTargets {
  mcr: Target;
  agent: Target;
}

/** Lifetimes of connections the daemon closed, and of those still open at the deadline. */
export class Lifetimes {
  readonly closedMs: number[] = [];
  stillOpenAtEnd = 0;
  summary(): Record<string, number> {
    const s = [...this.closedMs].sort((a, b) => a - b);
    return { closed: s.length, closed_median_ms: s[Math.floor(s.length / 2)] ?? 0, closed_max_ms: s.at(-1) ?? 0, still_open_at_end: this.stillOpenAtEnd };
  }
}

export interface SocketResult {
  tally: Tally;
  lifetimes: Record<string, Record<string, number>>;
}

/** Keeps `perAddress` × `addresses` silent TCP connections open against `t` until the deadline. */
async function holdIdle(
  t: Target,
  firstAddress: number,
  addresses: number,
  perAddress: number,
  deadline: number,
  tally: Tally,
  life: Lifetimes,
): Promise<void> {
  const openPerAddress = new Array<number>(addresses).fill(0);
  const open = new Set<Socket>();
  let opened = 0;
  let peak = 0;
  const maxOpens = addresses * perAddress * 20;
  const openOne = (a: number) => {
    const s = tcpConnect({ host: "127.0.0.1", port: t.port, localAddress: sourceAddress(IDLE_BLOCK, firstAddress + a) });
    const born = Date.now();
    opened++;
    openPerAddress[a]!++;
    open.add(s);
    s.on("error", () => undefined);
    s.on("close", () => {
      open.delete(s);
      openPerAddress[a]!--;
      if (Date.now() < deadline) life.closedMs.push(Date.now() - born);
    });
  };
  while (Date.now() < deadline && opened < maxOpens) {
    for (let a = 0; a < addresses; a++) for (let i = openPerAddress[a]!; i < perAddress && opened < maxOpens; i++) openOne(a);
    await sleep(Math.min(500, deadline - Date.now()));
    peak = Math.max(peak, open.size);
  }
  tally.add(`${t.name} idle connections opened`, opened);
  tally.add(`${t.name} idle connections open at most (as the client saw them)`, peak);
  life.stillOpenAtEnd += open.size;
  for (const s of open) s.destroy();
}

/**
 * A TLS connection that trickles a request's headers a byte a second, after `completeFirst`
 * complete requests. Resolves when the daemon closes it or at the deadline.
 */
function slowHeaders(t: Target, from: string, completeFirst: boolean, deadline: number, life: Lifetimes): Promise<void> {
  return new Promise((resolve) => {
    const s = tlsFrom(t, from);
    const born = Date.now();
    let trickle: NodeJS.Timeout | undefined;
    const end = setTimeout(
      () => {
        life.stillOpenAtEnd++;
        finish();
      },
      Math.max(0, deadline - Date.now()),
    );
    const finish = () => {
      clearInterval(trickle);
      clearTimeout(end);
      s.destroy();
      resolve();
    };
    s.on("close", () => {
      if (Date.now() < deadline) life.closedMs.push(Date.now() - born);
      finish();
    });
    const startTrickle = () => {
      s.write("GET /v1/health HTTP/1.1\r\nHost: localhost\r\nX-Slow: ");
      trickle = setInterval(() => s.write("a"), 1_000);
    };
    s.once("secureConnect", () => {
      if (!completeFirst) return startTrickle();
      s.write(t.name === "mcr" ? "GET /v1/health HTTP/1.1\r\nHost: localhost\r\n\r\n" : AGENT_HEALTH);
      s.once("data", startTrickle);
    });
  });
}

/**
 * A request whose body is declared but mostly never sent (or a complete one), then the
 * client's side of the connection ended. Tallies the answer and times the close.
 */
function halfClosed(t: Target, from: string, complete: boolean, deadline: number, tally: Tally, life: Lifetimes): Promise<void> {
  const path = t.name === "mcr" ? "/v1/auth/login" : "/mcp.agent.v1.AgentService/Health";
  return new Promise((resolve) => {
    const s: TLSSocket = tlsFrom(t, from);
    const born = Date.now();
    let answer = "";
    const end = setTimeout(
      () => {
        life.stillOpenAtEnd++;
        done();
      },
      Math.max(0, deadline - Date.now()),
    );
    const done = () => {
      clearTimeout(end);
      s.destroy();
      tally.add(`${t.name} half-closed ${complete ? "complete" : "partial"} ${/^HTTP\/1\.1 (\d+)/.exec(answer)?.[1] ?? "no answer"}`);
      resolve();
    };
    s.on("data", (d: Buffer) => (answer += d.toString("latin1")));
    s.on("close", () => {
      if (Date.now() < deadline) life.closedMs.push(Date.now() - born);
      done();
    });
    s.once("secureConnect", () => {
      // The partial one declares a body well under the endpoints' limits, so it is waited for.
      const body = complete ? "{}" : "{";
      const length = complete ? 2 : 1_000;
      s.end(`POST ${path} HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\nContent-Length: ${length}\r\n\r\n${body}`);
    });
  });
}

/** Family 3 until `deadline`, against both daemons at once. */
export async function idleAndSlowConnections(t: SocketTargets, deadline: number): Promise<SocketResult> {
  const tally = new Tally();
  const life: Record<string, Lifetimes> = {};
  const lifeOf = (k: string) => (life[k] ??= new Lifetimes());
  const slowLoop = (target: Target, offset: number, completeFirst: boolean) =>
    loopUntil(deadline, 25, 2_000, async (i) => {
      tally.add(`${target.name} slow headers${completeFirst ? " after a request" : ""} opened`);
      await slowHeaders(
        target,
        sourceAddress(SLOW_BLOCK, offset + (i % 5)),
        completeFirst,
        deadline,
        lifeOf(`${target.name} slow headers${completeFirst ? " after a request" : ""}`),
      );
    });
  const halfLoop = (target: Target, offset: number, complete: boolean) =>
    loopUntil(deadline, 10, 1_000, async (i) => {
      await halfClosed(
        target,
        sourceAddress(SLOW_BLOCK, offset + (i % 5)),
        complete,
        deadline,
        tally,
        lifeOf(`${target.name} half-closed ${complete ? "complete" : "partial"}`),
      );
      await sleep(Math.min(250, deadline - Date.now())); // a new one each quarter second per worker, not a handshake storm
    });
  await Promise.all([
    holdIdle(t.mcr, 0, 8, 160, deadline, tally, lifeOf("mcr idle")),
    holdIdle(t.agent, 20, 8, 40, deadline, tally, lifeOf("agent idle")),
    slowLoop(t.mcr, 0, false),
    slowLoop(t.mcr, 10, true),
    slowLoop(t.agent, 20, false),
    slowLoop(t.agent, 30, true),
    halfLoop(t.mcr, 40, false),
    halfLoop(t.mcr, 50, true),
    halfLoop(t.agent, 60, false),
    halfLoop(t.agent, 70, true),
  ]);
  return { tally, lifetimes: Object.fromEntries(Object.entries(life).map(([k, l]) => [k, l.summary()])) };
}
