// PruneImages: keeps what a release uses (the current one, the one before it, a synced
// definition's), what a container uses (whoever's, even when podman says so only at the
// removal) and what is younger than older_than; removes the rest and says how many bytes
// that freed. A dry run removes nothing. agent:admin only.
import assert from "node:assert/strict";
import { after, describe, test } from "node:test";
import { create } from "@bufbuild/protobuf";
import { Code, type ConnectError } from "@connectrpc/connect";
import { PruneImagesRequestSchema } from "../../proto/gen/mcp/agent/v1/resources_pb.ts";
import { refKey, span } from "../../agent/rpc/prune.ts";
import { agentOn, claims, removeAgents, serviceDef } from "../helpers/agent-service-fixture.ts";
import { FakeRuntime } from "../helpers/fake-runtime.ts";

after(removeAgents);

const admin = claims("root", ["admin"]);
const alice = claims("alice", ["user"]);
const prune = (olderThanSeconds = 0, dryRun = false) => create(PruneImagesRequestSchema, { olderThanSeconds: BigInt(olderThanSeconds), dryRun });
const HOUR = 3600;

/** name → [outcome, reason] of every image in the answer. */
const outcomes = (r: { images?: { id?: string; names?: string[]; outcome?: string; reason?: string }[] }) =>
  Object.fromEntries(r.images!.map((i) => [i.names![0] ?? i.id, [i.outcome, i.reason]]));

/** An agent that deployed hello v1, v2 and v3, on a podman that also holds other images. */
async function scene() {
  const rt = new FakeRuntime();
  const a = await agentOn(rt, "aaaaaaaaaaaa", "a-");
  for (const v of ["v1", "v2", "v3"]) await a.deploy(serviceDef("hello", v));
  rt.storedImages.add("reg.local/unused:1");
  rt.storedImages.add("docker.io/library/busybox:latest");
  return { rt, a };
}

