// Volume sources and storage folders are walked without following links before every start
// (agent/controller/mount-check.ts): the checks on real folders, then the controller's Start and
// the reconciler's restart and repair on a fake runtime, with a link planted after the deploy.
import assert from "node:assert/strict";
import { existsSync, mkdirSync, mkdtempSync, renameSync, rmSync, statSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, test } from "node:test";
import type { Kysely } from "kysely";
import { openSqlite } from "../../lib/db/sqlite.ts";
import { silentLogger } from "../../lib/log/logger.ts";
import { validateDefinition, type ServiceDefinition } from "../../lib/services/definition.ts";
import { place } from "../../lib/smep/smep.ts";
import { ServiceController } from "../../agent/controller/controller.ts";
import { checkMounts, prepareMounts, UnsafeMountError } from "../../agent/controller/mount-check.ts";
import { planService, type PlannedComponent } from "../../agent/controller/plan.ts";
import { checkPathNoFollow } from "../../agent/placement/safe-fs.ts";
import { Reconciler } from "../../agent/reconcile/reconciler.ts";
import { parseInspect } from "../../agent/runtime/podman-json.ts";
import { SharedRuntime } from "../../agent/runtime/provider.ts";
import { agentMigrations } from "../../agent/state/migrations.ts";
import type { AgentDatabase } from "../../agent/state/schema.ts";
import { StateStore } from "../../agent/state/store.ts";
import { FakeRuntime } from "../helpers/fake-runtime.ts";

const shop = (volumes: string[]): ServiceDefinition =>
  validateDefinition({ name: "shop", node: "n1", version: "v1", components: [{ name: "api", image: "reg.local/shop", volumes }] });

