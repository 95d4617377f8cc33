// Attack families 1 and 2: request bodies nobody should buffer.
// 1. "crash bodies": anonymous chunked bodies of 100 KB–2 MB on the identity and health
//    endpoints, RPCs with `Bearer junk` and bodies over 1 MiB, a gRPC Health call with a
//    big body (each of these once ended mcr: the access-log line read a detached socket),
//    and the same shapes at the agent over HTTP/1.1 and as HTTP/2 streams reset mid-body.
// 2. "fake tokens": rounds of hundreds of TLS connections each sending 1,000,000 bytes with
//    `Bearer junk` to mcr's RPCs, and of HTTP/2 connections × 100 streams × 1 MB to the
//    agent (each once made the daemon buffer every body before checking the token).
import type { ClientHttp2Stream } from "node:http2";
import { errorOutcome, h2From, loopUntil, sendBody, sourceAddress, Tally, type BodyRequest, type Target } from "./net.ts";

const CRASH_BLOCK = 1;
const FAKE_TOKEN_BLOCK = 2;
const MB = 1_000_000;

export interface BodyTargets {
  mcr: Target;
  agent: Target;
}

/** A size between 100 KB and 2 MB, different each call. */
const someSize = (i: number) => 100_000 + ((i * 7919) % 19) * 100_000;

type Shape = (i: number) => BodyRequest;

const MCR_SHAPES: Array<[string, Shape]> = [
  [
    "login",
    (i) => ({ method: "POST", path: "/v1/auth/login", headers: { "content-type": "application/json" }, bytes: someSize(i), chunked: true, timeoutMs: 10_000 }),
  ],
  ["token", (i) => ({ method: "GET", path: "/v2/token?service=mcr", bytes: someSize(i), chunked: true, timeoutMs: 10_000 })],
  ["health", (i) => ({ method: "GET", path: "/v1/health", bytes: someSize(i), chunked: true, timeoutMs: 10_000 })],
  [
    "rpc-junk",
    (i) => ({
      method: "POST",
      path: "/mcr.v1.PolicyService/ListRules",
      headers: { "content-type": "application/json", authorization: "Bearer junk" },
      bytes: 1024 * 1024 + someSize(i),
      chunked: true,
      timeoutMs: 10_000,
    }),
  ],
  [
    "grpc-health",
    () => ({
      method: "POST",
      path: "/mcr.v1.AdminService/Health",
      headers: { "content-type": "application/grpc" },
      bytes: 2 * 1024 * 1024,
      chunked: true,
      timeoutMs: 10_000,
    }),
  ],
  ["manifest-get", (i) => ({ method: "GET", path: "/v2/a/manifests/latest", bytes: someSize(i), chunked: true, timeoutMs: 10_000 })],
];

const AGENT_SYNC = "/mcp.agent.v1.AgentService/Sync";
const AGENT_HEADERS: Array<Record<string, string>> = [
  { "content-type": "application/json" },
  { "content-type": "application/json", authorization: "Bearer junk" },
  { "content-type": "application/grpc" },
];

/** One HTTP/2 stream with a body of `bytes`, reset by the client as soon as an answer starts. */
function h2StreamThenReset(t: Target, from: string, bytes: number, headers: Record<string, string>): Promise<string> {
  return new Promise((resolve) => {
    const session = h2From(t, from);
    const stream = session.request({ ":method": "POST", ":path": AGENT_SYNC, ...headers });
    let settled = false;
    const settle = (v: string) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      session.destroy();
      resolve(v);
    };
    const timer = setTimeout(() => settle("no answer in time"), 10_000);
    stream.on("response", (h) => {
      stream.close();
      settle(String(h[":status"]));
    });
    stream.on("error", (err) => settle(errorOutcome(err)));
    stream.on("close", () => settle(stream.rstCode ? "reset" : "closed"));
    stream.write(Buffer.alloc(bytes));
  });
}

