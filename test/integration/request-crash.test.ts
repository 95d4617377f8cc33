// No request ends a daemon: requests that once killed mcr (an anonymous chunked
// body refused with 413/401, after which the access-log line read the address of
// a socket that was gone) are sent to the real mcr and mcp-agent; after each one
// the process is still running and answers its health check.
import assert from "node:assert/strict";
import { request as httpsRequest } from "node:https";
import { connect as h2Connect } from "node:http2";
import { after, before, describe, test } from "node:test";
import { startPlatform, type TestPlatform } from "../helpers/platform.ts";
import { agentClient, type AgentProcess } from "../helpers/agent-process.ts";
import type { McrHome, McrProcess } from "../helpers/mcr-process.ts";
import { sleep } from "../helpers/wait.ts";

interface Sent {
  method: string;
  path: string;
  headers?: Record<string, string>;
  /** Bytes of body, sent chunked (no Content-Length), 64 KiB at a time. */
  bytes: number;
}

/** Sends one HTTP/1.1 request with a chunked body; the status, or undefined when the connection ended without one. */
function sendChunked(url: string, ca: string, s: Sent): Promise<number | undefined> {
  return new Promise((resolve) => {
    const req = httpsRequest(new URL(s.path, url), { method: s.method, headers: { "transfer-encoding": "chunked", ...s.headers }, ca, agent: false }, (res) => {
      res.resume();
      res.on("end", () => resolve(res.statusCode));
      res.on("error", () => resolve(res.statusCode));
    });
    req.on("error", () => resolve(undefined));
    const chunk = Buffer.alloc(64 * 1024);
    let left = s.bytes;
    const pump = () => {
      while (left > 0) {
        left -= chunk.length;
        if (!req.write(left >= 0 ? chunk : chunk.subarray(0, chunk.length + left))) return void req.once("drain", pump);
      }
      req.end();
    };
    pump();
  });
}

/** One HTTP/2 stream with a body of `bytes`, reset by the client as soon as an answer starts. */
function sendH2AndReset(url: string, ca: string, path: string, bytes: number, headers: Record<string, string>): Promise<void> {
  return new Promise((resolve) => {
    const session = h2Connect(url, { ca });
    session.on("error", () => undefined);
    const stream = session.request({ ":method": "POST", ":path": path, ...headers });
    const done = () => {
      session.destroy();
      resolve();
    };
    stream.on("response", () => {
      stream.close();
      done();
    });
    stream.on("error", done);
    stream.on("close", done);
    stream.write(Buffer.alloc(bytes));
  });
}

async function stillServing(child: { exitCode: number | null; signalCode: string | null }, health: () => Promise<string>, what: string): Promise<void> {
  await sleep(100); // a crash from a close listener happens just after the answer
  assert.equal(child.exitCode, null, `${what}: the process exited`);
  assert.equal(child.signalCode, null, `${what}: the process was killed`);
  assert.equal(await health(), "ok", `${what}: health afterwards`);
}

describe("no request ends a daemon", () => {
  let platform: TestPlatform;
  let mcrHome: McrHome;
  let mcr: McrProcess;
  let agent: AgentProcess;

  before(async () => {
    platform = await startPlatform();
    ({ mcr, mcrHome, agent } = platform);
  });

  after(() => platform?.stop());

  const mcrHealth = async () => {
    const status = await sendChunked(mcr.url, mcrHome.caPem, { method: "GET", path: "/v1/health", bytes: 0 });
    return status === 200 ? "ok" : `HTTP ${status}`;
  };

  const cases: Array<[string, Sent]> = [
    ["an anonymous 100 KB chunked login", { method: "POST", path: "/v1/auth/login", headers: { "content-type": "application/json" }, bytes: 100_000 }],
    ["a 256 KB chunked body on GET /v2/token", { method: "GET", path: "/v2/token?service=mcr", bytes: 256 * 1024 }],
    ["a 256 KB chunked body on GET /v1/health", { method: "GET", path: "/v1/health", bytes: 256 * 1024 }],
    [
      "a 2 MiB RPC with Bearer junk",
      {
        method: "POST",
        path: "/mcr.v1.PolicyService/ListRules",
        headers: { "content-type": "application/json", authorization: "Bearer junk" },
        bytes: 2 * 1024 * 1024,
      },
    ],
    [
      "a 2 MiB gRPC Health call",
      { method: "POST", path: "/mcr.v1.AdminService/Health", headers: { "content-type": "application/grpc" }, bytes: 2 * 1024 * 1024 },
    ],
    ["a 2 MiB body on a manifest GET", { method: "GET", path: "/v2/a/manifests/latest", bytes: 2 * 1024 * 1024 }],
  ];
  for (const [what, sent] of cases) {
    test(`mcr survives ${what}`, async () => {
      for (let i = 0; i < 3; i++) await sendChunked(mcr.url, mcrHome.caPem, sent);
      await stillServing(mcr.child, mcrHealth, what);
    });
  }

  test("mcp-agent survives big chunked bodies over HTTP/1.1 and streams reset over HTTP/2", async () => {
    const health = async () => (await agentClient(agent.url, mcrHome.caPem).health({})).status;
    const path = "/mcp.agent.v1.AgentService/Sync";
    const variants: Array<Record<string, string>> = [
      { "content-type": "application/json" },
      { "content-type": "application/json", authorization: "Bearer junk" },
      { "content-type": "application/grpc" },
    ];
    for (const headers of variants) {
      await sendChunked(agent.url, mcrHome.caPem, { method: "POST", path, headers, bytes: 2 * 1024 * 1024 });
      await sendH2AndReset(agent.url, mcrHome.caPem, path, 256 * 1024, headers);
    }
    await stillServing(agent.child, health, "agent");
  });
});