describe("mount checks on real folders", () => {
  let dir: string;
  let srv: string;
  let outside: string;
  const ctx = () => ({
    identity: { id: "a1b2c3d4e5f6", node: "n1", containerPrefix: "" },
    registryHost: "reg.local",
    publishAddress: "127.0.0.1",
    defaultNetwork: "",
    storageRoot: srv,
    allowedVolumeRoots: [srv],
    envDir: join(dir, "env"),
  });
  const planned = (volumes: string[]): PlannedComponent => planService(shop(volumes), [], ctx())[0]!;
  const unsafe = (volume: string, link: string, target: string) => (e: unknown) =>
    e instanceof UnsafeMountError &&
    e.message.startsWith(`volume ${volume} of shop-api: ${link} is a symbolic link to ${target}`) &&
    /refusing to follow it/.test(e.message);

  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), "mount-check-"));
    srv = join(dir, "srv");
    outside = join(dir, "outside");
    mkdirSync(outside);
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  test("the control: missing volume folders are made as real folders (0750), existing ones are left as they are", () => {
    mkdirSync(join(srv, "shop", "kept"), { recursive: true, mode: 0o755 });
    const p = planned([`${srv}/shop/a/b:/a`, `${srv}/shop/kept:/kept`]);
    prepareMounts(p);
    assert.equal(statSync(join(srv, "shop", "a", "b")).mode & 0o777, 0o750);
    assert.equal(statSync(join(srv, "shop", "kept")).mode & 0o777, 0o755);
    checkMounts(p);
  });

  test("a volume through a link a container planted is refused at deploy, naming the volume and the link; nothing is made outside", () => {
    mkdirSync(join(srv, "shop"), { recursive: true });
    symlinkSync(outside, join(srv, "shop", "link"));
    const volume = `${srv}/shop/link/sub:/x`;
    assert.throws(() => prepareMounts(planned([volume])), unsafe(volume, join(srv, "shop", "link"), outside));
    assert.equal(existsSync(join(outside, "sub")), false, "sub was not created through the link");
    assert.throws(() => checkMounts(planned([volume])), unsafe(volume, join(srv, "shop", "link"), outside));
  });

  test("a volume folder swapped for a link after the deploy is refused at the next start; a dangling link too", () => {
    const volume = `${srv}/shop/data:/data`;
    const p = planned([volume]);
    prepareMounts(p);
    renameSync(join(srv, "shop", "data"), join(srv, "shop", "data.moved"));
    symlinkSync(outside, join(srv, "shop", "data"));
    assert.throws(() => checkMounts(p), unsafe(volume, join(srv, "shop", "data"), outside));
    rmSync(join(srv, "shop", "data"));
    symlinkSync(join(dir, "nowhere"), join(srv, "shop", "data"));
    assert.throws(() => checkMounts(p), unsafe(volume, join(srv, "shop", "data"), join(dir, "nowhere")));
  });

  test("a file volume is a file, not a link; a missing source is podman's to report", () => {
    mkdirSync(join(srv, "shop"), { recursive: true });
    writeFileSync(join(srv, "shop", "app.toml"), "");
    checkMounts(planned([`${srv}/shop/app.toml:/etc/app.toml`, `${srv}/shop/gone/x:/gone`]));
    assert.equal(checkPathNoFollow(srv, "shop/app.toml"), "file");
    assert.equal(checkPathNoFollow(srv, "shop/gone/x"), "missing");
    assert.equal(checkPathNoFollow(join(dir, "no-root"), "x"), "missing");
    assert.equal(checkPathNoFollow(srv, "shop"), "folder");
  });

  test("the container's own bind mounts are checked too: through a link, or outside the roots", () => {
    mkdirSync(join(srv, "old"), { recursive: true });
    symlinkSync(outside, join(srv, "old", "link"));
    const p = planned([`${srv}/shop:/srv/shop`]);
    prepareMounts(p);
    assert.throws(() => checkMounts(p, [join(srv, "old", "link")]), unsafe(join(srv, "old", "link"), join(srv, "old", "link"), outside));
    assert.throws(
      () => checkMounts(p, ["/etc"]),
      (e: unknown) =>
        e instanceof UnsafeMountError && e.message === `volume /etc of shop-api: /etc is outside the allowed roots (${srv}): refusing to mount it`,
    );
  });

  test("podman inspect's bind mounts are read as the container's bind sources", () => {
    const json = JSON.stringify([
      {
        Id: "x",
        Name: "shop-api",
        Mounts: [
          { Type: "bind", Source: "/srv/shop" },
          { Type: "volume", Source: "/var/lib/containers/storage/volumes/v/_data" },
        ],
      },
    ]);
    assert.deepEqual(parseInspect(json)[0]!.bindSources, ["/srv/shop"]);
  });

  test("SMEP: a storage folder swapped for a link is refused even when no volume names it; the storage root itself too", () => {
    const placement = place({ service: "shop", environment: "prod", sheet: "dynamicalsystem", machineNumber: 3 });
    const root = join(srv, placement.user);
    const p = planService(shop([]), [], ctx(), { placement, storageRoot: root, rootful: true })[0]!;
    for (const d of ["state", "data", "config", "service"]) mkdirSync(join(root, d), { recursive: true });
    checkMounts(p);
    renameSync(join(root, "data"), join(root, "data.moved"));
    symlinkSync(outside, join(root, "data"));
    assert.throws(
      () => checkMounts(p),
      (e: unknown) => e instanceof UnsafeMountError && e.message.startsWith(`storage of shop-api: ${join(root, "data")} is a symbolic link to ${outside}`),
    );
    rmSync(join(root, "data"));
    renameSync(join(root, "data.moved"), join(root, "data"));
    renameSync(root, `${root}.moved`);
    symlinkSync(`${root}.moved`, root);
    assert.throws(
      () => checkMounts(p),
      (e: unknown) => e instanceof UnsafeMountError && e.message.startsWith(`storage of shop-api: ${root} is a symbolic link`),
    );
  });
});