/** Family 1 until `deadline`: twelve workers cycling through every shape at both daemons. */
export async function crashBodies(t: BodyTargets, deadline: number): Promise<Tally> {
  const tally = new Tally();
  await loopUntil(deadline, 12, 2_000, async (i) => {
    const from = sourceAddress(CRASH_BLOCK, i);
    const round = i % (MCR_SHAPES.length + 2);
    if (round < MCR_SHAPES.length) {
      const [name, shape] = MCR_SHAPES[round]!;
      tally.add(`mcr ${name} ${await sendBody(t.mcr, from, shape(i))}`);
    } else if (round === MCR_SHAPES.length) {
      const headers = AGENT_HEADERS[i % AGENT_HEADERS.length]!;
      tally.add(
        `agent h1 ${await sendBody(t.agent, from, { method: "POST", path: AGENT_SYNC, headers, bytes: 2 * 1024 * 1024, chunked: true, timeoutMs: 10_000 })}`,
      );
    } else {
      tally.add(`agent h2-reset ${await h2StreamThenReset(t.agent, from, 256 * 1024, AGENT_HEADERS[i % AGENT_HEADERS.length]!)}`);
    }
  });
  return tally;
}

const MCR_RPCS = ["/mcr.v1.PolicyService/ListRules", "/mcr.v1.RegistryService/ListRepositories", "/mcr.v1.AuditService/ListEvents"];

/** `connections` POSTs of 1 MB with Bearer junk, all at once, spread over four source addresses. */
async function mcrFakeTokenRound(t: Target, connections: number, round: number, tally: Tally): Promise<void> {
  const body = (i: number): BodyRequest => ({
    method: "POST",
    path: MCR_RPCS[i % MCR_RPCS.length]!,
    headers: { "content-type": "application/json", authorization: "Bearer junk" },
    bytes: MB,
    chunked: false,
    timeoutMs: 15_000,
  });
  const answers = await Promise.all(
    Array.from({ length: connections }, (_, i) => sendBody(t, sourceAddress(FAKE_TOKEN_BLOCK, (round % 8) * 4 + (i % 4)), body(i))),
  );
  for (const a of answers) tally.add(`mcr 1MB ${a}`);
}

/** `sessions` HTTP/2 connections × 100 streams, each a 1 MB body with Bearer junk. */
async function agentFakeTokenRound(t: Target, sessions: number, round: number, tally: Tally): Promise<void> {
  const body = Buffer.alloc(MB, " ");
  await Promise.all(
    Array.from({ length: sessions }, async (_, s) => {
      const session = h2From(t, sourceAddress(FAKE_TOKEN_BLOCK, 100 + ((round * sessions + s) % 50)));
      const one = () =>
        new Promise<string>((resolve) => {
          let stream: ClientHttp2Stream;
          try {
            stream = session.request({ ":method": "POST", ":path": AGENT_SYNC, "content-type": "application/json", authorization: "Bearer junk" });
          } catch (err) {
            return resolve(errorOutcome(err));
          }
          // A session the agent's HTTP/2 layer has marked over its memory may leave its streams
          // unanswered (and open) rather than reset them: stop waiting after 5 s.
          const timer = setTimeout(() => resolve("no answer in 5 s"), 5_000);
          const settle = (v: string) => {
            clearTimeout(timer);
            resolve(v);
          };
          stream.on("response", (h) => settle(String(h[":status"])));
          stream.on("error", (err: Error) => settle(/ENHANCE_YOUR_CALM|INTERNAL_ERROR|REFUSED_STREAM|CANCEL/.test(err.message) ? "reset" : errorOutcome(err)));
          stream.on("close", () => settle(stream.rstCode ? "reset" : "closed"));
          stream.resume();
          stream.end(body);
        });
      try {
        const answers = await Promise.all(Array.from({ length: 100 }, one));
        for (const a of answers) tally.add(`agent h2 1MB ${a}`);
      } finally {
        session.destroy();
      }
    }),
  );
}

/** Family 2 until `deadline`: rounds of 200 connections at mcr and 2 × 100 streams at the agent, side by side. */
export async function fakeTokenBodies(t: BodyTargets, deadline: number): Promise<Tally> {
  const tally = new Tally();
  await Promise.all([
    loopUntil(deadline, 1, 40, (round) => mcrFakeTokenRound(t.mcr, 200, round, tally)),
    loopUntil(deadline, 1, 40, (round) => agentFakeTokenRound(t.agent, 2, round, tally)),
  ]);
  return tally;
}
