// Made-up tokens and the buffered-body budget, against the real mcr and agent:
// - hundreds of connections sending 1 MB RPC bodies with `Bearer junk` are
//   answered Unauthenticated before their bodies are read, and the daemon's
//   memory stays flat (it used to buffer a megabyte per call);
// - with a valid token, bodies beyond max_buffered_body_bytes are answered 503
//   with Retry-After at once (never queued), and once they are gone an honest
//   call goes through.
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { connect as h2Connect } from "node:http2";
import { request as httpsRequest } from "node:https";
import { after, before, describe, test } from "node:test";
import { PolicyService } from "../../proto/gen/mcr/v1/policy_pb.ts";
import { agentClient, type AgentProcess } from "../helpers/agent-process.ts";
import { adminClient, bearer } from "../helpers/identity.ts";
import type { McrHome, McrProcess } from "../helpers/mcr-process.ts";
import { startPlatform, type TestPlatform } from "../helpers/platform.ts";

const MiB = 1024 * 1024;

function rssBytes(pid: number): number {
  const m = /^VmRSS:\s+(\d+) kB$/m.exec(readFileSync(`/proc/${pid}/status`, "utf8"));
  assert.ok(m);
  return Number(m[1]) * 1024;
}

interface Answer {
  status?: number;
  headers: Record<string, string | string[] | undefined>;
  body: string;
}

/**
 * POSTs a body of `bytes` with a declared length but sends only `sendFirst` of it
 * (the rest never comes), and resolves with the answer (or none).
 */
function postPartial(url: string, ca: string, path: string, token: string, bytes: number, sendFirst: number): { answer: Promise<Answer>; abort(): void } {
  const req = httpsRequest(new URL(path, url), {
    method: "POST",
    ca,
    agent: false,
    headers: { "content-type": "application/json", "content-length": bytes, authorization: `Bearer ${token}` },
  });
  const answer = new Promise<Answer>((resolve) => {
    req.on("response", (res) => {
      let body = "";
      res.on("data", (d) => (body += d));
      res.on("end", () => resolve({ status: res.statusCode, headers: res.headers, body }));
      res.on("error", () => resolve({ status: res.statusCode, headers: res.headers, body }));
    });
    req.on("error", () => resolve({ headers: {}, body: "" }));
  });
  req.write(Buffer.alloc(sendFirst, " "));
  return { answer, abort: () => req.destroy() };
}

/**
 * `n` HTTP/2 streams on one connection, each with a 1 MB body and `Bearer junk`;
 * each one's status, or "reset" when the server reset the stream (Node's HTTP/2
 * layer tears down a session that keeps pushing data the server does not read).
 */
async function h2JunkFlood(url: string, ca: string, path: string, n: number): Promise<Array<number | string>> {
  const session = h2Connect(url, { ca });
  session.on("error", () => undefined);
  const body = Buffer.alloc(1_000_000, " ");
  try {
    return await Promise.all(
      Array.from(
        { length: n },
        () =>
          new Promise<number | string>((resolve) => {
            const s = session.request({ ":method": "POST", ":path": path, "content-type": "application/json", authorization: "Bearer junk" });
            const timer = setTimeout(() => resolve("stalled"), 10_000);
            const settle = (v: number | string) => {
              clearTimeout(timer);
              resolve(v);
            };
            s.on("response", (h) => settle(Number(h[":status"])));
            s.on("error", (err: Error) => settle(/ENHANCE_YOUR_CALM|INTERNAL_ERROR|REFUSED_STREAM/.test(err.message) ? "reset" : err.message));
            s.on("close", () => settle(s.rstCode ? "reset" : "closed without an answer"));
            s.end(body);
          }),
      ),
    );
  } finally {
    session.destroy();
  }
}

