// The agent's deploy/stop/start/remove logic and reconciliation, on a fake runtime.
import assert from "node:assert/strict";
import { mkdtempSync, readFileSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, test } from "node:test";
import type { Kysely } from "kysely";
import { openSqlite } from "../../lib/db/sqlite.ts";
import { silentLogger } from "../../lib/log/logger.ts";
import { validateDefinition, type ServiceDefinition } from "../../lib/services/definition.ts";
import { DeployFailedError, ServiceController, type DeployProgress } from "../../agent/controller/controller.ts";
import { PlanError, resolveImage } from "../../agent/controller/plan.ts";
import { Reconciler, policyRestarts } from "../../agent/reconcile/reconciler.ts";
import { agentMigrations } from "../../agent/state/migrations.ts";
import type { AgentDatabase } from "../../agent/state/schema.ts";
import { StateStore } from "../../agent/state/store.ts";
import { FakeRuntime } from "../helpers/fake-runtime.ts";
import { SharedRuntime } from "../../agent/runtime/provider.ts";

const def = (over: Record<string, unknown> = {}, components?: unknown[]): ServiceDefinition =>
  validateDefinition({
    name: "shop",
    node: "n1",
    version: "v1",
    components: components ?? [
      {
        name: "api",
        image: "reg.local/shop",
        routes: [
          { name: "rest", port: 8443 },
          { name: "grpc", port: 9443 },
        ],
      },
      { name: "web", image: "reg.local/shop-web", routes: [{ port: 443, mode: "l7" }], env: { GREETING: "hi" } },
    ],
    ...over,
  });

