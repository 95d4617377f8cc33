// RPC input the real agent must refuse, sent as curl would: Connect unary JSON POSTs over
// HTTPS. Unknown fields, lists past their bounds, control characters in names and paths, a
// `since` podman would not parse, and errors that would echo a huge value.
// The agent runs without authentication and without podman (nothing here deploys).
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { mkdirSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { after, before, describe, test } from "node:test";
import { Code, ConnectError } from "@connectrpc/connect";
import { AGENT_BIN, agentClient, startAgentProcess, type AgentProcess } from "../helpers/agent-process.ts";
import { RegistryClient } from "../helpers/https-client.ts";

const run = promisify(execFile);
const SERVICE = "/mcp.agent.v1.AgentService";

describe("agent RPC input over Connect JSON", () => {
  let tmp: string;
  let agent: AgentProcess;
  let http: RegistryClient;
  let caPem: string;

  const post = async (method: string, body: unknown) => {
    const r = await http.request("POST", `${SERVICE}/${method}`, {
      headers: { "content-type": "application/json" },
      body: typeof body === "string" ? body : JSON.stringify(body),
    });
    return { status: r.status, text: r.text, json: r.json<{ code?: string; message?: string; results?: unknown[] }>() };
  };
  const definition = (name: string, components = [{ name: "api", image: "registry.test/web" }]) => ({ name, node: "node1", version: "v1", components });

  before(async () => {
    tmp = mkdtempSync(join(tmpdir(), "agent-rpc-input-"));
    const dir = join(tmp, "agent");
    await run(AGENT_BIN, ["init", "--dir", dir, "--ca-dir", join(tmp, "ca"), "--listen", "127.0.0.1:0", "--node", "node1"]);
    const storageRoot = join(tmp, "srv");
    mkdirSync(storageRoot);
    agent = await startAgentProcess(
      { dir, config: join(dir, "mcp-agent.toml"), storageRoot, containerPrefix: "" }, // no podman: no containers
      {
        MCP_AGENT_AUTH_DISABLED: "true",
        MCP_AGENT_STORAGE_ROOT: storageRoot,
        MCP_AGENT_RUNTIME_PODMAN: "/nonexistent/podman",
        MCP_AGENT_RUNTIME_RECONCILE_INTERVAL: "1h",
      },
    );
    caPem = readFileSync(join(dir, "certs", "ca.pem"), "utf8");
    http = new RegistryClient(agent.url, caPem);
  });
  after(async () => {
    http?.agent.destroy();
    await agent?.stop();
    rmSync(tmp, { recursive: true, force: true });
  });

  test("a well-formed Sync is stored (the control for the refusals below)", async () => {
    const r = await post("Sync", { services: [definition("web")] });
    assert.equal(r.status, 200, r.text);
    assert.deepEqual(r.json.results, [{ service: "web", outcome: "created" }]);
  });

  test("a Sync whose list is misspelled `definitions` is refused, naming the field (it used to answer {})", async () => {
    const r = await post("Sync", { definitions: [definition("web2")] });
    assert.equal(r.status, 400, r.text);
    assert.equal(r.json.code, "invalid_argument");
    assert.match(r.json.message ?? "", /definitions/);
  });

  test("unknown fields inside a definition are refused too", async () => {
    const r = await post("Sync", { services: [{ ...definition("web3"), replicas: 3 }] });
    assert.equal(r.status, 400, r.text);
    assert.match(r.json.message ?? "", /replicas/);
  });

  test("a service of 10,000 components is refused with the bound", async () => {
    const components = Array.from({ length: 10_000 }, (_, i) => ({ name: `c${i}`, image: "registry.test/web" }));
    const r = await post("Sync", { services: [definition("big", components)] });
    assert.equal(r.status, 400, r.text);
    assert.equal(r.json.code, "invalid_argument");
    assert.match(r.json.message ?? "", /big: components: 10000 components given; at most 64 are allowed/);
  });

  test("more than 256 services in one Sync are refused", async () => {
    const services = Array.from({ length: 257 }, (_, i) => definition(`s${i}`));
    const r = await post("Sync", { services });
    assert.equal(r.status, 400, r.text);
    assert.match(r.json.message ?? "", /services: 257 given; at most 256 per Sync/);
  });

  test("an invalid 900 KB name comes back as a short prefix, in Sync and in Stop", async () => {
    const huge = "N".repeat(900 * 1024);
    for (const [method, body] of [
      ["Sync", { services: [definition(huge)] }],
      ["Stop", { service: huge }],
      ["Stop", { service: "web", component: huge }],
    ] as const) {
      const r = await post(method, body);
      assert.equal(r.status, 400, `${method}: ${r.text.slice(0, 200)}`);
      assert.ok(r.text.length < 400, `${method}: the answer is ${r.text.length} bytes`);
      assert.match(r.json.message ?? "", /"N{64}"… \(921600 characters\)/);
    }
  });

  test("a NUL or another control character in any name or path of a definition is refused by Sync, naming the field", async () => {
    const cases: [Record<string, unknown>, RegExp][] = [
      [
        { components: [{ name: "api", image: "registry.test/web", volumes: ["/srv/web/da\u0000ta:/data"] }] },
        /ctl: components\[0\]\.volumes\[0\]: "\/srv\/web\/da\\u0000ta:\/data" contains the control character U\+0000 at position 11/,
      ],
      [{ components: [{ name: "api", image: "registry.test/web", volumes: ["/srv/web:/da\nta"] }] }, /volumes\[0\]: .* U\+000A at position 12/],
      [{ node: "node\u001b1" }, /ctl: node: .* U\+001B/],
      [{ nfsExport: "nas:/vol\u007f" }, /ctl: storage\.nfs: .* U\+007F/],
      [{ components: [{ name: "api", image: "registry.test/web", env: { "A\tB": "x" } }] }, /components\[0\]\.env: .* U\+0009/],
      [{ components: [{ name: "api", image: "registry.test/web", cmd: ["sh", "-c", "x\u0000"] }] }, /components\[0\]\.cmd\[2\]: .* contains a NUL character/],
      [{ components: [{ name: "api", image: "registry.test/web", routes: [{ port: 443, hostname: "web\r.example" }] }] }, /routes\[0\]\.hostname: .* U\+000D/],
    ];
    for (const [over, message] of cases) {
      const r = await post("Sync", { services: [{ ...definition("ctl"), ...over }] });
      assert.equal(r.status, 400, r.text);
      assert.equal(r.json.code, "invalid_argument");
      assert.match(r.json.message ?? "", message);
    }
    const name = await post("Sync", { services: [definition("ctl\u0000")] });
    assert.equal(name.json.code, "invalid_argument");
    assert.match(name.json.message ?? "", /^name: "ctl\\u0000" contains the control character U\+0000 at position 3/);
    const machines = await post("Sync", { services: [], machineRegistry: { "web=01\nctl": 2 } });
    assert.equal(machines.json.code, "invalid_argument");
    assert.match(machines.json.message ?? "", /machine registry: "web=01\\nctl" is not a valid service name/);
  });

  test("Logs with a since podman would not parse is InvalidArgument naming the field, before podman is asked", async () => {
    const client = agentClient(agent.url, caPem);
    for (const since of ["garbage", "10d", "2024-02-30", "10m\u0000"]) {
      await assert.rejects(
        (async () => {
          for await (const _ of client.logs({ service: "web", since })) void _;
        })(),
        (e: unknown) =>
          e instanceof ConnectError && e.code === Code.InvalidArgument && e.rawMessage.startsWith(`since: ${JSON.stringify(since)} is not a time`),
      );
    }
    // The control: a valid since passes the check and reaches podman, which this agent lacks.
    await assert.rejects(
      (async () => {
        for await (const _ of client.logs({ service: "web", since: "10m" })) void _;
      })(),
      (e: unknown) => e instanceof ConnectError && e.code !== Code.InvalidArgument,
    );
  });

  test("a 10 MB name never reaches validation: the message size limit answers first, briefly", async () => {
    const r = await post("Sync", { services: [definition("N".repeat(10 * 1024 * 1024))] });
    assert.equal(r.status >= 400, true);
    assert.ok(r.text.length < 400, `the answer is ${r.text.length} bytes`);
  });
});
