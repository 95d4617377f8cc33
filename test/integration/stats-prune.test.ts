// Stats and PruneImages against the real agent and podman: a busy container (a shell loop)
// shows more CPU than an idle one (sleep), with memory and pids; a prune removes an image
// nothing uses and keeps the one a release names (and, in a dry run or inside the age
// window, removes nothing); a user who may not administer the node is refused.
import assert from "node:assert/strict";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { Code, ConnectError, type Client } from "@connectrpc/connect";
import type { AgentService, ServiceDefinition } from "../../proto/gen/mcp/agent/v1/agent_pb.ts";
import { RegistryClient } from "../helpers/https-client.ts";
import { addAccount, bearer, login } from "../helpers/identity.ts";
import { startPlatform, type TestPlatform } from "../helpers/platform.ts";
import { skipUnlessTools } from "../helpers/tools.ts";
import { sleep, until } from "../helpers/wait.ts";

const IMAGE = "localhost/stats-test/busybox:1";
const NEXT = "localhost/stats-test/next:1";
const UNUSED = "localhost/stats-test/unused:1";
const IDLE1 = "localhost/stats-test/idle:1";
const IDLE2 = "localhost/stats-test/idle:2";

const def = (name: string, cmd: string[], image = IMAGE): ServiceDefinition =>
  ({ name, node: "node1", version: "v1", components: [{ name: "api", image, cmd }] }) as unknown as ServiceDefinition;

