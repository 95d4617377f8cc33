// CPU and MEM in mcp ps and mcp status (tables and --json; "-" and nulls where a node's Stats
// fails or an agent has none), live in the TUI's services and service screens; mcp prune
// (table, --json, --dry-run, --older-than, a node that refuses) and the nodes screen's p
// (after y/N) and d.
import assert from "node:assert/strict";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { after, afterEach, describe, test } from "node:test";
import { cleanup, render } from "ink-testing-library";
import { Code, ConnectError } from "@connectrpc/connect";
import type { PruneImagesRequest } from "../../proto/gen/mcp/agent/v1/resources_pb.ts";
import ps from "../../console/commands/ps.ts";
import prune from "../../console/commands/prune.ts";
import status from "../../console/commands/status.ts";
import { App } from "../../console/tui/app.tsx";
import { shortBytes } from "../../console/views/usage.ts";
import { ENTER, press, untilFrame } from "../helpers/ink-keys.ts";
import { type AgentImpl, commandContext, fixtureStore, health, removeFixtures } from "./tui-fixture.ts";

after(removeFixtures);
afterEach(() => cleanup());

const MiB = 1024 * 1024;
const container = (component: string, state = "running") => ({
  service: "shop",
  component,
  container: `shop-${component}`,
  image: `mcr.test:8443/shop-${component}:v1`,
  version: "v1",
  state,
  startedAt: new Date(Date.now() - 60_000).toISOString(),
  ports: [],
});
const componentStatus = (component: string, observedState: string) => ({
  component,
  container: `shop-${component}`,
  desiredState: "running",
  observedState,
  desiredImage: "i",
  observedImage: "i",
  drift: "",
  ports: [],
  startedAt: "",
});
const usage = (component: string, cpuPercent: number) => ({
  service: "shop",
  component,
  container: `shop-${component}`,
  cpuPercent,
  memUsedBytes: BigInt(41 * MiB),
  memLimitBytes: BigInt(1024 * MiB),
  netRxBytes: 1000n,
  netTxBytes: 2000n,
  blockReadBytes: 3000n,
  blockWriteBytes: 4000n,
  pids: 3,
});

/** rift runs shop (api running, web stopped) and measures api at `cpu.api`; vade runs blog and its Stats fails. */
function platform(cpu = { api: 3.24 }) {
  const prunes: PruneImagesRequest[] = [];
  const rift: AgentImpl = {
    health,
    list: async () => ({ containers: [container("api"), container("web", "exited")] }),
    status: async () => ({ service: "shop", version: "v1", active: true, components: [componentStatus("api", "running"), componentStatus("web", "exited")] }),
    stats: async () => ({ containers: [usage("api", cpu.api)] }),
    pruneImages: async (req) => {
      prunes.push(req);
      const image = (name: string, outcome: string, reason = "", detail = "") => ({
        id: `sha256:${name.length}0123456789abcdef`,
        names: [name],
        sizeBytes: BigInt(5 * MiB),
        created: "2026-01-01T00:00:00Z",
        outcome,
        reason,
        detail: outcome === "removed" && req.dryRun ? "would be removed (dry run)" : detail,
        podman: "agent",
      });
      return {
        images: [image("mcr.test:8443/shop:v0", "removed"), image("mcr.test:8443/shop:v1", "kept", "release", "the release of shop/api")],
        bytesFreed: BigInt(5 * MiB),
        dryRun: req.dryRun,
        warnings: [],
      };
    },
  };
  const vade: AgentImpl = {
    health,
    list: async () => ({ containers: [{ ...container("api"), service: "blog", container: "blog-api" }] }),
    status: async () => ({ service: "blog", version: "v1", active: true, components: [{ ...componentStatus("api", "running"), container: "blog-api" }] }),
    stats: async () => {
      throw new ConnectError("podman API: connection refused", Code.Internal);
    },
    pruneImages: async () => {
      throw new ConnectError("alice may not administer service (all)", Code.PermissionDenied);
    },
  };
  const fx = fixtureStore(
    { rift, vade },
    { shop: 'name = "shop"\nnode = "rift"\nversion = "v1"\n[[components]]\nname = "api"\n[[components]]\nname = "web"\n' },
  );
  const config = join(fx.dir, "mcp.toml");
  writeFileSync(config, "");
  return { ...fx, config, prunes, cpu };
}

