// The console's store and its actions, against in-memory agents (createRouterTransport),
// a fake registry and a fake builder: what every mode (TTY, plain, --json) relies on.
import assert from "node:assert/strict";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, test } from "node:test";
import { Code, ConnectError, createRouterTransport, type ServiceImpl } from "@connectrpc/connect";
import { AgentService, DeployPhase, LogStream } from "../../proto/gen/mcp/agent/v1/agent_pb.ts";
import { AgentPool } from "../../console/clients/agents.ts";
import type { Builder, BuildSpec } from "../../console/clients/podman.ts";
import { Definitions } from "../../console/definitions.ts";
import { ConsoleError } from "../../console/output/errors.ts";
import type { StoreDeps } from "../../console/store/state.ts";
import { createConsoleStore } from "../../console/store/store.ts";

const dirs: string[] = [];
after(() => dirs.forEach((d) => rmSync(d, { recursive: true, force: true })));

type Impl = Partial<ServiceImpl<typeof AgentService>>;

function setup(agents: Record<string, Impl>, over: Partial<StoreDeps> = {}, opts: { token?: () => string } = {}) {
  const dir = mkdtempSync(join(tmpdir(), "mcp-store-"));
  dirs.push(dir);
  mkdirSync(join(dir, "services"));
  mkdirSync(join(dir, "ws", "shop"), { recursive: true });
  writeFileSync(join(dir, "ws", "shop", "Containerfile"), "FROM scratch\n");
  writeFileSync(
    join(dir, "services", "shop.toml"),
    'name = "shop"\nnode = "a"\nversion = "v1"\n[build.images]\nshop = "Containerfile"\n[[components]]\nname = "api"\n[[components]]\nname = "web"\n',
  );
  const seenTokens: string[] = [];
  const pool = new AgentPool({
    nodes: Object.keys(agents).map((name) => ({ name, url: `https://${name}.test` })),
    token: opts.token ?? (() => "agent-token"),
    timeoutMs: 300,
    transport: (node) =>
      createRouterTransport(({ service }) => service(AgentService, agents[node.name]!), {
        router: { interceptors: [(next) => async (req) => (seenTokens.push(req.header.get("authorization") ?? ""), next(req))] },
      }),
  });
  const store = createConsoleStore({
    agents: pool,
    definitions: new Definitions(join(dir, "services")),
    registryHost: "mcr.test:8443",
    registry: () => ({ manifestExists: async () => true, close: () => undefined }),
    builder: () => ({ buildAndPush: async () => undefined }),
    workspace: join(dir, "ws"),
    machineRegistry: () => ({ shop: 3 }),
    logFlushMs: 10,
    ...over,
  });
  return { store, dir, seenTokens };
}

const hang = (signal: AbortSignal) => new Promise<never>((_, reject) => signal.addEventListener("abort", () => reject(signal.reason)));
const health = () => ({ status: "ok", version: "1", node: "x", podmanVersion: "4.3.1" });

