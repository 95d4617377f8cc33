// A log follow that breaks resumes: `mcp logs -f --json` against a real agent that is stopped
// and started again mid-follow reconnects with backoff and asks for the lines `since` the last
// one it had; the container numbers its lines, so a repeated or lost line shows.
import assert from "node:assert/strict";
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { agentClient, initAgentHome, removeAgentHome, startAgentProcess, type AgentHome, type AgentProcess } from "../helpers/agent-process.ts";
import { mcp, mcpStream } from "../helpers/console.ts";
import { RegistryClient } from "../helpers/https-client.ts";
import { bearer, login } from "../helpers/identity.ts";
import { initHome, removeHome, startMcr, type McrHome, type McrProcess } from "../helpers/mcr-process.ts";
import { createPodmanEnv, type PodmanEnv } from "../helpers/podman.ts";
import { skipUnlessTools } from "../helpers/tools.ts";
import type { ServiceDefinition } from "../../proto/gen/mcp/agent/v1/agent_pb.ts";

const IMAGE = "localhost/resume-test/busybox:1";

describe("mcp logs -f across an agent restart", { skip: skipUnlessTools("podman", "runc", "busybox") }, () => {
  let mcrHome: McrHome;
  let mcr: McrProcess;
  let pm: PodmanEnv;
  let home: AgentHome;
  let agent: AgentProcess;
  let dir: string;
  let env: NodeJS.ProcessEnv;

  before(async () => {
    mcrHome = await initHome();
    mcr = await startMcr(mcrHome, {}, { auth: true });
    pm = createPodmanEnv();
    await pm.importBusybox(IMAGE);
    home = await initAgentHome({ mcr, mcrHome, podmanDir: pm.dir });
    agent = await startAgentProcess(home);
    // The same port after the restart: the console's config names it.
    writeFileSync(home.config, readFileSync(home.config, "utf8").replace(/^listen_addr = .*$/m, `listen_addr = "127.0.0.1:${agent.port}"`));
    dir = mkdtempSync(join(tmpdir(), "mcp-resume-it-"));
    mkdirSync(join(dir, "config", "mcp", "services"), { recursive: true });
    writeFileSync(
      join(dir, "config", "mcp", "mcp.toml"),
      `ca_cert = "${mcrHome.caPath}"\n[[nodes]]\nname = "node1"\nurl = "${agent.url}"\n[registry]\nurl = "${mcr.url}"\n`,
    );
    env = { ...pm.env, XDG_CONFIG_HOME: join(dir, "config"), XDG_STATE_HOME: join(dir, "state"), NO_COLOR: "1" };
    const r = await mcp(["login", "-u", "admin", "--password-stdin"], env, mcrHome.adminPassword + "\n");
    assert.equal(r.code, 0, r.stderr);
    const token = await login(new RegistryClient(mcr.url, mcrHome.caPem), "admin", mcrHome.adminPassword, "mcp-agent");
    const def = {
      name: "ticker",
      node: "node1",
      version: "v1",
      components: [{ name: "api", image: IMAGE, cmd: ["sh", "-c", 'i=0; while true; do i=$((i+1)); echo "tick $i"; sleep 0.05; done'] }],
    } as unknown as ServiceDefinition;
    for await (const _ of agentClient(agent.url, mcrHome.caPem).deploy({ service: "ticker", definition: def }, bearer(token))) void _;
  });

  after(async () => {
    await agent?.stop();
    await pm?.cleanup();
    await mcr?.stop();
    if (mcrHome) removeHome(mcrHome);
    if (home) removeAgentHome(home);
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  test("the follow reconnects after the restart and every line comes exactly once, in order", async () => {
    const follow = mcpStream(["logs", "ticker", "-f", "--json"], env);
    try {
      const n = (r: { line: string }) => Number(/^tick (\d+)$/.exec(r.line)?.[1] ?? NaN);
      const before = n(await follow.waitFor((r) => n(r) >= 20));
      await agent.stop(); // SIGTERM: the agent drains (up to 30 s with this follow open), then exits
      await new Promise((r) => setTimeout(r, 1500)); // the container writes ~30 lines meanwhile
      agent = await startAgentProcess(home);
      await follow.waitFor((r) => n(r) >= before + 80, 60_000);
      const nums = follow.records.map(n);
      assert.ok(
        nums.every((x) => Number.isInteger(x)),
        `only the container's lines, no timestamps: ${JSON.stringify(follow.records.slice(0, 3))}`,
      );
      const first = nums[0]!;
      assert.deepEqual(
        nums,
        nums.map((_, i) => first + i),
        "no line repeated, none lost",
      );
      assert.match(follow.stderr(), /mcp: logs of api: reconnecting/, "the break is said on stderr");
      assert.match(follow.stderr(), /mcp: logs of api: resumed/);
    } finally {
      assert.equal(await follow.stop(), 0);
    }
  });
});