describe("CPU and MEM", () => {
  test("sizes in short binary units", () => {
    assert.deepEqual(
      [shortBytes(900), shortBytes(512 * 1024), shortBytes(41 * MiB), shortBytes(1024 * MiB), shortBytes(5.5 * MiB)],
      ["900B", "512K", "41M", "1.0G", "5.5M"],
    );
  });

  test("mcp ps: CPU and MEM columns; - for a stopped container and for a node whose Stats fails, which is listed all the same", async () => {
    const { deps, config } = platform();
    const { ctx, stdout } = commandContext(config, "plain", deps);
    assert.equal(await ps.run(ctx, [], {}), 0, "a failed Stats is not an unreachable node");
    const out = stdout();
    assert.match(out, /^SERVICE +COMPONENT +NODE +VERSION +STATE +CPU +MEM +UPTIME +PORTS$/m);
    assert.match(out, /^shop +api +rift +v1 +running +3\.2% +41M\/1\.0G +1m$/m);
    assert.match(out, /^shop +web +rift +v1 +exited +- +-$/m);
    assert.match(out, /^blog +api +vade +v1 +running +- +- +1m$/m);
    assert.match(out, /node vade: podman API: connection refused \(CPU and MEM show -\)/);
  });

  test("mcp ps --json: the numbers, null where unknown", async () => {
    const { deps, config } = platform();
    const { ctx, stdout } = commandContext(config, "json", deps);
    await ps.run(ctx, [], {});
    const doc = JSON.parse(stdout());
    const by = (c: string) => doc.containers.find((x: { container: string }) => x.container === c);
    const api = by("shop-api");
    assert.deepEqual(
      [api.cpuPercent, api.memUsedBytes, api.memLimitBytes, api.netRxBytes, api.netTxBytes, api.blockReadBytes, api.blockWriteBytes, api.pids],
      [3.24, 41 * MiB, 1024 * MiB, 1000, 2000, 3000, 4000, 3],
    );
    assert.equal(by("shop-web").cpuPercent, null);
    assert.equal(by("blog-api").memUsedBytes, null);
    assert.equal(by("blog-api").state, "running");
    assert.deepEqual(
      doc.nodes.map((n: { state: string }) => n.state),
      ["ok", "ok"],
    );
  });

  test("mcp status: CPU and MEM per component, in the table and in --json", async () => {
    const { deps, config } = platform();
    const plain = commandContext(config, "plain", deps);
    await status.run(plain.ctx, ["shop"], {});
    assert.match(plain.stdout(), /^COMPONENT +DESIRED +OBSERVED +CPU +MEM +DRIFT +IMAGE +PORTS +UPTIME$/m);
    assert.match(plain.stdout(), /^api +running +running +3\.2% +41M\/1\.0G +-/m);
    assert.match(plain.stdout(), /^web +running +exited +- +- +-/m);
    const all = commandContext(config, "plain", deps);
    await status.run(all.ctx, [], {});
    assert.match(all.stdout(), /^shop +api +rift +v1 +running +running +3\.2% +41M\/1\.0G +-$/m);
    assert.match(all.stdout(), /^blog +api +vade +v1 +running +running +- +- +-$/m);
    const json = commandContext(config, "json", deps);
    await status.run(json.ctx, ["shop"], {});
    const [api, web] = JSON.parse(json.stdout()).services[0].components;
    assert.deepEqual([api.cpuPercent, api.memUsedBytes, web.cpuPercent], [3.24, 41 * MiB, null]);
  });

  test("TUI: the services and service screens show CPU and MEM and refresh them every 2 s", async () => {
    const { store, cpu } = platform({ api: 3.24 });
    await store.getState().fetchStatus();
    const ui = render(<App store={store} width={120} height={24} color={false} poll={false} />);
    let f = await untilFrame(ui.lastFrame, /shop +api +rift +v1 +running +3\.2% +41M\/1\.0G/);
    assert.match(f, /SERVICE +COMPONENT +NODE +VERSION +STATE +CPU +MEM/);
    assert.match(f, /blog +api +vade +v1 +running +- +-/);
    cpu.api = 97.5;
    await untilFrame(ui.lastFrame, /shop +api +rift +v1 +running +97\.5%/, 4000);
    await press(ui.stdin, ":", ..."service shop", ENTER);
    f = await untilFrame(ui.lastFrame, /api +running +running +97\.5% +41M\/1\.0G/);
    cpu.api = 12;
    await untilFrame(ui.lastFrame, /api +running +running +12\.0% +41M\/1\.0G/, 4000);
  });
});

