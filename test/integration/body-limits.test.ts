// Anonymous memory exhaustion (security item 2), against the real mcr and
// mcp-agent processes: 100 MB and 1 GB bodies POSTed without a token to an RPC
// that needs one are refused long before they are sent, over HTTP/1.1 and (agent)
// HTTP/2, and neither daemon's resident memory grows by 20 MiB. The bodies are
// streamed from a generator reusing one 1 MiB buffer.
import assert from "node:assert/strict";
import { once } from "node:events";
import { readFileSync } from "node:fs";
import { connect as h2Connect } from "node:http2";
import { request as httpsRequest } from "node:https";
import { after, before, describe, test } from "node:test";
import { AdminService } from "../../proto/gen/mcr/v1/admin_pb.ts";
import { PolicyService } from "../../proto/gen/mcr/v1/policy_pb.ts";
import { agentClient, type AgentProcess } from "../helpers/agent-process.ts";
import { adminClient, bearer } from "../helpers/identity.ts";
import type { McrHome, McrProcess } from "../helpers/mcr-process.ts";
import { startPlatform, type TestPlatform } from "../helpers/platform.ts";
import { sleep } from "../helpers/wait.ts";

const MB = 1_000_000;
const MiB = 1024 * 1024;
const CHUNK = Buffer.alloc(MiB, "x");

function rssBytes(pid: number): number {
  const m = /^VmRSS:\s+(\d+) kB$/m.exec(readFileSync(`/proc/${pid}/status`, "utf8"));
  assert.ok(m, "VmRSS in /proc/<pid>/status");
  return Number(m[1]) * 1024;
}

/** Samples a process's RSS every 20 ms until stopped; the highest value seen. */
function watchRss(pid: number): { stop(): number } {
  let peak = rssBytes(pid);
  const timer = setInterval(() => (peak = Math.max(peak, rssBytes(pid))), 20);
  return {
    stop() {
      clearInterval(timer);
      return Math.max(peak, rssBytes(pid));
    },
  };
}

interface Outcome {
  /** HTTP status of the answer (undefined: the request ended without one). */
  status?: number;
  body: string;
  /** Body bytes handed to the connection when the answer arrived. */
  sentWhenAnswered: number;
  ms: number;
}

interface Blast {
  url: string;
  path: string;
  ca: string;
  size: number;
  http2: boolean;
  /** Declare Content-Length (else chunked / no length). */
  declareLength: boolean;
}

/**
 * POSTs `size` bytes without a token, writing 1 MiB chunks while the connection
 * accepts them, and stops writing as soon as an answer arrives (or after 60 s).
 */
async function blast(b: Blast): Promise<Outcome> {
  const started = Date.now();
  const headers: Record<string, string | number> = { "content-type": "application/json", "connect-protocol-version": "1" };
  if (b.declareLength) headers["content-length"] = b.size;
  const stop = new AbortController();
  let sent = 0;
  let outcome: Outcome | undefined;
  let closeConn = () => {};
  let req: NodeJS.WritableStream & { destroyed: boolean };
  const answered = new Promise<void>((resolve) => {
    const onAnswer = (status: number, read: AsyncIterable<Buffer>) => {
      outcome = { status, body: "", sentWhenAnswered: sent, ms: Date.now() - started };
      stop.abort();
      (async () => {
        for await (const c of read) outcome!.body += c.toString();
      })()
        .catch(() => undefined)
        .finally(resolve);
    };
    const onEnd = () => {
      stop.abort();
      resolve();
    };
    if (b.http2) {
      const session = h2Connect(b.url, { ca: b.ca });
      session.on("error", onEnd);
      const stream = session.request({ ":method": "POST", ":path": b.path, ...headers });
      stream.on("response", (h) => onAnswer(Number(h[":status"]), stream));
      stream.on("error", onEnd);
      stream.on("close", onEnd);
      req = stream;
      closeConn = () => {
        stream.destroy();
        session.destroy();
      };
    } else {
      const r = httpsRequest(new URL(b.path, b.url), { method: "POST", headers, ca: b.ca, agent: false }, (res) => onAnswer(res.statusCode!, res));
      r.on("error", onEnd);
      r.on("close", onEnd);
      req = r;
      closeConn = () => r.destroy();
    }
  });
  const deadline = setTimeout(() => stop.abort(), 60_000);
  try {
    while (sent < b.size && !stop.signal.aborted && !req!.destroyed) {
      const n = Math.min(CHUNK.length, b.size - sent);
      sent += n;
      if (!req!.write(n === CHUNK.length ? CHUNK : CHUNK.subarray(0, n))) await once(req! as never, "drain", { signal: stop.signal }).catch(() => undefined);
    }
    if (!stop.signal.aborted) req!.end();
    await Promise.race([answered, once(stop.signal, "abort")]);
    await Promise.race([answered, sleep(5_000)]);
  } finally {
    clearTimeout(deadline);
    closeConn();
  }
  return outcome ?? { body: "", sentWhenAnswered: sent, ms: Date.now() - started };
}

