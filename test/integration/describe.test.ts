// Describe against the real agent and podman, through `mcp describe`: a busybox service with
// a secret and a plain variable and a route is deployed; the plain text and --json show the
// command, the secret masked (its value nowhere in the output), the plain value, the port and
// its route, the labels, and the image id and digest podman has; a stopped container's exit
// code; a component the service lacks is exit code 3.
import assert from "node:assert/strict";
import { rmSync } from "node:fs";
import { after, before, describe, test } from "node:test";
import type { AgentService, ServiceDefinition } from "../../proto/gen/mcp/agent/v1/agent_pb.ts";
import type { Client } from "@connectrpc/connect";
import { mcp } from "../helpers/console.ts";
import { bearer } from "../helpers/identity.ts";
import { adminConsole, startPlatform, type TestPlatform } from "../helpers/platform.ts";
import { skipUnlessTools } from "../helpers/tools.ts";

const IMAGE = "localhost/describe-test/busybox:1";
const SECRET = "s3cr3t-describe-value";
// Exits 3 on SIGTERM (after the sleep in progress), so a stop leaves an exit code of its own.
const LOOP = "trap 'exit 3' TERM; while true; do sleep 1; done";

describe("Describe with the real agent and podman", { skip: skipUnlessTools("podman", "busybox", "runc") }, () => {
  let platform: TestPlatform;
  let client: Client<typeof AgentService>;
  let dir: string;
  let env: NodeJS.ProcessEnv;

  before(async () => {
    platform = await startPlatform();
    client = platform.agentClient();
    await platform.pm.importBusybox(IMAGE);
    const def = {
      name: "box",
      node: "node1",
      version: "v1",
      components: [
        { name: "api", image: IMAGE, cmd: ["sh", "-c", LOOP], env: { SECRET_TOKEN: SECRET, GREETING: "hello world" }, routes: [{ name: "web", port: 443 }] },
      ],
    };
    for await (const _ of client.deploy({ service: "box", definition: def as unknown as ServiceDefinition }, bearer(platform.agentAdminToken)));
    ({ dir, env } = await adminConsole(platform, "mcp-describe-it-"));
  });

  after(async () => {
    await platform?.stop();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  test("--json: command, env with the secret masked, the port and its route, labels, the image id and digest podman has", async () => {
    const r = await mcp(["describe", "box", "--json"], env);
    assert.equal(r.code, 0, r.stderr);
    assert.ok(!r.stdout.includes(SECRET) && !r.stderr.includes(SECRET), "the secret's value is never printed");
    const doc = r.json();
    assert.deepEqual([doc.node, doc.service, doc.version, doc.placement], ["node1", "box", "v1", null]);
    const api = doc.components[0];
    const [imageId, digest] = (await platform.pm.podman(["image", "inspect", "--format", "{{.Id}} {{.Digest}}", IMAGE])).trim().split(" ");
    assert.deepEqual([api.component, api.state, api.image, api.imageId, api.imageDigest], ["api", "running", IMAGE, imageId, digest]);
    assert.match(api.containerId, /^[0-9a-f]{64}$/);
    assert.deepEqual(api.command, ["sh", "-c", LOOP]);
    const vars = Object.fromEntries(api.env.map((e: { name: string; value: string }) => [e.name, e.value]));
    assert.deepEqual([vars.SECRET_TOKEN, vars.GREETING, api.maskedEnv, api.envSource], ["***", "hello world", 1, "env_file"]);
    const port = Number(vars.PORT);
    assert.deepEqual(api.ports, [{ hostIp: "127.0.0.1", hostPort: port, containerPort: port, protocol: "tcp", route: "web" }]);
    assert.deepEqual(
      [api.labels["mcp.service"], api.labels["mcp.component"], api.labels["mcp.version"]],
      ["box", "api", "1"],
      "the version label is the image's tag",
    );
    assert.deepEqual([api.restartPolicy, api.restartCount, api.exitCode], ["unless-stopped", 0, null]);
    assert.ok(Date.parse(api.createdAt) <= Date.parse(api.startedAt), "created, then started");
    assert.ok(api.mounts.some((m: { destination: string; type: string }) => m.destination === "/srv/box" && m.type === "bind"));
  });

  test("plain text: the sections an operator reads, and a stopped container's exit code", async () => {
    const r = await mcp(["describe", "box/api"], env);
    assert.equal(r.code, 0, r.stderr);
    const out = r.stdout;
    assert.ok(!out.includes(SECRET), "the secret's value is never printed");
    const imageId = (await platform.pm.podman(["image", "inspect", "--format", "{{.Id}}", IMAGE])).trim();
    assert.match(out, /^box v1 on node1$/m);
    assert.match(out, /^component api$/m);
    assert.match(out, /^state +running \(desired running\)$/m);
    assert.match(out, new RegExp(`^image id +${imageId}$`, "m"));
    assert.match(out, /^command +sh -c 'trap '\\''exit 3'\\'' TERM; while true; do sleep 1; done'$/m);
    assert.match(out, /^api: environment \(3, 1 masked; from the agent's env file of the container\)$/m);
    assert.match(out, /^SECRET_TOKEN +\*\*\*$/m);
    assert.match(out, /^GREETING +hello world$/m);
    assert.match(out, /^api: ports\nHOST +CONTAINER +ROUTE\n127\.0\.0\.1:(\d+) +\1\/tcp +web$/m);
    assert.match(out, /^mcp\.service +box$/m);
    const stopped = await mcp(["stop", "box"], env);
    assert.equal(stopped.code, 0, stopped.stderr);
    const after = await mcp(["describe", "box/api"], env);
    assert.match(after.stdout, /^state +exited \(exit code 3, desired stopped\)$/m);
    assert.match(after.stdout, /^finished +\d{4}-\d\d-\d\dT/m);
    const missing = await mcp(["describe", "box/db", "--json"], env);
    assert.equal(missing.code, 3);
    assert.equal(missing.json().error.code, "not_found");
    assert.match(missing.json().error.message, /service box has no component db/);
  });
});