describe("console store", () => {
  test("ps asks every node at once: a node that hangs is unreachable after the timeout; the others' rows are kept", async () => {
    const { store, seenTokens } = setup({
      a: {
        health,
        list: async () => ({
          containers: [
            {
              service: "shop",
              component: "api",
              container: "shop-api",
              image: "i",
              version: "v1",
              state: "running",
              startedAt: "",
              ports: [{ route: "rest", hostPort: 31000, hostIp: "127.0.0.1" }],
            },
          ],
        }),
      },
      b: { health, list: (_req, ctx) => hang(ctx.signal) },
      c: {
        list: async () => {
          throw new ConnectError("connect ECONNREFUSED", Code.Unavailable);
        },
      },
    });
    const started = Date.now();
    const out = await store.getState().refreshContainers();
    assert.ok(Date.now() - started < 1500, "the hanging node does not hold up the others");
    assert.deepEqual(
      out.map((o) => [o.node, o.ok]),
      [
        ["a", true],
        ["b", false],
        ["c", false],
      ],
    );
    const s = store.getState();
    assert.deepEqual([s.nodes.a!.state, s.nodes.b!.state, s.nodes.c!.state], ["ok", "unreachable", "unreachable"]);
    assert.match(s.nodes.c!.reason, /ECONNREFUSED/);
    assert.equal(s.containers.a![0]!.ports[0]!.hostPort, 31000);
    assert.deepEqual(s.containers.b, []);
    assert.ok(seenTokens.every((t) => t === "Bearer agent-token"));
  });

  test("a session every node refuses is one unauthenticated error; a missing session fails before any call", async () => {
    const refuse = {
      list: async () => {
        throw new ConnectError("invalid or expired token", Code.Unauthenticated);
      },
    };
    const { store } = setup({ a: refuse, b: refuse });
    await assert.rejects(store.getState().refreshContainers(), (e: ConsoleError) => e.code === "unauthenticated" && /run `mcp login`/.test(e.message));
    const none = setup(
      { a: { list: async () => ({ containers: [] }) } },
      {},
      {
        token: () => {
          throw new ConsoleError("unauthenticated", "not logged in: run `mcp login`");
        },
      },
    );
    await assert.rejects(none.store.getState().refreshContainers(), (e: ConsoleError) => e.code === "unauthenticated");
    // No identity to take a token from (no [registry] url): the command fails with that, and
    // the node, never asked, is not reported as up (it was "ok" with no containers before).
    const asked: string[] = [];
    const nowhere = setup(
      { a: { list: async () => (asked.push("a"), { containers: [] }) } },
      {},
      {
        token: () => {
          throw new ConsoleError("usage", "no [registry] url (or [identity] url) in mcp.toml: the console logs in there");
        },
      },
    );
    await assert.rejects(nowhere.store.getState().refreshContainers(), (e: ConsoleError) => e.code === "usage" && /no \[registry\] url/.test(e.message));
    assert.deepEqual(asked, []);
    assert.equal(nowhere.store.getState().nodes.a!.state, "unknown");
  });

  test("nodes: Health needs no token and fills versions", async () => {
    const { store, seenTokens } = setup(
      { a: { health } },
      {},
      {
        token: () => {
          throw new Error("no token needed");
        },
      },
    );
    const [a] = await store.getState().refreshNodes();
    assert.deepEqual([a!.state, a!.version, a!.podmanVersion], ["ok", "1", "4.3.1"]);
    assert.deepEqual(seenTokens, [""]);
  });

  test("deploy: progress lands per component with a growing seq; a failure keeps the phases and the error", async () => {
    let fail = false;
    const { store } = setup({
      a: {
        health,
        async *deploy(req) {
          assert.equal(req.definition?.name, "shop");
          for (const c of ["api", "web"])
            for (const phase of [DeployPhase.PULLING, DeployPhase.RUNNING])
              yield { component: c, phase, message: `${c} ${phase}`, container: `shop-${c}`, image: `mcr.test:8443/${c}` };
          if (fail) {
            yield { component: "web", phase: DeployPhase.FAILED, message: "exit code 3", container: "", image: "" };
            throw new ConnectError("web exited with code 3: bad config; the previous container was started again", Code.Aborted);
          }
          yield { component: "", phase: DeployPhase.DONE, message: "deployed", container: "", image: "" };
        },
      },
    });
    const d = await store.getState().deploy("shop");
    assert.equal(d.state, "done");
    assert.deepEqual(
      Object.entries(d.components).map(([c, p]) => [c, p.phase]),
      [
        ["api", "running"],
        ["web", "running"],
      ],
    );
    const seqs = store.getState().deployEvents.map((e) => e.seq);
    assert.deepEqual(
      seqs,
      [...seqs].sort((x, y) => x - y),
    );
    assert.equal(store.getState().deployEvents.at(-1)!.phase, "done");

    fail = true;
    await assert.rejects(store.getState().deploy("shop"), (e: ConsoleError) => e.code === "failed" && /bad config/.test(e.message));
    const after = store.getState().deployment!;
    assert.equal(after.state, "failed");
    assert.equal(after.components.web!.phase, "failed");
    assert.match(after.error!.message, /started again/);
  });

  test("images: present ones are left alone, missing ones are built from the source, unbuildable ones are said", async () => {
    const built: BuildSpec[] = [];
    const builder: Builder = {
      async buildAndPush(spec, onProgress) {
        built.push(spec);
        onProgress({ image: spec.image, phase: "building", message: "STEP 1/1" });
        onProgress({ image: spec.image, phase: "pushing", message: "Copying blob 0123456789ab done", layer: { digest: "0123456789ab", status: "done" } });
        onProgress({ image: spec.image, phase: "pushed", message: "pushed" });
      },
    };
    const present = new Set(["shop-web:v1"]);
    const { store, dir } = setup(
      { a: { health } },
      { builder: () => builder, registry: () => ({ manifestExists: async (repo, tag) => present.has(`${repo}:${tag}`), close: () => undefined }) },
    );
    const images = await store.getState().ensureImages([new Definitions(join(dir, "services")).get("shop")]);
    assert.deepEqual(
      images.map((i) => [i.ref, i.phase]),
      [
        ["mcr.test:8443/shop:v1", "pushed"],
        ["mcr.test:8443/shop-web:v1", "exists"],
      ],
    );
    assert.deepEqual(
      built.map((b) => [b.ref, b.version, b.context]),
      [["mcr.test:8443/shop:v1", "v1", join(dir, "ws", "shop")]],
    );
    assert.deepEqual(store.getState().images["mcr.test:8443/shop:v1"]!.layers, { "0123456789ab": "done" });

    present.clear();
    const again = await store.getState().ensureImages([new Definitions(join(dir, "services")).get("shop")]);
    const web = again.find((i) => i.image === "shop-web")!;
    assert.equal(web.phase, "cannot_build");
    assert.match(web.message, /no \[build\.images\] entry "shop-web"/);
  });

  test("sync ships definitions and the machine registry to each node; a node that fails is reported with its error", async () => {
    let received: unknown;
    const { store } = setup({ a: { health, sync: async (req) => ((received = req.machineRegistry), { results: [{ service: "shop", outcome: "created" }] }) } });
    const { results } = await store.getState().sync();
    assert.deepEqual(results, [{ node: "a", service: "shop", outcome: "created", error: null }]);
    assert.deepEqual(received, { shop: 3 });
  });

  test("logs of a service follow every component, merged, in batches; the ring buffer drops the oldest and counts them", async () => {
    const { store } = setup(
      {
        a: {
          health,
          async *logs(req) {
            assert.equal(req.follow, true);
            for (let i = 1; i <= 30; i++)
              yield { component: req.component, stream: i % 10 === 0 ? LogStream.STDERR : LogStream.STDOUT, line: `${req.component} ${i}` };
          },
        },
      },
      { logCapacity: 50 },
    );
    let publishes = 0;
    const unsub = store.subscribe((s, prev) => void (s.logs.seq !== prev.logs.seq && publishes++));
    await store.getState().followLogs("shop", { follow: true, tail: 0, since: "", timestamps: false });
    unsub();
    const logs = store.getState().logs;
    assert.equal(logs.seq, 60);
    assert.equal(logs.lines.length, 50);
    assert.equal(logs.dropped, 10);
    assert.ok(publishes < 60, `lines are published in batches (${publishes} publishes)`);
    for (const c of ["api", "web"]) {
      const nums = logs.lines.filter((l) => l.component === c).map((l) => Number(l.line.split(" ")[1]));
      assert.deepEqual(
        nums,
        [...nums].sort((x, y) => x - y),
      );
    }
    assert.ok(logs.lines.some((l) => l.stream === "stderr"));
    assert.deepEqual(logs.streams, { api: "ended", web: "ended" });
  });

  test("lifecycle operations go to the service's node and report component states; unknown services are not_found", async () => {
    const { store } = setup({
      a: {
        health,
        stop: async (req) => ({ components: [{ component: req.component || "api", container: "shop-api", state: "exited" }] }),
        status: async () => {
          throw new ConnectError("unknown service nope", Code.NotFound);
        },
      },
      b: {
        health,
        status: async () => {
          throw new ConnectError("unknown service nope", Code.NotFound);
        },
      },
    });
    const r = await store.getState().lifecycle("stop", "shop", "api");
    assert.deepEqual([r.node, r.components[0]!.state], ["a", "exited"]);
    await assert.rejects(store.getState().lifecycle("stop", "nope"), (e: ConsoleError) => e.code === "not_found");
  });
});
