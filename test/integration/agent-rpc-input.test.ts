// RPC input the real agent must refuse, sent as curl would: Connect unary JSON POSTs over
// HTTPS. Unknown fields, lists past their bounds, and errors that would echo a huge value.
// The agent runs without authentication and without podman (nothing here deploys).
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { mkdirSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { after, before, describe, test } from "node:test";
import { AGENT_BIN, startAgentProcess, type AgentProcess } from "../helpers/agent-process.ts";
import { RegistryClient } from "../helpers/https-client.ts";

const run = promisify(execFile);
const SERVICE = "/mcp.agent.v1.AgentService";

describe("agent RPC input over Connect JSON", () => {
  let tmp: string;
  let agent: AgentProcess;
  let http: RegistryClient;

  const post = async (method: string, body: unknown) => {
    const r = await http.request("POST", `${SERVICE}/${method}`, { headers: { "content-type": "application/json" }, body: typeof body === "string" ? body : JSON.stringify(body) });
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
      { dir, config: join(dir, "mcp-agent.toml"), storageRoot },
      { MCP_AUTH_DISABLED: "true", MCP_STORAGE_ROOT: storageRoot, MCP_RUNTIME_PODMAN: "/nonexistent/podman", MCP_RUNTIME_RECONCILE_INTERVAL: "1h" },
    );
    http = new RegistryClient(agent.url, readFileSync(join(dir, "certs", "ca.pem"), "utf8"));
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

  test("a 10 MB name never reaches validation: the message size limit answers first, briefly", async () => {
    const r = await post("Sync", { services: [definition("N".repeat(10 * 1024 * 1024))] });
    assert.equal(r.status >= 400, true);
    assert.ok(r.text.length < 400, `the answer is ${r.text.length} bytes`);
  });
});
