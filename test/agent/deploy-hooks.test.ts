// When the controller calls its DeployHooks, interleaved with the runtime's calls: routes
// switch only after the new container runs, stop and remove take them away before the
// containers stop, and a refused prepare leaves everything untouched.
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, test } from "node:test";
import type { Kysely } from "kysely";
import { openSqlite } from "../../lib/db/sqlite.ts";
import { silentLogger } from "../../lib/log/logger.ts";
import { validateDefinition, type ServiceDefinition } from "../../lib/services/definition.ts";
import { ServiceController, type DeployProgress } from "../../agent/controller/controller.ts";
import type { DeployHooks } from "../../agent/controller/hooks.ts";
import { agentMigrations } from "../../agent/state/migrations.ts";
import type { AgentDatabase } from "../../agent/state/schema.ts";
import { StateStore } from "../../agent/state/store.ts";
import { SharedRuntime } from "../../agent/runtime/provider.ts";
import { FakeRuntime } from "../helpers/fake-runtime.ts";

const def = (over: Record<string, unknown> = {}, webEnv: Record<string, string> = {}): ServiceDefinition =>
  validateDefinition({
    name: "shop",
    node: "n1",
    version: "v1",
    components: [
      { name: "api", image: "reg.local/shop", routes: [{ port: 8443 }] },
      { name: "web", image: "reg.local/shop-web", routes: [{ port: 443, mode: "l7" }], env: webEnv },
    ],
    ...over,
  });

/** Hooks that write into the runtime's call log, so the order of both can be asserted. */
function recordingHooks(calls: string[], refuse?: string): DeployHooks & { prepared: string[][] } {
  const prepared: string[][] = [];
  return {
    prepared,
    async prepare(d, planned) {
      prepared.push(planned.map((p) => p.component));
      if (refuse) throw new Error(refuse);
    },
    async componentStarted(d, p) {
      calls.push(`hook:started ${p.container}`);
    },
    async componentStopping(service, component) {
      calls.push(`hook:stopping ${service}-${component}`);
    },
    async serviceRemoved(service) {
      calls.push(`hook:removed ${service}`);
    },
  };
}

async function collect(it: AsyncIterable<DeployProgress>): Promise<DeployProgress[]> {
  const out: DeployProgress[] = [];
  for await (const p of it) out.push(p);
  return out;
}

describe("DeployHooks order", () => {
  let dir: string;
  let db: Kysely<AgentDatabase>;
  let store: StateStore;
  let rt: FakeRuntime;
  const controller = (hooks: DeployHooks) =>
    new ServiceController({
      runtimes: new SharedRuntime(rt, {}),
      store,
      log: silentLogger(),
      startGraceMs: 0,
      stopTimeoutSeconds: 1,
      hooks,
      ports: { start: 20100, end: 20110, address: "127.0.0.1" },
      plan: {
        identity: { id: "a1b2c3d4e5f6", node: "n1", containerPrefix: "" },
        registryHost: "reg.local",
        publishAddress: "127.0.0.1",
        defaultNetwork: "",
        storageRoot: join(dir, "srv"),
        allowedVolumeRoots: [join(dir, "srv")],
        envDir: join(dir, "env"),
      },
    });
  const after = (marker: string) => rt.calls.slice(rt.calls.indexOf(marker));

  beforeEach(async () => {
    dir = mkdtempSync(join(tmpdir(), "agent-hooks-"));
    ({ db } = await openSqlite<AgentDatabase>(join(dir, "agent.db"), agentMigrations));
    store = new StateStore(db);
    rt = new FakeRuntime();
  });
  afterEach(async () => {
    await db.destroy();
    rmSync(dir, { recursive: true, force: true });
  });

  test("first deploy: prepare before any pull; each component's routes after its container runs", async () => {
    const hooks = recordingHooks(rt.calls);
    await collect(controller(hooks).deploy("shop", def()));
    assert.deepEqual(hooks.prepared, [["api", "web"]]);
    assert.deepEqual(rt.calls, [
      "pull reg.local/shop:v1",
      "run shop-api",
      "start shop-api",
      "hook:started shop-api",
      "pull reg.local/shop-web:v1",
      "run shop-web",
      "start shop-web",
      "hook:started shop-web",
    ]);
  });

  test("redeploy: the routes stay through the swap and switch once the new container runs", async () => {
    const ctl = controller(recordingHooks(rt.calls));
    await collect(ctl.deploy("shop", def()));
    rt.calls.length = 0;
    await collect(ctl.deploy("shop", def({}, { GREETING: "new" })));
    // api is unchanged: its routes are re-applied (a changed hostname is not in the container's hash).
    assert.deepEqual(rt.calls, [
      "hook:started shop-api",
      "create shop-web-next",
      "stop shop-web",
      "start shop-web-next",
      "remove shop-web",
      "rename shop-web-next shop-web",
      "hook:started shop-web",
    ]);
  });

  test("a redeploy whose new container fails never touches the routes: the old container comes back under them", async () => {
    const ctl = controller(recordingHooks(rt.calls));
    await collect(ctl.deploy("shop", def()));
    rt.failingImages.add("reg.local/shop-web:v2");
    rt.calls.length = 0;
    await assert.rejects(collect(ctl.deploy("shop", def({ version: "v2" }))));
    const web = after("create shop-web-next");
    assert.ok(!web.some((c) => c.startsWith("hook:")), web.join(", "));
    assert.ok(web.includes("start shop-web"), "the old container was started again");
  });

  test("a refused prepare: nothing pulled, created or stopped", async () => {
    const ctl = controller(recordingHooks(rt.calls, "certificate /x.pem is missing"));
    await assert.rejects(collect(ctl.deploy("shop", def())), /certificate \/x\.pem is missing/);
    assert.deepEqual(rt.calls, []);
  });

  test("an inactive service is prepared with no running components", async () => {
    const hooks = recordingHooks(rt.calls);
    await collect(controller(hooks).deploy("shop", def({ active: false })));
    assert.deepEqual(hooks.prepared, [[]]);
  });

  test("stop and remove take the routes away before the containers stop; remove then drops the records", async () => {
    const ctl = controller(recordingHooks(rt.calls));
    await collect(ctl.deploy("shop", def()));
    rt.calls.length = 0;
    await ctl.stop("shop", "web");
    assert.deepEqual(rt.calls, ["hook:stopping shop-web", "stop shop-web"]);
    rt.calls.length = 0;
    await ctl.start("shop", "web");
    assert.deepEqual(rt.calls, ["start shop-web", "hook:started shop-web"]);
    rt.calls.length = 0;
    await ctl.remove("shop");
    assert.deepEqual(
      rt.calls.filter((c) => !c.endsWith("-next")),
      ["hook:stopping shop-api", "remove shop-api", "hook:stopping shop-web", "remove shop-web", "hook:removed shop"],
    );
  });

  test("a component dropped from the definition loses its routes before its container goes", async () => {
    const ctl = controller(recordingHooks(rt.calls));
    await collect(ctl.deploy("shop", def()));
    rt.calls.length = 0;
    await collect(
      ctl.deploy(
        "shop",
        validateDefinition({ name: "shop", node: "n1", version: "v1", components: [{ name: "api", image: "reg.local/shop", routes: [{ port: 8443 }] }] }),
      ),
    );
    assert.deepEqual(after("hook:stopping shop-web"), ["hook:stopping shop-web", "remove shop-web"]);
  });
});
