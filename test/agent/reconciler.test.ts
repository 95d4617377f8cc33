// The reconciler with per-service podmans: a service whose placement fails is
// reported and left alone (never taken for "containers missing"), and passes
// can be awaited as events instead of slept through.
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Writable } from "node:stream";
import { afterEach, beforeEach, describe, test } from "node:test";
import type { Kysely } from "kysely";
import { openSqlite } from "../../lib/db/sqlite.ts";
import { createLogger, silentLogger } from "../../lib/log/logger.ts";
import { validateDefinition, type ServiceDefinition } from "../../lib/services/definition.ts";
import { PlacementError } from "../../lib/smep/smep.ts";
import { ServiceController } from "../../agent/controller/controller.ts";
import type { Placer } from "../../agent/placement/placer.ts";
import { Reconciler } from "../../agent/reconcile/reconciler.ts";
import { ServiceUserRuntimes, SharedRuntime, type RuntimeProvider, type RuntimeSet } from "../../agent/runtime/provider.ts";
import { agentMigrations } from "../../agent/state/migrations.ts";
import type { AgentDatabase } from "../../agent/state/schema.ts";
import { StateStore } from "../../agent/state/store.ts";
import { FakeRuntime } from "../helpers/fake-runtime.ts";

const service = (name: string): ServiceDefinition =>
  validateDefinition({ name, node: "n1", version: "v1", components: [{ name: "api", image: `reg.local/${name}` }] });

function capturingLogger() {
  const lines: { msg: string; level: string; [k: string]: unknown }[] = [];
  const sink = new Writable({
    write(chunk: Buffer, _enc, cb) {
      for (const l of chunk.toString().split("\n")) if (l) lines.push(JSON.parse(l));
      cb();
    },
  });
  return { log: createLogger("mcp-agent", "debug", sink), lines };
}

describe("Reconciler", () => {
  let dir: string;
  let db: Kysely<AgentDatabase>;
  let store: StateStore;
  let rt: FakeRuntime;
  let ctl: ServiceController;

  beforeEach(async () => {
    dir = mkdtempSync(join(tmpdir(), "agent-"));
    ({ db } = await openSqlite<AgentDatabase>(join(dir, "agent.db"), agentMigrations));
    store = new StateStore(db);
    rt = new FakeRuntime();
    ctl = new ServiceController({
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
  });
  afterEach(async () => {
    await db.destroy();
    rmSync(dir, { recursive: true, force: true });
  });

  async function deploy(name: string): Promise<void> {
    await store.putDefinition(service(name));
    for await (const _ of ctl.deploy(name)) void _;
  }

  test("a service whose placement fails is reported as such, logged, and its containers are left alone", async () => {
    await deploy("shop");
    await deploy("ledger");
    // ledger's containers run under its own user, whose podman cannot be found while its placement fails.
    rt.containers.delete("ledger-api");
    const placer = {
      async placementFor(def: ServiceDefinition) {
        if (def.name === "ledger") throw new PlacementError("ledger has no machine number: the machine registry does not name it");
        return { placement: { user: `${def.name}-prod`, uid: 10000 } };
      },
      userExists: () => false, // shop: not placed yet, its containers are in the shared podman
    } as unknown as Placer;
    const runtimes = new ServiceUserRuntimes(rt, { command: "podman", log: silentLogger() }, store, placer, {});
    const recreated: string[] = [];
    const recreate = ctl.recreate.bind(ctl);
    ctl.recreate = (s, c) => (recreated.push(`${s}/${c}`), recreate(s, c));
    const { log, lines } = capturingLogger();
    const rec = new Reconciler({ runtimes, store, controller: ctl, log });

    const drift = await rec.reconcileOnce();
    assert.deepEqual(
      drift.map((d) => [d.container, d.kind, d.action]),
      [["ledger-api", "placement_failed", "reported"]],
    );
    assert.match(drift[0]!.message, /placement failed.*left alone.*no machine number/);
    assert.deepEqual(recreated, [], "nothing is recreated for a service whose containers cannot be seen");
    assert.equal(rt.containers.has("ledger-api"), false);
    const logged = lines.find((l) => l.level === "error" && l.service === "ledger");
    assert.ok(logged, "the placement error is logged");
    assert.match(JSON.stringify(logged.err), /no machine number/);
    assert.ok((await store.recentEvents("ledger")).some((e) => e.kind === "drift_placement_failed"));
  });

  test("provider.all() names the services it could not place", async () => {
    await store.putDefinition(service("ledger"));
    const placer = { placementFor: async () => Promise.reject(new PlacementError("no number")), userExists: () => true } as unknown as Placer;
    const set = await new ServiceUserRuntimes(rt, { command: "podman", log: silentLogger() }, store, placer, {}).all();
    assert.deepEqual(set.runtimes, [rt]);
    assert.deepEqual(
      [...set.failed].map(([s, e]) => [s, e.message]),
      [["ledger", "no number"]],
    );
  });

  test("nextPass resolves with a pass that started after it was asked for; passes counts them and each is logged", async () => {
    let release!: () => void;
    let gate: Promise<void> | undefined = new Promise<void>((r) => (release = r));
    const runtimes: RuntimeProvider = {
      shared: rt,
      agentPull: {},
      forService: async () => ({ runtime: rt, pull: {} }),
      stop: async () => undefined,
      async all(): Promise<RuntimeSet> {
        await gate;
        return { runtimes: [rt], failed: new Map() };
      },
    };
    const { log, lines } = capturingLogger();
    const rec = new Reconciler({ runtimes, store, controller: ctl, log });
    const first = rec.reconcileOnce(); // observing podman, held at the gate
    let resolved = false;
    const next = rec.nextPass().then((d) => ((resolved = true), d));
    release();
    gate = undefined;
    await first;
    await new Promise((r) => setImmediate(r));
    assert.equal(resolved, false, "the pass already running when nextPass was called does not count");
    assert.equal(rec.passes, 1);
    await rec.reconcileOnce();
    assert.deepEqual(await next, []);
    assert.equal(rec.passes, 2);
    assert.deepEqual(
      lines.filter((l) => l.msg === "reconcile pass done").map((l) => l.pass),
      [1, 2],
    );
  });

  test("the interval timer drives passes that nextPass can wait for", async () => {
    const rec = new Reconciler({ runtimes: new SharedRuntime(rt, {}), store, controller: ctl, log: silentLogger() });
    rec.start(10);
    try {
      await rec.nextPass();
      await rec.nextPass();
      assert.ok(rec.passes >= 2);
    } finally {
      await rec.stop();
    }
  });
});
