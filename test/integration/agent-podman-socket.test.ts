// The agent on a podman API socket the operator runs ([runtime] socket, as with podman.socket):
// it deploys through it and starts no podman service of its own; while that socket's service
// is down its calls fail naming the socket, and they work again once it is back, with no
// restart of the agent. Also: the agent's own service, killed, is started again by the next call.
import assert from "node:assert/strict";
import { type ChildProcess, execFileSync, spawn } from "node:child_process";
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { Code, ConnectError, type Client } from "@connectrpc/connect";
import type { AgentService, ServiceDefinition } from "../../proto/gen/mcp/agent/v1/agent_pb.ts";
import { bearer } from "../helpers/identity.ts";
import { startPlatform, type TestPlatform } from "../helpers/platform.ts";
import { skipUnlessTools } from "../helpers/tools.ts";
import { until } from "../helpers/wait.ts";

const IMAGE = "localhost/socket-test/busybox:1";

describe("the agent on the operator's podman socket", { skip: skipUnlessTools("podman", "busybox", "runc") }, () => {
  let platform: TestPlatform;
  let client: Client<typeof AgentService>;
  let admin: ReturnType<typeof bearer>;
  let dir: string;
  let socket: string;
  let service: ChildProcess | undefined;

  /** The operator's `podman system service` on `socket`, with the test's own podman storage. */
  const startService = async () => {
    service = spawn("podman", ["system", "service", "--time=0", `unix://${socket}`], { env: platform.pm.env, stdio: "ignore" });
    await until("the operator's podman socket", async () => (existsSync(socket) ? true : undefined), 15_000, 50);
  };
  const stopService = async () => {
    const s = service;
    service = undefined;
    if (!s || s.exitCode !== null) return;
    const exited = new Promise((r) => s.once("exit", r));
    s.kill("SIGTERM");
    await exited;
  };
  const podmanChildren = () =>
    execFileSync("sh", ["-c", `pgrep -a -P ${platform.agent.child.pid} podman || true`])
      .toString()
      .trim()
      .split("\n")
      .filter(Boolean);

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), "mcp-socket-it-"));
    socket = join(dir, "podman.sock");
    platform = await startPlatform({ agentEnv: { MCP_AGENT_RUNTIME_SOCKET: socket } });
    await platform.pm.importBusybox(IMAGE);
    await startService();
    client = platform.agentClient();
    admin = bearer(platform.agentAdminToken);
  });

  after(async () => {
    await platform?.stop();
    await stopService();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  test("deploys through the operator's socket and runs no podman service of its own", async () => {
    const def = { name: "sock", node: "node1", version: "v1", components: [{ name: "api", image: IMAGE, cmd: ["sleep", "100000"] }] };
    for await (const _ of client.deploy({ service: "sock", definition: def as unknown as ServiceDefinition }, admin));
    const listed = (await client.list({}, admin)).containers.find((c) => c.service === "sock");
    assert.equal(listed?.state, "running");
    assert.equal((await platform.pm.podman(["inspect", "--format", "{{.State.Status}}", listed.container])).trim(), "running");
    assert.deepEqual(podmanChildren(), []);
    assert.ok(!existsSync(join(platform.agentHome.dir, "podman.sock")));
  });

  test("while the operator's service is down, calls fail naming the socket; back without an agent restart", async () => {
    await stopService();
    await assert.rejects(
      client.list({}, admin),
      (e: unknown) => e instanceof ConnectError && e.code === Code.Internal && e.rawMessage.includes(`podman at ${socket} is not running`),
    );
    await startService();
    const listed = await until("List answers again", async () => (await client.list({}, admin)).containers.find((c) => c.service === "sock"), 15_000, 200);
    assert.equal(listed.state, "running");
  });
});