describe("Stats and PruneImages with real podman", { skip: skipUnlessTools("podman", "busybox", "runc") }, () => {
  let platform: TestPlatform;
  let client: Client<typeof AgentService>;
  let admin: ReturnType<typeof bearer>;
  let alice: ReturnType<typeof bearer>;
  const exists = (ref: string) =>
    platform.pm.podman(["image", "exists", ref]).then(
      () => true,
      () => false,
    );

  const deploy = async (d: ServiceDefinition) => {
    for await (const _ of client.deploy({ service: d.name, definition: d }, admin));
  };

  before(async () => {
    let alicePassword = "";
    platform = await startPlatform({ beforeMcr: async (home) => void (alicePassword = await addAccount(home, "alice", "human", ["user"])) });
    client = platform.agentClient();
    admin = bearer(platform.agentAdminToken);
    alice = bearer(await login(new RegistryClient(platform.mcr.url, platform.mcrHome.caPem), "alice", alicePassword, "mcp-agent"));
    // The agent uses this podman storage: images imported here need no pull.
    const pm = platform.pm;
    await pm.importBusybox(IMAGE);
    const tar = join(pm.dir, "rootfs.tar");
    // Each its own image (a label of its own makes its own id).
    for (const ref of [NEXT, UNUSED, IDLE1, IDLE2]) await pm.podman(["import", "--change", `LABEL ref=${ref}`, tar, ref]);
    await deploy(def("busy", ["sh", "-c", "while :; do :; done"]));
    await deploy(def("idle", ["sleep", "100000"], IDLE1));
    // Synced, not deployed: its image is the service's next release.
    await client.sync({ services: [def("later", ["sleep", "100000"], NEXT)] }, admin);
  });

  after(() => platform?.stop());

  test("a busy container shows more CPU than an idle one; memory, limit and pids are measured", async () => {
    const cpuOf = async () => {
      const res = await client.stats({}, admin);
      return Object.fromEntries(res.containers.map((c) => [c.service, c]));
    };
    const first = await cpuOf();
    assert.deepEqual(Object.keys(first).sort(), ["busy", "idle"], "only this agent's running containers");
    // The second ask measures the time since the first.
    await sleep(1500);
    const seen = await until("the busy loop to show", async () => {
      const s = await cpuOf();
      return s.busy && s.idle && s.busy.cpuPercent > 20 && s.busy.cpuPercent > s.idle.cpuPercent + 10 ? s : undefined;
    });
    assert.ok(seen.idle!.cpuPercent < 10, `idle: ${seen.idle!.cpuPercent}%`);
    for (const c of [seen.busy!, seen.idle!]) {
      assert.equal(c.component, "api");
      assert.match(c.container, /busy-api|idle-api/);
      assert.ok(c.memUsedBytes > 0n, `${c.service} memory`);
      assert.ok(c.memLimitBytes >= c.memUsedBytes, `${c.service} memory limit`);
      assert.ok(c.pids >= 1, `${c.service} pids`);
    }
    const one = await client.stats({ service: "idle" }, alice);
    assert.deepEqual(
      one.containers.map((c) => c.service),
      ["idle"],
      "a user reads the stats of a service",
    );
    // A screen asks only for the containers it shows; too many names are refused, naming the limit.
    const busyName = seen.busy!.container;
    const named = await client.stats({ containers: [busyName, "no-such-container"] }, admin);
    assert.deepEqual(
      named.containers.map((c) => c.container),
      [busyName],
    );
    await assert.rejects(
      client.stats({ containers: Array.from({ length: 1001 }, (_, i) => `c${i}`) }, admin),
      (e: unknown) => e instanceof ConnectError && e.code === Code.InvalidArgument && /containers: 1001 names given; at most 1000/.test(e.rawMessage),
    );
  });

  test("prune: agent:admin only; a dry run and the age window remove nothing", async () => {
    await assert.rejects(
      client.pruneImages({ olderThanSeconds: 0n, dryRun: true }, alice),
      (e: unknown) => e instanceof ConnectError && e.code === Code.PermissionDenied && /alice may not administer/.test(e.rawMessage),
    );
    const dry = await client.pruneImages({ olderThanSeconds: 0n, dryRun: true }, admin);
    const unused = dry.images.find((i) => i.names.includes(UNUSED))!;
    assert.deepEqual([unused.outcome, dry.dryRun], ["removed", true]);
    assert.ok(dry.bytesFreed >= unused.sizeBytes && unused.sizeBytes > 0n);
    assert.ok(await exists(UNUSED), "a dry run removes nothing");
    const young = await client.pruneImages({ olderThanSeconds: 3600n, dryRun: false }, admin);
    assert.deepEqual(
      [young.images.find((i) => i.names.includes(UNUSED))!.outcome, young.images.find((i) => i.names.includes(UNUSED))!.reason],
      ["kept", "recent"],
    );
    assert.equal(young.bytesFreed, 0n);
    assert.ok(await exists(UNUSED), "imported a moment ago: younger than an hour");
  });

  test("prune removes the image nothing uses and keeps the ones releases use, the previous one included", async () => {
    // idle's second release replaces the container of its first: no container uses IDLE1 any more.
    await deploy(def("idle", ["sleep", "100000"], IDLE2));
    const res = await client.pruneImages({ olderThanSeconds: 0n, dryRun: false }, admin);
    const of = (ref: string) => res.images.find((i) => i.names.includes(ref));
    assert.deepEqual([of(UNUSED)!.outcome, of(UNUSED)!.podman], ["removed", "agent"]);
    assert.deepEqual([of(IMAGE)!.outcome, of(IMAGE)!.reason], ["kept", "release"]);
    assert.match(of(IMAGE)!.detail, /busy\/api/);
    assert.deepEqual([of(NEXT)!.outcome, of(NEXT)!.reason, of(NEXT)!.detail], ["kept", "release", "the release of later/api"]);
    assert.deepEqual([of(IDLE2)!.outcome, of(IDLE2)!.reason], ["kept", "release"]);
    assert.deepEqual([of(IDLE1)!.outcome, of(IDLE1)!.reason, of(IDLE1)!.detail], ["kept", "previous_release", "the previous release of idle/api"]);
    assert.equal(res.bytesFreed, of(UNUSED)!.sizeBytes);
    assert.equal(await exists(UNUSED), false);
    assert.ok((await exists(IMAGE)) && (await exists(NEXT)) && (await exists(IDLE1)) && (await exists(IDLE2)));
    // The services run on.
    const list = await client.list({}, admin);
    assert.deepEqual(list.containers.map((c) => [c.service, c.state]).sort(), [
      ["busy", "running"],
      ["idle", "running"],
    ]);
  });
});