/** A controller on a fake runtime, with ports 20000-20010 and storage under `dir`. */
function controllerFor(dir: string, rt: FakeRuntime, store: StateStore): ServiceController {
  return new ServiceController({
    runtimes: new SharedRuntime(rt, {}),
    store,
    log: silentLogger(),
    startGraceMs: 0,
    stopTimeoutSeconds: 1,
    ports: { start: 20000, end: 20010, address: "127.0.0.1" },
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
}

async function collect(it: AsyncIterable<DeployProgress>): Promise<DeployProgress[]> {
  const out: DeployProgress[] = [];
  for await (const p of it) out.push(p);
  return out;
}

describe("ServiceController on a fake runtime", () => {
  let rt: FakeRuntime;
  let store: StateStore;
  let ctl: ServiceController;
  let dir: string;
  let db: Kysely<AgentDatabase>;
  beforeEach(async () => {
    dir = mkdtempSync(join(tmpdir(), "agent-"));
    ({ db } = await openSqlite<AgentDatabase>(join(dir, "agent.db"), agentMigrations));
    store = new StateStore(db);
    rt = new FakeRuntime();
    ctl = controllerFor(dir, rt, store);
  });
  afterEach(async () => {
    await db.destroy();
    rmSync(dir, { recursive: true, force: true });
  });

  test("first deploy: pull, create, start, rename; ports and $PORT variables; env file 0600", async () => {
    await store.putDefinition(def());
    const progress = await collect(ctl.deploy("shop"));
    assert.deepEqual(
      progress.filter((p) => p.component === "api").map((p) => p.phase),
      ["pulling", "creating", "starting", "running"],
    );
    assert.equal(progress.at(-1)!.phase, "done");
    const api = await rt.inspect("shop-api");
    assert.equal(api.state, "running");
    assert.equal(api.labels["mcp.service"], "shop");
    assert.equal(api.labels["mcp.version"], "v1");
    assert.deepEqual(
      (await store.ports("shop")).map((p) => [p.component, p.route, p.hostPort]),
      [
        ["api", "rest", 20000],
        ["api", "grpc", 20001],
        ["web", "default", 20002],
      ],
    );
    const apiSpec = rt.containers.get("shop-api")!.spec;
    assert.deepEqual(apiSpec.ports, ["127.0.0.1:20000:20000", "127.0.0.1:20001:20001"]);
    assert.equal(readFileSync(join(dir, "env", "shop-api.env"), "utf8"), "PORT_GRPC=20001\nPORT_REST=20000\n");
    assert.equal(readFileSync(join(dir, "env", "shop-web.env"), "utf8"), "GREETING=hi\nPORT=20002\n");
    assert.equal(statSync(join(dir, "env", "shop-web.env")).mode & 0o777, 0o600);
    assert.ok(statSync(join(dir, "srv", "shop")).isDirectory(), "the default volume's host folder is created");
  });

  test("deploying the same definition twice changes nothing", async () => {
    await store.putDefinition(def());
    await collect(ctl.deploy("shop"));
    rt.calls.length = 0;
    const again = await collect(ctl.deploy("shop"));
    assert.deepEqual(
      again.filter((p) => p.component).map((p) => p.phase),
      ["unchanged", "unchanged"],
    );
    assert.deepEqual(rt.calls, []);
  });

  test("a changed definition recreates only the changed component, keeping its ports", async () => {
    await store.putDefinition(def());
    await collect(ctl.deploy("shop"));
    const changed = def();
    changed.components[1]!.env = { GREETING: "hello" };
    assert.equal(await store.putDefinition(changed), "updated");
    rt.calls.length = 0;
    const progress = await collect(ctl.deploy("shop"));
    assert.equal(progress.find((p) => p.component === "api")!.phase, "unchanged");
    assert.equal(progress.filter((p) => p.component === "web").at(-1)!.phase, "running");
    assert.ok(!rt.calls.some((c) => c.includes("shop-api")));
    assert.equal(readFileSync(join(dir, "env", "shop-web.env"), "utf8"), "GREETING=hello\nPORT=20002\n");
  });

  test("a failed deploy leaves the previous container running and says why", async () => {
    await store.putDefinition(def());
    await collect(ctl.deploy("shop"));
    const broken = def();
    broken.components[0]!.image = "reg.local/shop:v2-broken";
    rt.failingImages.add("reg.local/shop:v2-broken");
    await store.putDefinition(broken);
    const seen: DeployProgress[] = [];
    await assert.rejects(
      (async () => {
        for await (const p of ctl.deploy("shop")) seen.push(p);
      })(),
      (e: unknown) => e instanceof DeployFailedError && /exited \(exited, exit code 1\).*fake: exiting.*previous container was started again/.test(e.message),
    );
    assert.equal(seen.at(-1)!.phase, "failed");
    const api = await rt.inspect("shop-api");
    assert.equal(api.state, "running");
    assert.equal(api.image, "reg.local/shop:v1");
    assert.equal(rt.containers.has("shop-api-next"), false);
    assert.equal(readFileSync(join(dir, "env", "shop-api.env"), "utf8"), "PORT_GRPC=20001\nPORT_REST=20000\n", "the old env file is untouched");
  });

  test("an image that cannot be pulled fails before anything is touched", async () => {
    await store.putDefinition(def({}, [{ name: "api", image: "reg.local/missing:v9" }]));
    await assert.rejects(collect(ctl.deploy("shop")), /manifest unknown/);
    assert.equal(rt.containers.size, 0);
  });

  test("stop, start, restart and remove", async () => {
    await store.putDefinition(def());
    await collect(ctl.deploy("shop"));
    assert.deepEqual(
      (await ctl.stop("shop", "web")).map((c) => c.state),
      ["exited"],
    );
    assert.equal((await store.components("shop")).find((c) => c.name === "web")!.desired, "stopped");
    assert.deepEqual(
      (await ctl.start("shop")).map((c) => c.state),
      ["running", "running"],
    );
    assert.deepEqual(
      (await ctl.restart("shop", "api")).map((c) => c.state),
      ["running"],
    );
    await assert.rejects(ctl.stop("shop", "db"), /has no component db/);
    assert.deepEqual(await ctl.remove("shop"), ["shop-api", "shop-web"]);
    assert.equal(rt.containers.size, 0);
    assert.equal(await store.definition("shop"), undefined);
    assert.deepEqual(await store.ports("shop"), []);
    await assert.rejects(ctl.stop("shop"), /not known on this node/);
  });

  test("a deploy with a definition plans it once, and checks it before storing it", async () => {
    let plans = 0;
    const planOf = ctl.planner.planOf.bind(ctl.planner);
    ctl.planner.planOf = (d) => (plans++, planOf(d));
    ctl.planner.validate = () => assert.fail("a deploy needs no second plan to validate");
    await collect(ctl.deploy("shop", def()));
    assert.equal(plans, 1);
    assert.deepEqual(
      (await store.ports("shop")).map((p) => p.hostPort),
      [20000, 20001, 20002],
    );
    await assert.rejects(collect(ctl.deploy("shop", def({ version: "v2" }, [{ name: "api", image: "reg.local/shop", volumes: ["/etc:/etc"] }]))), PlanError);
    assert.equal((await store.definition("shop"))?.version, "v1", "the refused definition was never stored");
    assert.equal(plans, 2);
  });

  test("restart is one critical section: a deploy asked for during its stop runs after its start", async () => {
    await store.putDefinition(def());
    await collect(ctl.deploy("shop"));
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    let stopping!: () => void;
    const stopped = new Promise<void>((r) => (stopping = r));
    const stop = rt.stop.bind(rt);
    rt.stop = async (name: string) => {
      stopping();
      await gate; // the restart holds here, between its stop and its start
      return stop(name);
    };
    const restart = ctl.restart("shop", "api");
    await stopped;
    const deploy = collect(ctl.deploy("shop", def({ version: "v2" })));
    await new Promise((r) => setTimeout(r, 20)); // room for the deploy to slip in, were the lock released
    rt.stop = stop;
    const from = rt.calls.length;
    release();
    assert.deepEqual(
      (await restart).map((c) => c.state),
      ["running"],
    );
    await deploy;
    const calls = rt.calls.slice(from);
    assert.ok(calls.indexOf("start shop-api") >= 0, calls.join(", "));
    assert.ok(calls.indexOf("start shop-api") < calls.indexOf("create shop-api-next"), `the restart's start comes first: ${calls.join(", ")}`);
  });

  test("a component dropped from the definition is removed with its ports", async () => {
    await store.putDefinition(def());
    await collect(ctl.deploy("shop"));
    await store.putDefinition(
      def({}, [
        {
          name: "api",
          image: "reg.local/shop",
          routes: [
            { name: "rest", port: 8443 },
            { name: "grpc", port: 9443 },
          ],
        },
      ]),
    );
    await collect(ctl.deploy("shop"));
    assert.equal(rt.containers.has("shop-web"), false);
    assert.deepEqual(
      (await store.ports("shop")).map((p) => p.component),
      ["api", "api"],
    );
  });

  test("volumes outside the allowed roots are refused before anything runs", async () => {
    await store.putDefinition(def({}, [{ name: "api", image: "reg.local/shop", volumes: ["/etc:/host-etc"] }]));
    await assert.rejects(collect(ctl.deploy("shop")), (e: unknown) => e instanceof PlanError && /outside the allowed roots/.test(e.message));
    assert.equal(rt.containers.size, 0);
  });

  test("images: convention-derived names and explicit references", () => {
    const d = def({}, [{ name: "api" }, { name: "web", version: "v2" }, { name: "db", image: "docker.io/library/postgres:15" }]);
    assert.equal(resolveImage(d, d.components[0]!, "mcr:8443"), "mcr:8443/shop:v1");
    assert.equal(resolveImage(d, d.components[1]!, "mcr:8443"), "mcr:8443/shop-web:v2");
    assert.equal(resolveImage(d, d.components[2]!, "mcr:8443"), "docker.io/library/postgres:15");
    assert.throws(() => resolveImage(d, d.components[0]!, ""), /no \[registry\] host/);
  });

  describe("reconciliation", () => {
    test("repairs what it can, reports the rest, and never touches containers without its label", async () => {
      await store.putDefinition(def());
      await collect(ctl.deploy("shop"));
      const rec = new Reconciler({ runtimes: new SharedRuntime(rt, {}), store, controller: ctl, log: silentLogger() });
      assert.deepEqual(await rec.reconcileOnce(), [], "in sync after a deploy");

      rt.kill("shop-api");
      rt.containers.delete("shop-web"); // podman lost it
      await rt.run({ name: "stranger", image: "x", ports: [], volumes: [], labels: {}, cmd: [] });
      rt.kill("stranger");
      await rt.run({
        name: "shop-old",
        image: "x",
        ports: [],
        volumes: [],
        labels: { "mcp.managed": "true", "mcp.agent": "a1b2c3d4e5f6", "mcp.service": "shop" },
        cmd: [],
      });

      const drift = await rec.reconcileOnce();
      assert.deepEqual(
        drift.map((d) => [d.container, d.kind, d.action]),
        [
          ["shop-api", "stopped", "started"],
          ["shop-web", "missing", "recreated"],
          ["shop-old", "unknown_container", "reported"],
        ],
      );
      assert.equal((await rt.inspect("shop-api")).state, "running");
      assert.equal((await rt.inspect("shop-web")).state, "running");
      assert.equal((await rt.inspect("stranger")).state, "exited", "containers without the label are left alone");
      assert.ok((await store.recentEvents("shop")).some((e) => e.kind === "drift_missing"));
    });

    test("a component stopped on purpose stays stopped; restart=no is reported, not restarted", async () => {
      await store.putDefinition(
        def({}, [
          { name: "api", image: "reg.local/shop" },
          { name: "job", image: "reg.local/job", restart: "no" },
        ]),
      );
      await collect(ctl.deploy("shop"));
      await ctl.stop("shop", "api");
      rt.kill("shop-job");
      const rec = new Reconciler({ runtimes: new SharedRuntime(rt, {}), store, controller: ctl, log: silentLogger() });
      const drift = await rec.reconcileOnce();
      assert.deepEqual(
        drift.map((d) => [d.container, d.kind, d.action]),
        [["shop-job", "stopped", "reported"]],
      );
      assert.equal((await rt.inspect("shop-api")).state, "exited");
    });

    test("restart policies", () => {
      assert.equal(policyRestarts("always", 0), true);
      assert.equal(policyRestarts("unless-stopped", 137), true);
      assert.equal(policyRestarts("on-failure", 1), true);
      assert.equal(policyRestarts("on-failure:3", 0), false);
      assert.equal(policyRestarts("no", 1), false);
    });
  });
});

describe("deploy with a definition", () => {
  test("a refused or failed deploy leaves the stored definition as it was", async (t) => {
    const dir = mkdtempSync(join(tmpdir(), "agent-"));
    const { db } = await openSqlite<AgentDatabase>(join(dir, "agent.db"), agentMigrations);
    t.after(async () => {
      await db.destroy();
      rmSync(dir, { recursive: true, force: true });
    });
    const store = new StateStore(db);
    const rt = new FakeRuntime();
    const ctl = controllerFor(dir, rt, store);
    const good = def({}, [{ name: "api", image: "reg.local/shop" }]);
    await collect(ctl.deploy("shop", good));
    const outside = def({}, [{ name: "api", image: "reg.local/shop", volumes: ["/etc:/x"] }]);
    await assert.rejects(collect(ctl.deploy("shop", outside)), PlanError);
    assert.deepEqual(await store.definition("shop"), good);
    const unpullable = def({}, [{ name: "api", image: "reg.local/missing:v9" }]);
    await assert.rejects(collect(ctl.deploy("shop", unpullable)), DeployFailedError);
    assert.deepEqual(await store.definition("shop"), good);
    await assert.rejects(collect(ctl.deploy("ghost", { ...unpullable, name: "ghost" })), DeployFailedError);
    assert.equal(await store.definition("ghost"), undefined);
    assert.deepEqual(await store.ports("ghost"), []);
  });
});
