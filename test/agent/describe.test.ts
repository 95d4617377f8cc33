// Describe on the fake runtime: each component of this agent's service with its container,
// image id and digest, command, environment from the agent's env file with secrets masked
// (their values nowhere in the answer), mounts, ports with their routes, labels, restart
// policy, times and a stopped one's exit code; a component never deployed (or whose container
// is gone) described from its plan; another agent's container and a stray one under a
// component's name left undescribed; an env file that became a link not followed; the
// policy's agent:read; unknown and invalid names.
import assert from "node:assert/strict";
import { rmSync, symlinkSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { after, describe, test } from "node:test";
import { create } from "@bufbuild/protobuf";
import { Code, type ConnectError } from "@connectrpc/connect";
import type { Rule } from "../../lib/policy/rules.ts";
import { validateDefinition } from "../../lib/services/definition.ts";
import { DescribeRequestSchema, DescribeResponseSchema, type DescribeResponse } from "../../proto/gen/mcp/agent/v1/describe_pb.ts";
import { maskEnv } from "../../agent/rpc/describe.ts";
import type { ServicePlacement } from "../../agent/placement/placer.ts";
import { agentOn, claims, removeAgents } from "../helpers/agent-service-fixture.ts";
import { FakeRuntime } from "../helpers/fake-runtime.ts";

after(removeAgents);

const admin = claims("root", ["admin"]);
const alice = claims("alice", ["user"]);
const gus = claims("gus", ["guest"]);
const ask = (service: string, component = "") => create(DescribeRequestSchema, { service, component });

const SECRET = "s3cret-value-never-shown";
/** shop: api (a route, a secret, a key, a plain value) and web (no route, restart on failure). */
const shop = (version = "v1") =>
  validateDefinition({
    name: "shop",
    node: "n1",
    version,
    components: [
      {
        name: "api",
        cmd: ["sleep", "1000"],
        env: { SECRET_TOKEN: SECRET, api_key: "k-123456", GREETING: "hello there" },
        routes: [{ name: "rest", port: 8443 }],
      },
      { name: "web", cmd: ["sh", "-c", "exec httpd"], restart: "on-failure:3" },
    ],
  });

type Agent = Awaited<ReturnType<typeof agentOn>>;
/** The answer as a client gets it (defaults filled in). */
const describeOf = async (a: Agent, req: ReturnType<typeof ask>, ctx: typeof admin) => create(DescribeResponseSchema, await a.service.describe!(req, ctx));
const component = (res: DescribeResponse, name: string) => res.components.find((c) => c.component === name)!;
const envOf = (res: DescribeResponse, name: string) => Object.fromEntries(component(res, name).env.map((e) => [e.name, e.value]));

describe("Describe", () => {
  test("masking: names that look like secrets, in any case; counted", () => {
    const { vars, masked } = maskEnv({
      db_password: "a",
      PRIVATE_KEY_PATH: "b",
      GITHUB_TOKEN: "c",
      PASSWD: "d",
      AWS_CREDENTIALS: "e",
      MY_SECRET: "f",
      GREETING: "hi",
      PORT: "20000",
      HOME: "/root",
    });
    assert.equal(masked, 6);
    assert.deepEqual(
      vars.map((v) => `${v.name}=${v.value}`),
      [
        "AWS_CREDENTIALS=***",
        "GITHUB_TOKEN=***",
        "GREETING=hi",
        "HOME=/root",
        "MY_SECRET=***",
        "PASSWD=***",
        "PORT=20000",
        "PRIVATE_KEY_PATH=***",
        "db_password=***",
      ],
    );
  });

  test("a deployed service: container, image id and digest, command, env from the env file (secrets masked), mounts, ports, labels, policy, times", async () => {
    const rt = new FakeRuntime();
    const a = await agentOn(rt, "aaaaaaaaaaaa", "a-");
    await a.deploy(shop());
    // podman reports the published port of the route.
    rt.containers.get("a-shop-api")!.info.ports = [{ hostIp: "127.0.0.1", hostPort: 20000, containerPort: 20000, protocol: "tcp" }];
    rt.containers.get("a-shop-api")!.info.restartCount = 2;
    const res = await describeOf(a, ask("shop"), admin);
    assert.deepEqual([res.service, res.version, res.active, res.node, res.placement, res.notes], ["shop", "v1", true, "n1", undefined, []]);
    assert.deepEqual(
      res.components.map((c) => c.component),
      ["api", "web"],
    );
    const api = component(res, "api");
    const fake = rt.containers.get("a-shop-api")!.info;
    assert.deepEqual(
      [api.container, api.containerId, api.state, api.desiredState, api.image, api.imageId, api.imageDigest],
      ["a-shop-api", fake.id, "running", "running", "reg.local/shop:v1", "img-reg.local/shop:v1", fake.details!.imageDigest],
    );
    assert.match(api.imageDigest, /^sha256:[0-9a-f]{64}$/);
    assert.deepEqual([api.command, api.entrypoint, api.restartPolicy, api.restartCount, api.exitCode], [["sleep", "1000"], [], "unless-stopped", 2, undefined]);
    assert.ok(api.startedAt && api.createdAt, "started and created times");
    assert.equal(api.finishedAt, "", "running: not finished");
    assert.deepEqual(envOf(res, "api"), { GREETING: "hello there", PORT: "20000", SECRET_TOKEN: "***", api_key: "***" });
    assert.deepEqual([api.maskedEnv, api.envSource], [2, "env_file"]);
    assert.deepEqual(
      api.env.filter((e) => e.masked).map((e) => e.name),
      ["SECRET_TOKEN", "api_key"],
    );
    assert.deepEqual(
      api.ports.map((p) => [p.hostIp, p.hostPort, p.containerPort, p.protocol, p.route]),
      [["127.0.0.1", 20000, 20000, "tcp", "rest"]],
    );
    assert.equal(api.mounts.length, 1);
    assert.match(api.mounts[0]!.source, /srv\/shop$/);
    assert.deepEqual([api.mounts[0]!.destination, api.mounts[0]!.type, api.mounts[0]!.readWrite], ["/srv/shop", "bind", true]);
    assert.deepEqual(
      [api.labels["mcp.service"], api.labels["mcp.component"], api.labels["mcp.agent"], api.labels["mcp.version"]],
      ["shop", "api", "aaaaaaaaaaaa", "v1"],
    );
    assert.deepEqual([component(res, "web").restartPolicy, component(res, "web").ports, component(res, "web").maskedEnv], ["on-failure:3", [], 0]);
    assert.ok(!JSON.stringify(res).includes(SECRET) && !JSON.stringify(res).includes("k-123456"), "no secret value anywhere in the answer");
    // One component when asked.
    const web = await describeOf(a, ask("shop", "web"), alice);
    assert.deepEqual(
      web.components.map((c) => c.component),
      ["web"],
      "a user reads it (built-in rule)",
    );
  });

  test("a stopped component: its exit code and finish; one whose container is gone: missing, from its plan", async () => {
    const rt = new FakeRuntime();
    const a = await agentOn(rt, "aaaaaaaaaaaa", "a-");
    await a.deploy(shop());
    await a.service.stop!({ service: "shop", component: "web" } as never, admin);
    rt.kill("a-shop-api");
    const res = await describeOf(a, ask("shop"), admin);
    assert.deepEqual([component(res, "api").state, component(res, "api").exitCode], ["exited", 137]);
    assert.deepEqual([component(res, "web").state, component(res, "web").desiredState, component(res, "web").exitCode], ["exited", "stopped", 0]);
    await rt.remove("a-shop-api");
    const gone = component(await describeOf(a, ask("shop", "api"), admin), "api");
    assert.deepEqual([gone.state, gone.containerId, gone.imageId, gone.image, gone.envSource], ["missing", "", "", "reg.local/shop:v1", "definition"]);
    assert.deepEqual(gone.command, ["sleep", "1000"]);
    assert.equal(envOf({ components: [gone] } as DescribeResponse, "api").SECRET_TOKEN, "***");
  });

  test("a component never deployed: described from its definition's plan, state not deployed", async () => {
    const rt = new FakeRuntime();
    const a = await agentOn(rt, "aaaaaaaaaaaa", "a-");
    await a.store.putDefinition(shop()); // synced, not deployed
    const res = await describeOf(a, ask("shop"), admin);
    const api = component(res, "api");
    assert.deepEqual(
      [api.state, api.containerId, api.image, api.imageId, api.envSource, api.maskedEnv],
      ["not deployed", "", "reg.local/shop:v1", "", "definition", 2],
    );
    assert.deepEqual(api.command, ["sleep", "1000"]);
    assert.equal(envOf(res, "api").GREETING, "hello there");
    assert.match(envOf(res, "api").PORT!, /^\d+$/, "the port a deploy would give");
    assert.deepEqual(
      api.ports.map((p) => [p.hostIp, p.containerPort === p.hostPort, p.protocol, p.route]),
      [["127.0.0.1", true, "tcp", "rest"]],
    );
    assert.equal(api.labels["mcp.component"], "api");
    assert.deepEqual(
      api.mounts.map((m) => m.destination),
      ["/srv/shop"],
    );
    assert.ok(!JSON.stringify(res).includes(SECRET));
  });

  test("another agent's container under the name, and a container of no agent: named, not described", async () => {
    const rt = new FakeRuntime();
    const a = await agentOn(rt, "aaaaaaaaaaaa", "p-");
    const b = await agentOn(rt, "bbbbbbbbbbbb", "p-"); // the same prefix: b holds the names a wants
    await b.deploy(shop("v9"));
    await rt.remove("p-shop-web");
    await rt.run({ name: "p-shop-web", image: "reg.local/stray:1", ports: [], volumes: [], labels: {}, cmd: ["sleep", "1"] });
    await a.store.putDefinition(shop());
    const res = await describeOf(a, ask("shop"), admin);
    const api = component(res, "api");
    assert.deepEqual([api.state, api.containerId, api.imageId, api.image, api.envSource], ["not deployed", "", "", "reg.local/shop:v1", "definition"]);
    assert.match(
      api.notes.join("\n"),
      /container p-shop-api is held by agent bbbbbbbbbbbb \(node n1\), not by this agent \(aaaaaaaaaaaa\); its details are not shown/,
    );
    assert.notEqual(api.labels["mcp.agent"], "bbbbbbbbbbbb", "none of b's labels");
    const web = component(res, "web");
    assert.deepEqual([web.state, web.image], ["not deployed", "reg.local/shop-web:v1"]);
    assert.match(web.notes.join("\n"), /held by something other than an mcp-agent/);
    assert.ok(!JSON.stringify(res).includes(rt.containers.get("p-shop-api")!.info.id), "not b's container id");
  });

  test("an env file that has become a link is not followed: the planned env is shown and why", async () => {
    const rt = new FakeRuntime();
    const a = await agentOn(rt, "aaaaaaaaaaaa", "a-");
    await a.deploy(shop());
    const envFile = rt.containers.get("a-shop-api")!.spec.envFile!;
    const elsewhere = join(envFile, "..", "elsewhere");
    writeFileSync(elsewhere, "LEAKED=yes\n");
    rmSync(envFile);
    symlinkSync(elsewhere, envFile);
    const api = component(await describeOf(a, ask("shop", "api"), admin), "api");
    assert.equal(api.envSource, "definition");
    assert.equal(
      api.env.find((e) => e.name === "LEAKED"),
      undefined,
    );
    assert.match(api.notes.join("\n"), /env file .*a-shop-api\.env cannot be read \(.*refusing to follow it\)/);
  });

  test("SMEP placement: user, uid, storage root, isolation", async () => {
    const rt = new FakeRuntime();
    const a = await agentOn(rt, "aaaaaaaaaaaa", "a-");
    await a.deploy(shop());
    const placement = {
      placement: {
        sheet: "s",
        sheetNumber: 1,
        machineNumber: 42,
        environment: "test",
        environmentNumber: 1,
        uid: 14210,
        user: "shop-test",
        ports: [14210, 14211],
      },
      isolation: "rootless",
      storage: { path: "/srv/shop-test" },
      ports: [],
      ephemeral: [],
      numberAssigned: false,
    } as unknown as ServicePlacement;
    const planOf = a.controller.planner.planOf.bind(a.controller.planner);
    a.controller.planner.planOf = async (def) => ({ ...(await planOf(def)), placement });
    const res = await describeOf(a, ask("shop"), admin);
    assert.deepEqual(
      { ...res.placement, $typeName: undefined },
      { $typeName: undefined, user: "shop-test", uid: 14210, storageRoot: "/srv/shop-test", isolation: "rootless", environment: "test", ports: [14210, 14211] },
    );
  });

  test("policy: agent:read on the service; unknown and invalid names", async () => {
    const rt = new FakeRuntime();
    const rules: Rule[] = [
      { id: 9, priority: 10, description: "payments is private", effect: "deny", actions: ["agent:read"], roles: ["user"], services: ["payments"] },
    ];
    const a = await agentOn(rt, "aaaaaaaaaaaa", "a-", rules);
    await a.deploy(validateDefinition({ name: "payments", node: "n1", version: "v1", components: [{ name: "api", cmd: ["sleep", "1"] }] }));
    await a.deploy(shop());
    const refused = (p: unknown, re: RegExp) =>
      assert.rejects(Promise.resolve(p), (e: ConnectError) => e.code === Code.PermissionDenied && re.test(e.rawMessage));
    await refused(a.service.describe!(ask("payments"), alice), /alice may not read service payments: policy rule 9/);
    await refused(a.service.describe!(ask("shop"), gus), /gus may not read service shop/);
    await refused(a.service.describe!(ask("nosuch"), gus), /gus may not read service nosuch/);
    const code = (p: unknown, c: Code, re: RegExp) => assert.rejects(Promise.resolve(p), (e: ConnectError) => e.code === c && re.test(e.rawMessage));
    await code(a.service.describe!(ask("nosuch"), admin), Code.NotFound, /service nosuch is not known on this node/);
    await code(a.service.describe!(ask("shop", "db"), admin), Code.NotFound, /service shop has no component db \(its components: api, web\)/);
    await code(a.service.describe!(ask("Bad/Name"), admin), Code.InvalidArgument, /invalid service name/);
    await code(a.service.describe!(ask("shop", "../x"), admin), Code.InvalidArgument, /invalid component name/);
  });
});