describe("prune", () => {
  test("mcp prune: a week by default; the table, a line per node, and the refusing node's error and exit code", async () => {
    const { deps, config, prunes } = platform();
    const { ctx, stdout } = commandContext(config, "plain", deps);
    assert.equal(await prune.run(ctx, [], { olderThan: "168h", dryRun: false }), 5);
    assert.deepEqual(
      prunes.map((p) => [p.olderThanSeconds, p.dryRun]),
      [[604800n, false]],
    );
    const out = stdout();
    assert.match(out, /^images older than 168h that no release or container uses$/m);
    assert.match(out, /^NODE +IMAGE +SIZE +OUTCOME +REASON +CREATED +DETAIL$/m);
    assert.match(out, /^rift +mcr\.test:8443\/shop:v0 +5\.0 MiB +removed +- +2026-01-01T00:00:00Z$/m);
    assert.match(out, /^rift +mcr\.test:8443\/shop:v1 +5\.0 MiB +kept +release +2026-01-01T00:00:00Z +the release of shop\/api$/m);
    assert.match(out, /^rift: removed 1 image, 5\.0 MiB freed; kept 1$/m);
    assert.match(out, /^node vade: alice may not administer service \(all\)$/m);
  });

  test("mcp prune --node --dry-run --json: one node, nothing removed, the bytes it would free", async () => {
    const { deps, config, prunes } = platform();
    const { ctx, stdout } = commandContext(config, "json", deps);
    assert.equal(await prune.run(ctx, [], { node: "rift", olderThan: 0, dryRun: true }), 0);
    assert.deepEqual(
      prunes.map((p) => [p.olderThanSeconds, p.dryRun]),
      [[0n, true]],
    );
    const doc = JSON.parse(stdout());
    assert.deepEqual([doc.dryRun, doc.olderThanSeconds, doc.bytesFreed, doc.errors], [true, 0, 5 * MiB, []]);
    assert.deepEqual(
      doc.nodes.map((n: { name: string }) => n.name),
      ["rift"],
    );
    const [removed, kept] = doc.results[0].images;
    assert.deepEqual([removed.outcome, removed.detail, removed.sizeBytes, kept.reason], ["removed", "would be removed (dry run)", 5 * MiB, "release"]);
    const plain = commandContext(config, "plain", deps);
    await prune.run(plain.ctx, [], { node: "rift", olderThan: "30m", dryRun: true });
    assert.match(plain.stdout(), /^dry run: images older than 30m/m);
    assert.match(plain.stdout(), /would remove/);
    assert.match(plain.stdout(), /^rift: would remove 1 image, 5\.0 MiB to free; kept 1$/m);
  });

  test("--older-than must be a duration; --node a configured node", async () => {
    const { deps, config } = platform();
    const spec = prune.options.find((o) => o.flags.startsWith("--older-than"))!;
    assert.equal(spec.parse!("7d"), 604800);
    assert.throws(() => spec.parse!("a week"), /--older-than must be a duration like 168h/);
    const { ctx } = commandContext(config, "json", deps);
    await assert.rejects(prune.run(ctx, [], { node: "nope", olderThan: "1h", dryRun: false }), /node "nope" is not in the console config/);
  });

  test("TUI :nodes: p asks first and prunes the selected node; d is a dry run without asking", async () => {
    const { store, prunes } = platform();
    const ui = render(<App store={store} width={120} height={30} color={false} poll={false} initial={{ screen: "nodes" }} />);
    await untilFrame(ui.lastFrame, /rift +https:\/\/rift\.test:9444 +ok/);
    await press(ui.stdin, "p");
    await untilFrame(ui.lastFrame, /Prune images on rift that no release or container uses, older than 168h\? \[y\/N\]/);
    await press(ui.stdin, "n");
    await new Promise((r) => setTimeout(r, 100));
    assert.equal(prunes.length, 0, "n asks nothing");
    await press(ui.stdin, "p", "y");
    let f = await untilFrame(ui.lastFrame, /rift: removed 1 image, 5\.0 MiB freed; kept 1/);
    assert.match(f, /mcr\.test:8443\/shop:v1 +5\.0 MiB +kept +release/);
    assert.deepEqual(
      prunes.map((p) => [p.olderThanSeconds, p.dryRun]),
      [[604800n, false]],
    );
    await press(ui.stdin, "j", "d");
    f = await untilFrame(ui.lastFrame, /prune dry run vade: node vade: alice may not administer/);
    await press(ui.stdin, "k", "d");
    f = await untilFrame(ui.lastFrame, /rift: would remove 1 image, 5\.0 MiB to free/);
    assert.match(f, /would remove/);
    assert.equal(prunes.at(-1)!.dryRun, true);
    await press(ui.stdin, "?");
    await untilFrame(ui.lastFrame, /nodes +↑↓\/jk move +p prune images +d dry run/);
  });
});
