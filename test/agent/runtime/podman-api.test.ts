// The API runtime against real podman 4.3 (rootful, runc) through a `podman system service`
// it starts, in an isolated containers.conf and storage: lifecycle, listing by label, logs
// (tail, timestamps, stderr, follow ended by abort), events, and how failures surface.
// Exec, stats and images are in podman-api-exec.test.ts.
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { createServer } from "node:net";
import { join } from "node:path";
import { after, before, describe, test, type TestContext } from "node:test";
import { podmanNode, type PodmanNode } from "../../../agent/runtime/podman-node.ts";
import {
  ImageNotFoundError,
  NoSuchContainerError,
  RuntimeError,
  type ContainerSpec,
  type LogLine,
  type LogOptions,
  type Runtime,
  type RuntimeEvent,
} from "../../../agent/runtime/runtime.ts";
import { silentLogger } from "../../../lib/log/logger.ts";
import { createPodmanEnv, type PodmanEnv } from "../../helpers/podman.ts";
import { skipUnlessTools } from "../../helpers/tools.ts";

const IMAGE = "localhost/mcp-test/bb:v1.2.0";
const RUN = `rt${process.pid}`; // keeps names unique if two runs share a machine

describe("podman API runtime (real podman)", { skip: skipUnlessTools("podman", "runc", "busybox") }, () => {
  let pm: PodmanEnv;
  let node: PodmanNode;
  let rt: Runtime;

  before(async () => {
    pm = createPodmanEnv();
    await pm.importBusybox(IMAGE);
    node = podmanNode({ command: "podman", env: pm.env, socketPath: join(pm.dir, "api.sock"), what: "the test's podman", log: silentLogger() });
    rt = node.runtime;
  });

  after(async () => {
    await node?.stop();
    await pm?.cleanup();
  });

  /** A spec with defaults; the test removes the container when it ends. */
  function spec(t: TestContext, name: string, over: Partial<ContainerSpec> = {}): ContainerSpec {
    const full = `${RUN}-${name}`;
    t.after(() => rt.remove(full, true).catch(() => undefined));
    return { name: full, image: IMAGE, ports: [], volumes: [], labels: {}, cmd: ["sleep", "1000"], ...over };
  }

  async function waitForState(name: string, state: string, ms = 10_000): Promise<void> {
    const deadline = Date.now() + ms;
    while ((await rt.inspect(name)).state !== state) {
      if (Date.now() > deadline) throw new Error(`${name} did not reach ${state} within ${ms} ms`);
      await new Promise((r) => setTimeout(r, 100));
    }
  }

  async function collect(lines: AsyncIterable<LogLine>): Promise<LogLine[]> {
    const out: LogLine[] = [];
    for await (const l of lines) out.push(l);
    return out;
  }

  const logs = (name: string, opts: Partial<LogOptions> = {}, signal = new AbortController().signal) =>
    rt.logs(name, { follow: false, timestamps: false, ...opts }, signal);

  /** Command lines of live processes that mention `needle` (our unique container name). */
  function processesWith(needle: string): string[] {
    try {
      return execFileSync("pgrep", ["-af", needle], { encoding: "utf8" }).trim().split("\n").filter(Boolean);
    } catch {
      return []; // pgrep exits 1 when nothing matches
    }
  }

  async function waitFor(check: () => boolean, ms = 5000): Promise<void> {
    const deadline = Date.now() + ms;
    while (!check()) {
      if (Date.now() > deadline) throw new Error("condition not met in time");
      await new Promise((r) => setTimeout(r, 20));
    }
  }

  async function freePort(): Promise<number> {
    const srv = createServer();
    await new Promise<void>((r) => srv.listen(0, "127.0.0.1", r));
    const port = (srv.address() as { port: number }).port;
    await new Promise((r) => srv.close(r));
    return port;
  }

  test("version is podman's client version", async () => {
    assert.match(await rt.version(), /^\d+\.\d+\.\d+/);
  });

  test("run, then inspect: id, labels, ports, state, startedAt, version", async (t) => {
    const port = await freePort();
    const s = spec(t, "api", { labels: { "mcp.service": "svc", "mcp.component": "api" }, ports: [`127.0.0.1:${port}:8080`], restart: "unless-stopped" });
    const before = Date.now();
    const id = await rt.run(s);
    assert.match(id, /^[0-9a-f]{64}$/);
    const info = await rt.inspect(s.name);
    assert.equal(info.id, id);
    assert.equal(info.name, s.name);
    assert.equal(info.image, IMAGE);
    assert.equal(info.version, "v1.2.0");
    assert.equal(info.state, "running");
    assert.equal(info.exitCode, undefined);
    assert.deepEqual(info.labels, { "mcp.service": "svc", "mcp.component": "api" });
    assert.deepEqual(info.ports, [{ hostIp: "127.0.0.1", hostPort: port, containerPort: 8080, protocol: "tcp" }]);
    const started = Date.parse(info.startedAt ?? "");
    assert.ok(Math.abs(started - before) < 60_000, `startedAt ${info.startedAt} is near now`);
    // list() reads ps, a different JSON shape: it must agree with inspect (which alone knows restarts and the details).
    assert.equal(info.restartCount, 0);
    assert.deepEqual(info.details?.cmd, ["sleep", "1000"]);
    assert.equal(info.details?.restartPolicy, "unless-stopped");
    const [listed] = await rt.list({ "mcp.component": "api", "mcp.service": "svc" });
    const { restartCount: _restarts, startedAt: _a, details: _details, ...inspected } = info;
    const { startedAt: _b, ...fromPs } = listed!;
    assert.deepEqual(fromPs, inspected);
  });

  test("list returns only containers carrying every requested label, in any state", async (t) => {
    const svc = `${RUN}-list`;
    await rt.run(spec(t, "l-api", { labels: { "mcp.service": svc, "mcp.component": "api" } }));
    await rt.create(spec(t, "l-web", { labels: { "mcp.service": svc, "mcp.component": "web" } }));
    await rt.create(spec(t, "l-other", { labels: { "mcp.service": `${svc}-not` } }));
    await rt.create(spec(t, "l-none"));
    const names = async (labels: Record<string, string>) => (await rt.list(labels)).map((c) => c.name).sort();
    assert.deepEqual(await names({ "mcp.service": svc }), [`${RUN}-l-api`, `${RUN}-l-web`]);
    assert.deepEqual(await names({ "mcp.service": svc, "mcp.component": "web" }), [`${RUN}-l-web`]);
    assert.deepEqual(await names({ "mcp.service": svc, "mcp.component": "db" }), []);
    const all = await names({});
    for (const n of ["l-api", "l-web", "l-other", "l-none"]) assert.ok(all.includes(`${RUN}-${n}`), n);
    const states = Object.fromEntries((await rt.list({ "mcp.service": svc })).map((c) => [c.name, c.state]));
    assert.deepEqual(states, { [`${RUN}-l-api`]: "running", [`${RUN}-l-web`]: "created" });
  });

  test("create, start, stop, rename, remove", async (t) => {
    const s = spec(t, "life");
    const renamed = `${s.name}-old`;
    t.after(() => rt.remove(renamed, true).catch(() => undefined));
    const id = await rt.create(s);
    assert.equal((await rt.inspect(s.name)).state, "created");
    await rt.start(s.name);
    assert.equal((await rt.inspect(s.name)).state, "running");
    // sleep as PID 1 ignores SIGTERM: stop ends in SIGKILL after the timeout, exit 137.
    await rt.stop(s.name, 0);
    const stopped = await rt.inspect(s.name);
    assert.equal(stopped.state, "exited");
    assert.equal(stopped.exitCode, 137);
    await rt.stop(s.name, 0); // stopping a stopped container is not an error
    await rt.rename(s.name, renamed);
    assert.equal((await rt.inspect(renamed)).id, id);
    await assert.rejects(rt.inspect(s.name), NoSuchContainerError);
    await rt.start(renamed);
    await assert.rejects(rt.remove(renamed), /cannot remove container .* as it is running/);
    await rt.remove(renamed, true);
    await assert.rejects(rt.inspect(renamed), NoSuchContainerError);
  });

  test("--env-file reaches the container (read back through logs)", async (t) => {
    const envFile = join(pm.dir, "svc.env");
    writeFileSync(envFile, "FOO=hello world\nBAR=2\n");
    const s = spec(t, "env", { envFile, cmd: ["sh", "-c", 'echo "FOO=$FOO BAR=$BAR"'] });
    await rt.run(s);
    await waitForState(s.name, "exited");
    assert.deepEqual(await collect(logs(s.name)), [{ stream: "stdout", line: "FOO=hello world BAR=2" }]);
    assert.equal((await rt.inspect(s.name)).exitCode, 0);
  });

  test("logs: stdout and stderr marked, tail, timestamps", async (t) => {
    // conmon writes the log file per read from each pipe; the pauses fix the file order.
    const s = spec(t, "logs", { cmd: ["sh", "-c", "echo o1; sleep 0.1; echo e1 >&2; sleep 0.1; echo o2; sleep 0.1; echo e2 >&2; exit 3"] });
    await rt.run(s);
    await waitForState(s.name, "exited");
    const all = await collect(logs(s.name));
    // Two pipes: the order within a stream holds, across streams it need not.
    assert.deepEqual(
      all.filter((l) => l.stream === "stdout").map((l) => l.line),
      ["o1", "o2"],
    );
    assert.deepEqual(
      all.filter((l) => l.stream === "stderr").map((l) => l.line),
      ["e1", "e2"],
    );
    // --tail counts lines of both streams together.
    assert.deepEqual(await collect(logs(s.name, { tail: 1 })), [{ stream: "stderr", line: "e2" }]);
    const stamped = await collect(logs(s.name, { tail: 2, timestamps: true }));
    assert.deepEqual(stamped.map((l) => `${l.stream}:${l.line.replace(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z /, "")}`).sort(), ["stderr:e2", "stdout:o2"]);
    assert.equal((await rt.inspect(s.name)).exitCode, 3);
  });

  test("logs --follow: abort ends the stream and the podman logs process", async (t) => {
    const s = spec(t, "follow", { cmd: ["sh", "-c", "echo ready; i=0; while true; do echo tick$i; i=$((i+1)); sleep 0.2; done"] });
    await rt.run(s);
    const ac = new AbortController();
    const seen: string[] = [];
    for await (const l of rt.logs(s.name, { follow: true, timestamps: false }, ac.signal)) {
      seen.push(l.line);
      if (seen.length === 3) ac.abort();
    }
    assert.deepEqual(seen, ["ready", "tick0", "tick1"]);
    assert.deepEqual(processesWith(`logs --follow ${s.name}`), [], "no podman process per stream");
  });

  test("logs --follow: abort while waiting for output, and a consumer that breaks, leave no process", async (t) => {
    const s = spec(t, "quiet", { cmd: ["sh", "-c", "echo ready; exec sleep 1000"] });
    await rt.run(s);
    const ac = new AbortController();
    const seen: string[] = [];
    const started = Date.now();
    for await (const l of rt.logs(s.name, { follow: true, timestamps: false }, ac.signal)) {
      seen.push(l.line);
      setImmediate(() => ac.abort()); // after this turn's microtasks: the stream is back to waiting for output
    }
    assert.deepEqual(seen, ["ready"]);
    assert.ok(Date.now() - started < 5000);

    for await (const l of rt.logs(s.name, { follow: true, timestamps: false }, new AbortController().signal)) {
      assert.equal(l.line, "ready");
      break;
    }
    // The API call ended too: a later call on the same socket is answered at once.
    assert.equal((await rt.inspect(s.name)).state, "running");
  });

  test("logs of a missing container throw NoSuchContainerError before any line", async () => {
    const seen: LogLine[] = [];
    await assert.rejects(async () => {
      for await (const l of logs(`${RUN}-missing`, { follow: true })) seen.push(l);
    }, NoSuchContainerError);
    assert.deepEqual(seen, []);
  });

  test("events: create, start and died arrive for labelled containers only", async (t) => {
    const label = { "mcp.test": `${RUN}-events` };
    const ac = new AbortController();
    t.after(() => ac.abort());
    const events: RuntimeEvent[] = [];
    const stream = rt.events(label, ac.signal);
    const done = (async () => {
      for await (const e of stream) {
        events.push(e);
        if (e.action === "died") ac.abort();
      }
    })();
    // podman answers the subscription before it sends events: wait for the stream to be open.
    await new Promise((r) => setTimeout(r, 300));
    await rt.create(spec(t, "ev-other", { labels: { "mcp.test": "someone-else" }, cmd: ["sh", "-c", "exit 0"] }));
    const s = spec(t, "ev", { labels: { ...label, "mcp.service": "svc" }, cmd: ["sh", "-c", "exit 2"] });
    const id = await rt.run(s);
    await Promise.race([done, new Promise((_, rej) => setTimeout(() => rej(new Error(`no died event: ${JSON.stringify(events)}`)), 10_000))]);
    const actions = events.map((e) => e.action);
    assert.ok(actions.indexOf("create") < actions.indexOf("start") && actions.indexOf("start") < actions.indexOf("died"), actions.join(","));
    assert.ok(actions.indexOf("create") >= 0);
    for (const e of events) {
      assert.equal(e.containerName, s.name);
      assert.equal(e.containerId, id);
      assert.equal(e.image, IMAGE);
      assert.deepEqual(e.labels, { ...label, "mcp.service": "svc" });
      assert.ok(!Number.isNaN(Date.parse(e.time)), e.time);
    }
  });

  test("failures carry podman's stderr; missing containers are NoSuchContainerError", async (t) => {
    const err = await rt.run(spec(t, "noimg", { image: "nope-not-here:1" })).then(
      () => assert.fail("run of an unknown image succeeded"),
      (e: unknown) => e,
    );
    assert.ok(err instanceof ImageNotFoundError);
    assert.equal(err.message, "POST /containers/create failed (HTTP 500): nope-not-here:1: image not known");

    // The command does not exist in the image: no container is left holding the name.
    const nocmd = spec(t, "nocmd", { cmd: ["/bin/no-such-command"] });
    await assert.rejects(rt.run(nocmd), (e: unknown) => e instanceof RuntimeError && /executable file not found|no such file/.test(e.message));
    await assert.rejects(rt.inspect(nocmd.name), NoSuchContainerError);

    const missing = `${RUN}-missing`;
    await assert.rejects(rt.stop(missing), (e: unknown) => {
      assert.ok(e instanceof NoSuchContainerError);
      assert.equal(e.message, `POST /containers/${missing}/stop failed (HTTP 404): no container with name or ID "${missing}" found: no such container`);
      return true;
    });
    await assert.rejects(rt.start(missing), NoSuchContainerError);
    await assert.rejects(rt.remove(missing), NoSuchContainerError);
    await rt.remove(missing, true); // podman rm --force ignores a missing container
    await assert.rejects(rt.rename(missing, `${missing}-2`), NoSuchContainerError);
    await assert.rejects(rt.inspect(missing), NoSuchContainerError);
  });

  test("a podman binary that does not exist: every call says so, nothing hangs", async () => {
    const bad = podmanNode({ command: "/nonexistent/podman", socketPath: join(pm.dir, "bad.sock"), what: "the missing podman", log: silentLogger() });
    try {
      await assert.rejects(bad.runtime.stop("x"), (e: unknown) => {
        assert.ok(e instanceof RuntimeError && !(e instanceof NoSuchContainerError));
        assert.equal(e.message, "the missing podman: cannot run /nonexistent/podman: spawn /nonexistent/podman ENOENT");
        return true;
      });
      await assert.rejects(collect(bad.runtime.logs("x", { follow: true, timestamps: false }, new AbortController().signal)), /ENOENT/);
    } finally {
      await bad.stop();
    }
  });

  test("an operator's socket that is not there: the call names the socket", async () => {
    const external = podmanNode({ command: "podman", socketPath: join(pm.dir, "none.sock"), external: true, what: "podman at none.sock", log: silentLogger() });
    await assert.rejects(external.runtime.list(), /GET \/containers\/json failed: podman at none.sock is not running \(ENOENT\)/);
  });

  test("a socket path too long for a unix socket is refused before podman starts, naming the way out", async () => {
    const long = podmanNode({
      command: "podman",
      env: pm.env,
      socketPath: join(pm.dir, "d".repeat(120), "api.sock"),
      what: "the long podman",
      log: silentLogger(),
    });
    try {
      await assert.rejects(long.runtime.list(), /the long podman: the API socket path .* is longer than the 107 bytes .*set \[runtime\] socket/);
    } finally {
      await long.stop();
    }
  });

  test("the API service restarts after it is killed", async (t) => {
    const s = spec(t, "restart");
    await rt.run(s);
    const pid = Number(readFileSync(join(pm.dir, "api.sock.pid"), "utf8"));
    process.kill(pid, "SIGKILL");
    await waitFor(() => {
      try {
        process.kill(pid, 0);
        return false;
      } catch {
        return true;
      }
    });
    // The next call starts a new service (after the restart delay) and the container is still there.
    assert.equal((await rt.inspect(s.name)).state, "running");
    assert.notEqual(Number(readFileSync(join(pm.dir, "api.sock.pid"), "utf8")), pid);
  });

  test("an image built here runs; inspect gives its tag as the version", async (t) => {
    const ctx = join(pm.dir, "build-ctx");
    mkdirSync(ctx, { recursive: true });
    writeFileSync(join(ctx, "Containerfile"), `FROM ${IMAGE}\nRUN echo built > /msg\nCMD ["cat", "/msg"]\n`);
    const image = `localhost/${RUN}/built:v2`;
    await pm.podman(["build", "-t", image, "-f", "Containerfile", ctx]);
    const s = spec(t, "built", { image, cmd: [] });
    await rt.run(s);
    await waitForState(s.name, "exited");
    assert.deepEqual(await collect(logs(s.name)), [{ stream: "stdout", line: "built" }]);
    assert.equal((await rt.inspect(s.name)).version, "v2");
  });
});