describe("starts the agent performs, on a fake runtime", () => {
  let dir: string;
  let srv: string;
  let outside: string;
  let db: Kysely<AgentDatabase>;
  let store: StateStore;
  let rt: FakeRuntime;
  let ctl: ServiceController;
  let volume: string;

  beforeEach(async () => {
    dir = mkdtempSync(join(tmpdir(), "mount-check-"));
    srv = join(dir, "srv");
    outside = join(dir, "outside");
    mkdirSync(outside);
    volume = `${srv}/shop/data:/data`;
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
        storageRoot: srv,
        allowedVolumeRoots: [srv],
        envDir: join(dir, "env"),
      },
    });
    for await (const _ of ctl.deploy("shop", shop([volume]))) void _;
    // What a container that can write to /data's parent does between two starts.
    renameSync(join(srv, "shop", "data"), join(srv, "shop", "data.moved"));
    symlinkSync(outside, join(srv, "shop", "data"));
  });
  afterEach(async () => {
    await db.destroy();
    rmSync(dir, { recursive: true, force: true });
  });

  const namesLink = (e: unknown) =>
    e instanceof UnsafeMountError && e.message.includes(`volume ${volume} of shop-api: ${join(srv, "shop", "data")} is a symbolic link to ${outside}`);

  test("Start and Restart refuse and leave the container stopped, desired stopped; the refusal is an event", async () => {
    await ctl.stop("shop");
    const starts = rt.calls.filter((c) => c === "start shop-api").length;
    await assert.rejects(ctl.start("shop"), namesLink);
    await assert.rejects(ctl.restart("shop"), namesLink);
    assert.equal(rt.calls.filter((c) => c === "start shop-api").length, starts, "podman was never asked to start it");
    assert.equal((await rt.inspect("shop-api")).state, "exited");
    assert.equal((await store.components("shop"))[0]!.desired, "stopped");
    const events = await store.recentEvents("shop");
    assert.ok(
      events.some((e) => e.kind === "start_refused" && e.message.includes(join(srv, "shop", "data"))),
      JSON.stringify(events),
    );
  });

  test("the reconciler neither restarts a stopped container nor recreates a missing one: unsafe_mount drift, an event", async () => {
    const reconciler = new Reconciler({ runtimes: new SharedRuntime(rt, {}), store, controller: ctl, log: silentLogger() });
    await rt.stop("shop-api"); // died behind the agent's back; unless-stopped would bring it back
    let drifts = await reconciler.reconcileOnce();
    assert.deepEqual(
      drifts.map((d) => [d.kind, d.action]),
      [["unsafe_mount", "reported"]],
    );
    assert.match(drifts[0]!.message, /^shop-api is stopped and was not started: volume /);
    assert.equal((await rt.inspect("shop-api")).state, "exited");

    await rt.remove("shop-api");
    drifts = await reconciler.reconcileOnce();
    assert.deepEqual(
      drifts.map((d) => [d.kind, d.action]),
      [["unsafe_mount", "reported"]],
    );
    assert.match(drifts[0]!.message, /^shop-api is missing and was not recreated: volume /);
    assert.equal(rt.containers.has("shop-api"), false);
    assert.ok((await store.recentEvents("shop")).some((e) => e.kind === "drift_unsafe_mount"));

    // Once the link is gone, the next pass repairs as before.
    rmSync(join(srv, "shop", "data"));
    renameSync(join(srv, "shop", "data.moved"), join(srv, "shop", "data"));
    drifts = await reconciler.reconcileOnce();
    assert.deepEqual(
      drifts.map((d) => [d.kind, d.action]),
      [["missing", "recreated"]],
    );
  });

  test("a redeploy of a changed definition is refused before anything is pulled or stopped", async () => {
    const calls = rt.calls.length;
    await assert.rejects(async () => {
      for await (const _ of ctl.deploy("shop", shop([volume, `${srv}/shop/more:/more`]))) void _;
    }, namesLink);
    assert.deepEqual(
      rt.calls.slice(calls).filter((c) => !c.startsWith("list") && !c.startsWith("inspect")),
      [],
      "nothing pulled, created or stopped",
    );
    assert.equal((await rt.inspect("shop-api")).state, "running");
  });
});
