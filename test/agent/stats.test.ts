// Stats: the resource use of this agent's running containers only (not another agent's on
// the same podman, not a container of no agent, not a stopped one), per service and
// component; the policy's agent:read per service; one podman call per ask once the
// containers' labels are known.
import assert from "node:assert/strict";
import { after, describe, test } from "node:test";
import { create } from "@bufbuild/protobuf";
import { Code, type ConnectError } from "@connectrpc/connect";
import type { Rule } from "../../lib/policy/rules.ts";
import { StatsRequestSchema } from "../../proto/gen/mcp/agent/v1/resources_pb.ts";
import { agentOn, claims, removeAgents, serviceDef } from "../helpers/agent-service-fixture.ts";
import { FakeRuntime } from "../helpers/fake-runtime.ts";

after(removeAgents);

const admin = claims("root", ["admin"]);
const alice = claims("alice", ["user"]);
const gus = claims("gus", ["guest"]);
const ask = (service = "") => create(StatsRequestSchema, { service });

describe("Stats", () => {
  test("this agent's running containers only, with their service, component and numbers", async () => {
    const rt = new FakeRuntime();
    const a = await agentOn(rt, "aaaaaaaaaaaa", "a-");
    const b = await agentOn(rt, "bbbbbbbbbbbb", "b-");
    await a.deploy(serviceDef("shop", "v1", ["api", "web"]));
    await a.deploy(serviceDef("blog"));
    await b.deploy(serviceDef("shop"));
    await rt.run({ name: "stray", image: "reg.local/stray:1", ports: [], volumes: [], labels: {}, cmd: [] });
    await rt.stop("a-blog-api");
    rt.cpu.set("a-shop-api", 87.5);
    rt.cpu.set("b-shop-api", 12);
    const res = await a.service.stats!(ask(), admin);
    assert.deepEqual(
      res.containers!.map((c) => [c.service, c.component, c.container, c.cpuPercent]),
      [
        ["shop", "api", "a-shop-api", 87.5],
        ["shop", "web", "a-shop-web", 0],
      ],
      "b's container, the stray one and the stopped blog are left out",
    );
    const one = res.containers![0]!;
    assert.deepEqual([one.memUsedBytes, one.memLimitBytes, one.netRxBytes, one.blockWriteBytes, one.pids], [BigInt(1 << 20), BigInt(1 << 30), 0n, 0n, 1]);
    const fromB = await b.service.stats!(ask(), admin);
    assert.deepEqual(
      fromB.containers!.map((c) => c.container),
      ["b-shop-api"],
    );
    const shop = await a.service.stats!(ask("shop"), admin);
    assert.equal(shop.containers!.length, 2, "one service: both its components");
    assert.deepEqual((await a.service.stats!(ask("blog"), admin)).containers, [], "a stopped service uses nothing");
  });

  test("one podman call per ask once the labels of the running containers are known", async () => {
    const rt = new FakeRuntime();
    const a = await agentOn(rt, "aaaaaaaaaaaa", "a-");
    await a.deploy(serviceDef("shop"));
    let lists = 0;
    let stats = 0;
    const list = rt.list.bind(rt);
    const measure = rt.stats.bind(rt);
    rt.list = async (labels) => (lists++, list(labels));
    rt.stats = async () => (stats++, measure());
    for (let i = 0; i < 5; i++) assert.equal((await a.service.stats!(ask(), admin)).containers!.length, 1);
    assert.deepEqual([stats, lists], [5, 1], "labels listed once, stats every time");
    // A new container (a redeploy makes one) is listed once more.
    await a.deploy(serviceDef("shop", "v2"));
    const after = await a.service.stats!(ask(), admin);
    assert.deepEqual(
      after.containers!.map((c) => c.container),
      ["a-shop-api"],
    );
    assert.equal(lists, 2);
  });

  test("policy: agent:read per service; a caller who may read none is refused, one who may read some sees those", async () => {
    const rt = new FakeRuntime();
    const rules: Rule[] = [
      { id: 9, priority: 10, description: "payments is private", effect: "deny", actions: ["agent:read"], roles: ["user"], services: ["payments"] },
    ];
    const a = await agentOn(rt, "aaaaaaaaaaaa", "a-", rules);
    await a.deploy(serviceDef("payments"));
    await a.deploy(serviceDef("shop"));
    const seen = await a.service.stats!(ask(), alice);
    assert.deepEqual(
      seen.containers!.map((c) => c.service),
      ["shop"],
    );
    await assert.rejects(
      Promise.resolve(a.service.stats!(ask("payments"), alice)),
      (e: ConnectError) => e.code === Code.PermissionDenied && /alice may not read service payments: policy rule 9/.test(e.rawMessage),
    );
    await assert.rejects(
      Promise.resolve(a.service.stats!(ask(), gus)),
      (e: ConnectError) => e.code === Code.PermissionDenied && /gus may not read service/.test(e.rawMessage),
    );
    await assert.rejects(Promise.resolve(a.service.stats!(ask("Bad/Name"), admin)), (e: ConnectError) => e.code === Code.InvalidArgument);
  });

  test("a podman that fails: Internal with its message", async () => {
    const rt = new FakeRuntime();
    const a = await agentOn(rt, "aaaaaaaaaaaa", "a-");
    rt.stats = async () => {
      throw new Error("podman API: connection refused");
    };
    await assert.rejects(
      Promise.resolve(a.service.stats!(ask(), admin)),
      (e: ConnectError) => e.code === Code.Internal && /connection refused/.test(e.rawMessage),
    );
  });
});