describe("PruneImages", () => {
  test("keeps the current and the previous release, removes the older one and images nothing needs", async () => {
    const { rt, a } = await scene();
    // Another agent's container on the same podman: its image is in use, whoever's it is.
    await rt.run({ name: "b-other-api", image: "reg.local/other:1", ports: [], volumes: [], labels: { "mcp.managed": "true", "mcp.agent": "b" }, cmd: [] });
    rt.storedImages.add("reg.local/other:1");
    const res = await a.service.pruneImages!(prune(), admin);
    assert.deepEqual(outcomes(res), {
      "reg.local/hello:v3": ["kept", "release"],
      "reg.local/hello:v2": ["kept", "previous_release"],
      "reg.local/other:1": ["kept", "in_use"],
      "reg.local/hello:v1": ["removed", ""],
      "reg.local/unused:1": ["removed", ""],
      "docker.io/library/busybox:latest": ["removed", ""],
    });
    assert.equal(res.bytesFreed, 3000n);
    assert.equal(res.dryRun, false);
    assert.deepEqual([...rt.storedImages].sort(), ["reg.local/hello:v2", "reg.local/hello:v3", "reg.local/other:1"]);
    const v3 = res.images!.find((i) => i.names![0] === "reg.local/hello:v3")!;
    assert.deepEqual([v3.detail, v3.podman, v3.sizeBytes], ["the release of hello/api", "agent", 1000n]);
    assert.match(res.images!.find((i) => i.names![0] === "reg.local/other:1")!.detail!, /^1 container uses it$/);
    // Removed ones come first in the answer.
    assert.deepEqual(
      res.images!.map((i) => i.outcome),
      ["removed", "removed", "removed", "kept", "kept", "kept"],
    );
  });

  test("a synced definition's image is its next release and kept; a removed service's images go", async () => {
    const { rt, a } = await scene();
    rt.storedImages.add("reg.local/hello:v4");
    await a.store.putDefinition(serviceDef("hello", "v4"));
    await a.deploy(serviceDef("blog"));
    await a.controller.remove("blog");
    const res = outcomes(await a.service.pruneImages!(prune(), admin));
    assert.deepEqual(res["reg.local/hello:v4"], ["kept", "release"]);
    assert.deepEqual(res["reg.local/hello:v3"], ["kept", "release"], "still running until v4 is deployed");
    assert.deepEqual(res["reg.local/blog:v1"], ["removed", ""]);
  });

  test("a dry run removes nothing and says what would go and the bytes it would free", async () => {
    const { rt, a } = await scene();
    const before = [...rt.storedImages].sort();
    const res = await a.service.pruneImages!(prune(0, true), admin);
    assert.equal(res.dryRun, true);
    assert.equal(res.bytesFreed, 3000n);
    assert.deepEqual(outcomes(res)["reg.local/hello:v1"], ["removed", ""]);
    assert.match(res.images!.find((i) => i.outcome === "removed")!.detail!, /dry run/);
    assert.deepEqual([...rt.storedImages].sort(), before);
    assert.ok(!rt.calls.some((c) => c.startsWith("rmi")), rt.calls.join("\n"));
  });

  test("older_than: an image younger than it is kept, an older one removed", async () => {
    const { rt, a } = await scene();
    const ago = (s: number) => new Date(Date.now() - s * 1000).toISOString();
    rt.imageCreated.set("reg.local/unused:1", ago(2 * HOUR));
    rt.imageCreated.set("reg.local/hello:v1", ago(200 * HOUR));
    rt.imageCreated.set("docker.io/library/busybox:latest", ago(10 * 24 * HOUR));
    const res = await a.service.pruneImages!(prune(168 * HOUR), admin);
    const o = outcomes(res);
    assert.deepEqual(o["reg.local/unused:1"], ["kept", "recent"]);
    assert.match(res.images!.find((i) => i.names![0] === "reg.local/unused:1")!.detail!, /^created 2h ago, younger than 7d$/);
    assert.deepEqual(o["reg.local/hello:v1"], ["removed", ""]);
    assert.deepEqual(o["docker.io/library/busybox:latest"], ["removed", ""]);
    assert.ok(rt.storedImages.has("reg.local/unused:1"));
  });

  test("an image podman refuses because a container uses it is kept, not an error", async () => {
    const { rt, a } = await scene();
    // A container made after the images were listed: only podman's refusal tells.
    const remove = rt.removeImage.bind(rt);
    rt.removeImage = async (id) => {
      if (id === "img-reg.local/unused:1") await rt.create({ name: "late", image: "reg.local/unused:1", ports: [], volumes: [], labels: {}, cmd: [] });
      return remove(id);
    };
    const res = await a.service.pruneImages!(prune(), admin);
    const unused = res.images!.find((i) => i.names![0] === "reg.local/unused:1")!;
    assert.deepEqual([unused.outcome, unused.reason], ["kept", "in_use"]);
    assert.match(unused.detail!, /podman: .*in use by a container/);
    assert.ok(rt.storedImages.has("reg.local/unused:1"));
    assert.equal(res.bytesFreed, 2000n, "v1 and busybox only");
    // Another failure is reported as such, and the rest is still pruned.
    rt.storedImages.add("reg.local/stuck:1");
    rt.removeImage = async (id) => {
      if (id === "img-reg.local/stuck:1") throw new Error("podman API: 500 layer is locked");
      return remove(id);
    };
    const again = await a.service.pruneImages!(prune(), admin);
    const stuck = again.images!.find((i) => i.names![0] === "reg.local/stuck:1")!;
    assert.deepEqual([stuck.outcome, stuck.detail], ["failed", "podman API: 500 layer is locked"]);
  });

  test("agent:admin only; a negative older_than is refused", async () => {
    const { rt, a } = await scene();
    await assert.rejects(
      Promise.resolve(a.service.pruneImages!(prune(), alice)),
      (e: ConnectError) => e.code === Code.PermissionDenied && /alice may not administer service \(all\)/.test(e.rawMessage),
    );
    assert.ok(!rt.calls.some((c) => c.startsWith("rmi")));
    await assert.rejects(Promise.resolve(a.service.pruneImages!(prune(-1), admin)), (e: ConnectError) => e.code === Code.InvalidArgument);
  });

  test("references are compared as podman names them", () => {
    assert.deepEqual(refKey("busybox"), { repo: "docker.io/library/busybox", key: "docker.io/library/busybox:latest" });
    assert.deepEqual(refKey("team/app:2"), { repo: "docker.io/team/app", key: "docker.io/team/app:2" });
    assert.deepEqual(refKey("localhost:8443/shop:v1"), { repo: "localhost:8443/shop", key: "localhost:8443/shop:v1" });
    assert.deepEqual(refKey("localhost/x"), { repo: "localhost/x", key: "localhost/x:latest" });
    assert.equal(refKey("reg.local/x@sha256:abc").key, "reg.local/x@*");
    assert.deepEqual([span(0), span(90_000), span(7 * 86_400_000), span(3_723_000)], ["0s", "1m30s", "7d", "1h2m"]);
  });
});
