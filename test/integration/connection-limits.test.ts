// Idle sockets cannot starve honest clients, against the real mcr and agent:
// strangers on other loopback addresses open far more TCP connections than the
// daemons' caps (no TLS handshake, nothing sent), and an honest client on
// 127.0.0.1 is still served every time; a socket that never speaks is closed
// after first_request_timeout.
import assert from "node:assert/strict";
import { once } from "node:events";
import { connect as tcpConnect, type Socket } from "node:net";
import { after, before, describe, test } from "node:test";
import { PolicyService } from "../../proto/gen/mcr/v1/policy_pb.ts";
import { agentClient, type AgentProcess } from "../helpers/agent-process.ts";
import { adminClient, bearer } from "../helpers/identity.ts";
import type { McrHome, McrProcess } from "../helpers/mcr-process.ts";
import { startPlatform, type TestPlatform } from "../helpers/platform.ts";

const LIMITS = { MAX_CONNECTIONS: "64", MAX_CONNECTIONS_PER_ADDRESS: "16", FIRST_REQUEST_TIMEOUT: "1500ms" };

/** `perAddress` idle TCP connections from each of `addresses` loopback addresses. */
async function holdSockets(port: number, addresses: number, perAddress: number): Promise<Socket[]> {
  const sockets: Socket[] = [];
  for (let a = 0; a < addresses; a++) {
    for (let i = 0; i < perAddress; i++) {
      const s = tcpConnect({ port, host: "127.0.0.1", localAddress: `127.0.1.${10 + a}` });
      s.on("error", () => undefined);
      sockets.push(s);
    }
  }
  await Promise.all(sockets.map((s) => Promise.race([once(s, "connect"), once(s, "close")])));
  return sockets;
}

describe("idle connections do not starve honest clients", () => {
  let mcrHome: McrHome;
  let mcr: McrProcess;
  let agent: AgentProcess;
  let adminToken: string;
  let platform: TestPlatform;

  before(async () => {
    const env = (prefix: string) => Object.fromEntries(Object.entries(LIMITS).map(([k, v]) => [`${prefix}_SERVER_${k}`, v]));
    platform = await startPlatform({ mcrEnv: env("MCR"), agentEnv: env("MCP_AGENT") });
    ({ mcrHome, mcr, agent, adminToken } = platform);
  });

  after(() => platform?.stop());

  for (const daemon of ["mcr", "mcp-agent"] as const) {
    test(`${daemon}: 8 addresses × 40 idle sockets against a cap of 64 (16 per address); honest calls all succeed`, async () => {
      const port = daemon === "mcr" ? mcr.port : Number(new URL(agent.url).port);
      const strangers = await holdSockets(port, 8, 40);
      try {
        // The daemon closes what is over its caps as it accepts; the closes reach the clients a moment later.
        const stillOpen = () => strangers.filter((s) => !s.destroyed && s.readyState === "open").length;
        for (const deadline = Date.now() + 5_000; stillOpen() > 64 && Date.now() < deadline; ) await new Promise((r) => setTimeout(r, 50));
        assert.ok(stillOpen() <= 64, `${stillOpen()} stranger sockets still open`);
        for (let i = 0; i < 10; i++) {
          if (daemon === "mcr") {
            const rules = await adminClient(PolicyService, mcr.url, mcrHome.caPem).listRules({}, bearer(adminToken));
            assert.ok(Array.isArray(rules.rules));
          } else assert.equal((await agentClient(agent.url, mcrHome.caPem).health({})).status, "ok");
          // Fresh strangers keep arriving while the honest client works.
          strangers.push(...(await holdSockets(port, 2, 8)));
        }
        // Silent sockets are closed after first_request_timeout.
        const silent = await holdSockets(port, 1, 1);
        strangers.push(...silent);
        const t = Date.now();
        if (!silent[0]!.destroyed) await once(silent[0]!, "close");
        assert.ok(Date.now() - t < 4_000, `a silent socket stayed ${Date.now() - t} ms`);
      } finally {
        for (const s of strangers) s.destroy();
      }
    });
  }
});