describe("made-up tokens buy no body; the buffered-body budget holds", () => {
  let platform: TestPlatform;
  let mcrHome: McrHome;
  let mcr: McrProcess;
  let agent: AgentProcess;
  let adminToken: string;

  before(async () => {
    platform = await startPlatform({ mcrEnv: { MCR_SERVER_MAX_BUFFERED_BODY_BYTES: String(4 * MiB) } });
    ({ mcrHome, mcr, agent, adminToken } = platform);
  });

  after(() => platform?.stop());

  test("mcr: 200 connections with 1 MB bodies and Bearer junk are refused unread", async () => {
    const before = rssBytes(mcr.child.pid!);
    const calls = Array.from({ length: 200 }, () => postPartial(mcr.url, mcrHome.caPem, `/${PolicyService.typeName}/ListRules`, "junk", 1_000_000, 1_000_000));
    const answers = await Promise.all(calls.map((c) => c.answer));
    for (const c of calls) c.abort();
    const growth = rssBytes(mcr.child.pid!) - before;
    process.stdout.write(`# mcr RSS growth after 200 fake-token bodies: ${(growth / MiB).toFixed(1)} MiB\n`);
    assert.deepEqual([...new Set(answers.map((a) => a.status))], [401]);
    assert.equal(JSON.parse(answers[0]!.body).code, "unauthenticated");
    assert.ok(growth < 100 * MiB, `RSS grew by ${(growth / MiB).toFixed(1)} MiB`);
  });

  test("mcp-agent: 100 HTTP/2 streams with 1 MB bodies and Bearer junk are refused unread", async () => {
    const before = rssBytes(agent.child.pid!);
    const statuses = await h2JunkFlood(agent.url, mcrHome.caPem, "/mcp.agent.v1.AgentService/Sync", 100);
    const growth = rssBytes(agent.child.pid!) - before;
    process.stdout.write(
      `# agent RSS growth after 100 fake-token streams: ${(growth / MiB).toFixed(1)} MiB, answers ${JSON.stringify([...new Set(statuses)])}\n`,
    );
    // Refused (401), reset, or left stalled: Node's HTTP/2 layer sometimes stops answering a
    // session flooded past its memory limit without resetting it (a known gap, docs/security.md).
    // What matters here: none is served, none is buffered (RSS below), and the agent stays up.
    for (const s of statuses) assert.ok(s === 401 || s === "reset" || s === "stalled", `a fake-token stream got ${s}`);
    // A few streams on a connection of their own are answered one by one.
    assert.deepEqual([...new Set(await h2JunkFlood(agent.url, mcrHome.caPem, "/mcp.agent.v1.AgentService/Sync", 3))], [401]);
    assert.ok(growth < 100 * MiB, `RSS grew by ${(growth / MiB).toFixed(1)} MiB`);
    assert.equal((await agentClient(agent.url, mcrHome.caPem).health({})).status, "ok");
  });

  test("mcr: bodies past max_buffered_body_bytes get 503 and Retry-After, and the budget comes back", async () => {
    // Four 1 MiB bodies that never finish hold the 4 MiB budget.
    const path = `/${PolicyService.typeName}/ListRules`;
    const holders = Array.from({ length: 4 }, () => postPartial(mcr.url, mcrHome.caPem, path, adminToken, MiB, 1024));
    await new Promise((r) => setTimeout(r, 300));
    const refused = postPartial(mcr.url, mcrHome.caPem, path, adminToken, MiB, 1024);
    const a = await refused.answer;
    refused.abort();
    assert.equal(a.status, 503);
    assert.equal(a.headers["retry-after"], "1");
    assert.match(JSON.parse(a.body).message, /request bodies/);
    for (const h of holders) h.abort();
    await Promise.all(holders.map((h) => h.answer));
    // The holders' reservations are given back with their connections.
    const rules = await adminClient(PolicyService, mcr.url, mcrHome.caPem).listRules({}, bearer(adminToken));
    assert.ok(Array.isArray(rules.rules));
  });
});