/** Blasts 100 MB and 1 GB (with and without Content-Length) at `target`, checking answers and the daemon's RSS. */
async function refusesBigAnonymousBodies(pid: number, target: Omit<Blast, "size" | "declareLength">): Promise<void> {
  // Warm up the refusal path so its one-off allocations are in the baseline.
  await blast({ ...target, size: MiB, declareLength: true });
  await sleep(200);
  const before = rssBytes(pid);
  const watch = watchRss(pid);
  const cases = [
    { size: 100 * MB, declareLength: true },
    { size: 1000 * MB, declareLength: true },
    { size: 1000 * MB, declareLength: false },
  ];
  try {
    for (const c of cases) {
      const o = await blast({ ...target, ...c });
      const what = `${c.size / MB} MB ${c.declareLength ? "with" : "without"} Content-Length over ${target.http2 ? "HTTP/2" : "HTTP/1.1"}: ${JSON.stringify({ ...o, body: o.body.slice(0, 200) })}`;
      process.stdout.write(`# ${what.slice(0, what.indexOf(":"))}: HTTP ${o.status} after ${o.ms} ms, ${(o.sentWhenAnswered / MiB).toFixed(0)} MiB sent\n`);
      assert.equal(o.status, 401, what);
      assert.equal(JSON.parse(o.body).code, "unauthenticated", what);
      // Answered at once: well before the body is through (socket buffers take a few MB).
      assert.ok(o.sentWhenAnswered < 32 * MiB, what);
      assert.ok(o.ms < 5_000, what);
    }
  } finally {
    const peak = watch.stop();
    const growth = peak - before;
    process.stdout.write(
      `# RSS of pid ${pid} (${target.http2 ? "HTTP/2" : "HTTP/1.1"}): before ${(before / MiB).toFixed(1)} MiB, peak ${(peak / MiB).toFixed(1)} MiB, growth ${(growth / MiB).toFixed(1)} MiB\n`,
    );
    assert.ok(growth < 20 * MiB, `RSS grew by ${(growth / MiB).toFixed(1)} MiB`);
  }
}

describe("anonymous request bodies are refused before they are read", () => {
  let platform: TestPlatform;
  let mcrHome: McrHome;
  let mcr: McrProcess;
  let agent: AgentProcess;
  let adminToken: string;

  before(async () => {
    platform = await startPlatform();
    ({ mcrHome, mcr, agent, adminToken } = platform);
  });

  after(() => platform?.stop());

  test("mcr: 100 MB and 1 GB to PolicyService/CreateRule without a token", async () => {
    await refusesBigAnonymousBodies(mcr.child.pid!, { url: mcr.url, path: `/${PolicyService.typeName}/CreateRule`, ca: mcrHome.caPem, http2: false });
  });

  test("mcp-agent: 100 MB and 1 GB to AgentService/Sync without a token, over HTTP/1.1 and HTTP/2", async () => {
    const target = { url: agent.url, path: "/mcp.agent.v1.AgentService/Sync", ca: mcrHome.caPem };
    await refusesBigAnonymousBodies(agent.child.pid!, { ...target, http2: false });
    await refusesBigAnonymousBodies(agent.child.pid!, { ...target, http2: true });
  });

  test("public Health and authenticated calls still work", async () => {
    assert.equal((await adminClient(AdminService, mcr.url, mcrHome.caPem).health({})).status, "ok");
    const rules = await adminClient(PolicyService, mcr.url, mcrHome.caPem).listRules({}, bearer(adminToken));
    assert.ok(Array.isArray(rules.rules));
    assert.equal((await agentClient(agent.url, mcrHome.caPem).health({})).status, "ok");
  });
});
