// Releases on the fake runtime: each Deploy through the RPC is a release (who, version,
// images with digests, result, also when it failed); History lists them newest first;
// Rollback puts the previous deployed release back with its images pinned by digest and is
// recorded as a release of its own; what cannot be rolled back to is refused with why; a
// reader may list but not roll back; the oldest beyond the cap are dropped.
import assert from "node:assert/strict";
import { after, test } from "node:test";
import { Code, ConnectError } from "@connectrpc/connect";
import { create } from "@bufbuild/protobuf";
import { definitionToProto } from "../../lib/services/to-proto.ts";
import { MAX_RELEASES } from "../../agent/state/releases.ts";
import { DeployRequestSchema, RollbackResponseSchema } from "../../proto/gen/mcp/agent/v1/agent_pb.ts";
import { HistoryRequestSchema, HistoryResponseSchema, RollbackRequestSchema } from "../../proto/gen/mcp/agent/v1/releases_pb.ts";
import { agentOn, claims, removeAgents, serviceDef } from "../helpers/agent-service-fixture.ts";
import { FakeRuntime } from "../helpers/fake-runtime.ts";

after(removeAgents);

const admin = claims("ada", ["admin"]);
const reader = claims("rui", ["user"]);

async function setup() {
  const rt = new FakeRuntime();
  const agent = await agentOn(rt, "a1", "t-");
  const deploy = async (version: string, ctx = admin) => {
    const def = serviceDef("shop", version);
    const out = [];
    for await (const p of agent.service.deploy(create(DeployRequestSchema, { service: "shop", definition: definitionToProto(def) }), ctx)) out.push(p);
    return out;
  };
  const history = async (ctx = admin) =>
    create(HistoryResponseSchema, await agent.service.history(create(HistoryRequestSchema, { service: "shop" }), ctx)).releases;
  const rollback = async (release = 0, ctx = admin) => {
    const out = [];
    for await (const m of agent.service.rollback(create(RollbackRequestSchema, { service: "shop", release }), ctx)) out.push(create(RollbackResponseSchema, m));
    return out;
  };
  return { rt, agent, deploy, history, rollback };
}

test("each deploy is a release: who, version, image and digest, newest first", async () => {
  const { deploy, history } = await setup();
  await deploy("v1");
  await deploy("v2");
  await deploy("v2"); // changes nothing: no release
  const rs = await history(reader);
  assert.deepEqual(
    rs.map((r) => [r.number, r.version, r.actor, r.result, r.images.map((i) => i.image)]),
    [
      [2, "v2", "ada", "deployed", ["reg.local/shop:v2"]],
      [1, "v1", "ada", "deployed", ["reg.local/shop:v1"]],
    ],
  );
  assert.match(rs[0]!.images[0]!.digest, /^reg\.local\/shop@sha256:[0-9a-f]{64}$/);
  assert.ok(!Number.isNaN(Date.parse(rs[0]!.time)));
  assert.equal(JSON.parse(rs[1]!.definitionJson).version, "v1");
});

test("a failed deploy is a release that says why", async () => {
  const { rt, deploy, history } = await setup();
  await deploy("v1");
  rt.failingImages.add("reg.local/shop:v2");
  await assert.rejects(deploy("v2"));
  const [failed] = await history();
  assert.equal(failed!.result, "failed");
  assert.equal(failed!.version, "v2");
  assert.notEqual(failed!.message, "");
});

test("rollback puts the previous release back, pinned by digest, as a release of its own", async () => {
  const { rt, deploy, history, rollback } = await setup();
  await deploy("v1");
  const v1digest = (await history())[0]!.images[0]!.digest;
  await deploy("v2");
  const out = await rollback();
  assert.equal(out[0]!.msg.case, "release");
  assert.equal(out[0]!.msg.case === "release" && out[0]!.msg.value.number, 1);
  assert.ok(out.some((m) => m.msg.case === "progress" && m.msg.value.image === v1digest));
  const running = [...rt.containers.values()].filter((c) => c.info.state === "running");
  assert.deepEqual(
    running.map((c) => c.spec.image),
    [v1digest],
  );
  assert.equal(running[0]!.spec.labels["mcp.version"], "v1", "a pinned image has no tag: the version label is the definition's");
  const [third] = await history();
  assert.deepEqual([third!.number, third!.version, third!.result, third!.rollbackOf], [3, "v1", "deployed", 1]);
  assert.equal(third!.images[0]!.image, v1digest);
  // Rolling back again goes to the release before the newest deployed one: v2.
  await rollback();
  assert.equal((await history())[0]!.rollbackOf, 2);
});

test("what cannot be rolled back to is refused, naming why; a reader may not roll back", async () => {
  const { rt, deploy, rollback } = await setup();
  await assert.rejects(
    rollback(),
    (e: unknown) => e instanceof ConnectError && e.code === Code.FailedPrecondition && /has no release to roll back to/.test(e.rawMessage),
  );
  await deploy("v1");
  await assert.rejects(rollback(), (e: unknown) => e instanceof ConnectError && /no release before 1/.test(e.rawMessage));
  await assert.rejects(rollback(7), (e: unknown) => e instanceof ConnectError && e.code === Code.NotFound && /has no release 7/.test(e.rawMessage));
  rt.failingImages.add("reg.local/shop:v2");
  await assert.rejects(deploy("v2"));
  await assert.rejects(rollback(2), (e: unknown) => e instanceof ConnectError && /release 2 of shop failed/.test(e.rawMessage));
  await assert.rejects(rollback(1, reader), (e: unknown) => e instanceof ConnectError && e.code === Code.PermissionDenied);
});

test(`the newest ${MAX_RELEASES} releases of a service are kept`, async () => {
  const { agent } = await setup();
  const def = serviceDef("shop", "v1");
  for (let i = 0; i < MAX_RELEASES + 3; i++)
    await agent.releases.record({ service: "shop", actor: "x", version: "v1", definition: def, images: [], result: "deployed", message: "" });
  const kept = await agent.releases.list("shop");
  assert.equal(kept.length, MAX_RELEASES);
  assert.equal(kept.at(-1)!.number, 4);
});
