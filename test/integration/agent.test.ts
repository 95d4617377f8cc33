// mcp-agent end to end: real mcr (images, identity), real agent process, real podman.
// A busybox service with two components and routes is deployed, served on its
// ports, streamed, stopped and started, broken behind the agent's back and
// repaired, re-adopted after an agent restart, and removed.
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { after, before, describe, test } from "node:test";
import { Code, ConnectError, type Client } from "@connectrpc/connect";
import { type AgentService, DeployPhase, LogStream, type DeployResponse, type ServiceDefinition } from "../../proto/gen/mcp/agent/v1/agent_pb.ts";
import { agentClient, initAgentHome, removeAgentHome, startAgentProcess, type AgentHome, type AgentProcess } from "../helpers/agent-process.ts";
import { RegistryClient } from "../helpers/https-client.ts";
import { addAccount, bearer, login } from "../helpers/identity.ts";
import { initHome, removeHome, startMcr, type McrHome, type McrProcess } from "../helpers/mcr-process.ts";
import { createPodmanEnv, type PodmanEnv } from "../helpers/podman.ts";
import { skipUnlessTools } from "../helpers/tools.ts";
import { httpGet, sleep, until } from "../helpers/wait.ts";

describe("mcp-agent with real podman", { skip: skipUnlessTools("podman", "busybox", "runc") }, () => {
  let mcrHome: McrHome;
  let mcr: McrProcess;
  let pm: PodmanEnv;
  let home: AgentHome;
  let agent: AgentProcess;
  let client: Client<typeof AgentService>;
  let admin: ReturnType<typeof bearer>;
  /** The route ports the first deploy was given (from the home's own range). */
  let restPort: number;
  let webPort: number;
  /** A component's container: the test home's prefix before `shop-<component>`. */
  const named = (component: string) => `${home.containerPrefix}shop-${component}`;

  const shop = (over: { cmd?: string[]; version?: string; image?: string } = {}): Partial<ServiceDefinition> => ({
    name: "shop",
    node: "node1",
    version: over.version ?? "v1",
    components: [
      {
        name: "api",
        image: over.image ?? "",
        cmd: over.cmd ?? ["sh", "-c", "echo api listening on $PORT_REST; echo to-stderr >&2; exec busybox httpd -f -p $PORT_REST -h /srv/shop"],
        routes: [
          { name: "rest", port: 8443, mode: "l4" },
          { name: "admin", port: 9443, mode: "l4" },
        ],
      },
      { name: "web", cmd: ["sh", "-c", "echo web on $PORT; exec busybox httpd -f -p $PORT -h /srv/shop"], routes: [{ port: 443, mode: "l7" }] },
    ] as ServiceDefinition["components"],
  });

  /** How many `pattern` processes the agent itself runs (its podman children), not the whole machine's. */
  const agentChildren = (pattern: string) =>
    Number(
      execFileSync("sh", ["-c", `pgrep -c -P ${agent.child.pid} -f '${pattern}' || true`])
        .toString()
        .trim(),
    );

  async function deploy(def: Partial<ServiceDefinition>): Promise<DeployResponse[]> {
    const out: DeployResponse[] = [];
    for await (const p of client.deploy({ service: def.name!, definition: def as ServiceDefinition }, admin)) out.push(p);
    return out;
  }

  before(async () => {
    mcrHome = await initHome();
    const agentPassword = await addAccount(mcrHome, "agent-node1", "human", ["user"]);
    await addAccount(mcrHome, "viewer", "human", ["user"]);
    await addAccount(mcrHome, "visitor", "human", ["guest"]);
    mcr = await startMcr(mcrHome, {}, { auth: true });
    const adminToken = await login(new RegistryClient(mcr.url, mcrHome.caPem), "admin", mcrHome.adminPassword, "mcp-agent");
    admin = bearer(adminToken);

    // Images: busybox pushed to mcr under the convention-derived names.
    pm = createPodmanEnv();
    await pm.importBusybox("localhost/agent-test/busybox:1");
    execFileSync("sh", ["-c", `echo hello-from-shop > ${pm.dir}/index.html`]);
    const login2 = execFileSync("podman", ["login", "--cert-dir", mcr.certDir, "-u", "admin", "--password-stdin", mcr.host], {
      env: pm.env,
      input: mcrHome.adminPassword,
    });
    assert.ok(login2);
    for (const repo of ["shop:v1", "shop-web:v1", "shop:v2"]) {
      await pm.podman(["tag", "localhost/agent-test/busybox:1", `${mcr.host}/${repo}`]);
      await pm.podman(["push", "--cert-dir", mcr.certDir, `${mcr.host}/${repo}`]);
      await pm.podman(["rmi", `${mcr.host}/${repo}`]);
    }

    home = await initAgentHome({ mcr, mcrHome, podmanDir: pm.dir, registryUser: { username: "agent-node1", password: agentPassword } });
    agent = await startAgentProcess(home);
    client = agentClient(agent.url, mcrHome.caPem);
  });

  after(async () => {
    await agent?.stop();
    await pm?.cleanup();
    await mcr?.stop();
    if (mcrHome) removeHome(mcrHome);
    if (home) removeAgentHome(home);
  });

  test("Health is public; everything else needs a token and the right role", async () => {
    const h = await client.health({});
    assert.equal(h.status, "ok");
    assert.equal(h.node, "node1");
    assert.match(h.podmanVersion, /^4\./);
    await assert.rejects(client.list({}), (e: unknown) => e instanceof ConnectError && e.code === Code.Unauthenticated);
    await assert.rejects(client.list({}, bearer("not-a-token")), (e: unknown) => e instanceof ConnectError && e.code === Code.Unauthenticated);
    // The admin's token for the registry does not drive the node: tokens carry their service.
    const registryToken = await login(new RegistryClient(mcr.url, mcrHome.caPem), "admin", mcrHome.adminPassword, "mcr");
    await assert.rejects(
      client.remove({ service: "shop" }, bearer(registryToken)),
      (e: unknown) => e instanceof ConnectError && e.code === Code.Unauthenticated && /issued for mcr, not mcp-agent/.test(e.rawMessage),
    );
  });

  test("deploy streams progress; the service answers on its assigned ports with $PORT_* set", async () => {
    const progress = await deploy(shop());
    const phases = (c: string) => progress.filter((p) => p.component === c).map((p) => p.phase);
    assert.deepEqual(phases("api"), [DeployPhase.PULLING, DeployPhase.CREATING, DeployPhase.STARTING, DeployPhase.RUNNING]);
    assert.deepEqual(phases("web"), [DeployPhase.PULLING, DeployPhase.CREATING, DeployPhase.STARTING, DeployPhase.RUNNING]);
    assert.equal(progress.at(-1)!.phase, DeployPhase.DONE);
    assert.equal(progress[0]!.image, `${mcr.host}/shop:v1`);

    const list = await client.list({}, admin);
    const api = list.containers.find((c) => c.container === named("api"))!;
    assert.equal(api.state, "running");
    assert.equal(api.version, "v1");
    assert.deepEqual(
      api.ports.map((p) => p.route),
      ["rest", "admin"],
    );
    const web = list.containers.find((c) => c.container === named("web"))!;
    assert.deepEqual(
      web.ports.map((p) => p.route),
      ["default"],
    );
    [restPort, webPort] = [api.ports[0]!.hostPort, web.ports[0]!.hostPort];
    assert.equal(new Set([restPort, api.ports[1]!.hostPort, webPort]).size, 3, "a port of its own for each route");

    execFileSync("sh", ["-c", `cp ${pm.dir}/index.html ${home.storageRoot}/shop/index.html`]);
    assert.equal((await until(`httpd on ${restPort}`, () => httpGet(restPort))).trim(), "hello-from-shop");
    assert.equal((await until(`httpd on ${webPort}`, () => httpGet(webPort))).trim(), "hello-from-shop");
  });

  test("deploying the same definition again changes nothing", async () => {
    const before = (await client.list({}, admin)).containers.map((c) => c.startedAt).sort();
    const progress = await deploy(shop());
    assert.deepEqual(
      progress.filter((p) => p.component).map((p) => p.phase),
      [DeployPhase.UNCHANGED, DeployPhase.UNCHANGED],
    );
    assert.deepEqual((await client.list({}, admin)).containers.map((c) => c.startedAt).sort(), before);
  });

  test("logs: tail, stdout/stderr marked, and a live follow through podman's API (no podman process) that ends when the client goes away", async () => {
    const lines = [];
    for await (const l of client.logs({ service: "shop", component: "api", tail: 10 }, admin)) lines.push(l);
    assert.ok(lines.some((l) => l.stream === LogStream.STDOUT && l.line === `api listening on ${restPort}`));
    assert.ok(lines.some((l) => l.stream === LogStream.STDERR && l.line === "to-stderr"));

    const abort = new AbortController();
    const seen: string[] = [];
    const reading = (async () => {
      try {
        for await (const l of client.logs({ service: "shop", component: "web", follow: true, timestamps: true }, { ...admin, signal: abort.signal }))
          seen.push(l.line);
      } catch (err) {
        if (!abort.signal.aborted) throw err; // only the test's own abort ends the follow quietly
      }
    })();
    await until("the first followed line", async () => (seen.length > 0 ? true : undefined));
    assert.match(seen[0]!, new RegExp(`^\\d{4}-\\d\\d-\\d\\dT.* web on ${webPort}$`));
    assert.equal(agentChildren("podman logs"), 0, "a follow is an API stream, not a podman process");
    abort.abort();
    await reading;
    // The follow is over, and the next one starts from the container's current log.
    const again: string[] = [];
    for await (const l of client.logs({ service: "shop", component: "web", tail: 1 }, admin)) again.push(l.line);
    assert.equal(again.length, 1);
  });

  test("stop, start, restart; Status shows desired vs observed", async () => {
    const stopped = await client.stop({ service: "shop", component: "web" }, admin);
    assert.deepEqual(
      stopped.components.map((c) => [c.component, c.state]),
      [["web", "exited"]],
    );
    let status = await client.status({ service: "shop" }, admin);
    const web = status.components.find((c) => c.component === "web")!;
    assert.equal(web.desiredState, "stopped");
    assert.equal(web.observedState, "exited");
    assert.equal(web.drift, "");
    // No [proxy] or [dns] in this agent's config: nothing is published, and Status says so.
    assert.deepEqual([status.proxy?.configured, status.dns?.configured, status.routes, status.dnsRecords], [false, false, [], []]);
    assert.match(status.proxy!.message, /no \[proxy\] section/);
    await agent.nextPass(); // a reconcile pass must not restart a component stopped on purpose
    assert.equal((await client.status({ service: "shop" }, admin)).components.find((c) => c.component === "web")!.observedState, "exited");
    assert.deepEqual(
      (await client.start({ service: "shop" }, admin)).components.map((c) => c.state),
      ["running", "running"],
    );
    const started = (await client.list({}, admin)).containers.find((c) => c.container === named("api"))!.startedAt;
    await client.restart({ service: "shop", component: "api" }, admin);
    status = await client.status({ service: "shop" }, admin);
    assert.notEqual(status.components.find((c) => c.component === "api")!.startedAt, started);
    assert.ok(status.recentEvents.some((e) => e.kind === "stopped") && status.recentEvents.some((e) => e.kind === "started"));
    await assert.rejects(client.stop({ service: "nope" }, admin), (e: unknown) => e instanceof ConnectError && e.code === Code.NotFound);
  });

  test("reconciliation repairs containers removed or stopped behind the agent's back", async () => {
    await pm.podman(["rm", "-f", named("web")]);
    // The agent may repair api before podman's stop has cleaned up after it (its drift watch acts
    // on the died event at once): podman then says the container is running again.
    await pm.podman(["stop", "-t", "1", named("api")]).catch((e: Error) => {
      if (!/running or paused, refusing to clean up/.test(e.message)) throw e;
    });
    await until("shop-web recreated and shop-api restarted", async () => {
      const s = await client.status({ service: "shop" }, admin);
      return s.components.every((c) => c.observedState === "running") ? s : undefined;
    });
    const s = await client.status({ service: "shop" }, admin);
    assert.ok(s.recentEvents.some((e) => e.kind === "drift_missing" && e.component === "web"));
    assert.ok(s.recentEvents.some((e) => e.kind === "drift_stopped" && e.component === "api"));
    assert.equal((await until("web serving again", () => httpGet(webPort))).trim(), "hello-from-shop");
  });

  test("List answers from its kept listing only until podman's events say something changed behind the agent's back", async () => {
    const stateOf = async () => (await client.list({}, admin)).containers.find((c) => c.container === named("api"))!.state;
    assert.equal(await stateOf(), "running");
    assert.equal(await stateOf(), "running", "a second List, nothing changed");
    // A pause is no drift (the agent does nothing about it): only its event ends the kept
    // listing, and the new state shows within a few polls, not at the cache's 30 s age limit.
    await pm.podman(["pause", named("api")]);
    try {
      await until("List shows api paused", async () => ((await stateOf()) === "paused" ? true : undefined), 5000, 100);
    } finally {
      await pm.podman(["unpause", named("api")]);
    }
    await until("List shows api running again", async () => ((await stateOf()) === "running" ? true : undefined), 5000, 100);
  });

  test("a restarted agent re-adopts running containers without restarting them", async () => {
    const before = (await client.list({}, admin)).containers.map((c) => `${c.container}@${c.startedAt}`).sort();
    // An open log follow ends with the shutdown instead of holding the drain for shutdown_timeout (30 s).
    let following!: () => void;
    const firstLine = new Promise<void>((resolve) => (following = resolve));
    const follow = (async () => {
      for await (const _ of client.logs({ service: "shop", component: "api", follow: true, tail: 1 }, admin)) following();
    })().then(
      () => assert.fail("a follow cut by a shutdown must fail (Unavailable) so that the client follows again"),
      (e: unknown) => assert.ok(e instanceof ConnectError && e.code === Code.Unavailable, String(e)),
    );
    await firstLine;
    const t0 = Date.now();
    assert.equal(await agent.stop("SIGTERM"), 0);
    assert.ok(Date.now() - t0 < 10_000, `the agent took ${Date.now() - t0} ms to stop with a follow open`);
    await follow;
    agent = await startAgentProcess(home);
    client = agentClient(agent.url, mcrHome.caPem);
    await agent.nextPass(); // a full reconcile pass of the new agent
    const after = (await client.list({}, admin)).containers.map((c) => `${c.container}@${c.startedAt}`).sort();
    assert.deepEqual(after, before);
  });

  test("a deploy whose new container dies keeps the previous one running and says why", async () => {
    const apiBefore = (await client.list({}, admin)).containers.find((c) => c.container === named("api"))!;
    const seen: DeployResponse[] = [];
    await assert.rejects(
      (async () => {
        for await (const p of client.deploy(
          { service: "shop", definition: shop({ version: "v2", cmd: ["sh", "-c", "echo bad config >&2; exit 3"] }) as ServiceDefinition },
          admin,
        ))
          seen.push(p);
      })(),
      (e: unknown) =>
        e instanceof ConnectError && e.code === Code.Aborted && /(exit code 3|kept crashing).*bad config.*previous container was started again/.test(e.message),
    );
    assert.equal(seen.at(-1)!.phase, DeployPhase.FAILED);
    const apiAfter = (await client.list({}, admin)).containers.find((c) => c.container === named("api"))!;
    assert.equal(apiAfter.state, "running");
    assert.equal(apiAfter.image, apiBefore.image);
    assert.equal((await until("api serving", () => httpGet(restPort))).trim(), "hello-from-shop");
    // Put the good definition back.
    await deploy(shop());
  });

  test("bad definitions get clear errors and leave the node unchanged", async () => {
    const before = (await client.list({}, admin)).containers.map((c) => `${c.container}@${c.startedAt}`).sort();
    const refuse = async (def: Partial<ServiceDefinition>, code: Code, re: RegExp) =>
      assert.rejects(deploy(def), (e: unknown) => e instanceof ConnectError && e.code === code && re.test(e.message));
    await refuse({ ...shop(), name: "Bad Name" }, Code.InvalidArgument, /not a valid name/);
    const dup = shop();
    dup.components![1]!.routes = [{ name: "", port: 8443, mode: "l4", hostname: "" } as never];
    await refuse(dup, Code.InvalidArgument, /duplicate route shop:8443/);
    const vol = shop();
    vol.components![0]!.volumes = ["/etc:/host-etc"];
    await refuse(vol, Code.InvalidArgument, /outside the allowed roots/);
    const rel = shop();
    rel.components![0]!.volumes = ["../x:/x"];
    await refuse(rel, Code.InvalidArgument, /must be absolute/);
    await refuse(
      { name: "ghost", node: "node1", version: "v1", components: [{ name: "api", image: `${mcr.host}/ghost` }] as never },
      Code.Aborted,
      /podman pull .*ghost:v1 failed.*name unknown/i,
    );
    const after = (await client.list({}, admin)).containers.map((c) => `${c.container}@${c.startedAt}`).sort();
    assert.deepEqual(after, before);
    // Nothing was stored either: shop still has its good definition, ghost is unknown.
    assert.deepEqual(
      (await client.status({ service: "shop" }, admin)).components.map((c) => c.drift),
      ["", ""],
    );
    await assert.rejects(client.status({ service: "ghost" }, admin), (e: unknown) => e instanceof ConnectError && e.code === Code.NotFound);
  });

  test("users may read but not change the node (no rule lets them); guests may do neither", async () => {
    const rc = new RegistryClient(mcr.url, mcrHome.caPem);
    // viewer and visitor were created with generated passwords; reset them to known ones.
    const pw = async (user: string) => {
      const child = (await import("node:child_process")).execFileSync("bin/mcr", ["account", "passwd", user, "--stdin", "--config", mcrHome.config], {
        input: `${user}-password-long`,
      });
      void child;
      return login(rc, user, `${user}-password-long`, "mcp-agent");
    };
    const viewer = bearer(await pw("viewer"));
    const visitor = bearer(await pw("visitor"));
    assert.ok((await client.list({}, viewer)).containers.length >= 2);
    assert.equal((await client.status({ service: "shop" }, viewer)).service, "shop");
    await assert.rejects(
      client.stop({ service: "shop" }, viewer),
      (e: unknown) =>
        e instanceof ConnectError &&
        e.code === Code.PermissionDenied &&
        /viewer may not deploy to service shop: no policy rule allows agent:deploy/.test(e.message),
    );
    await assert.rejects(client.list({}, visitor), (e: unknown) => e instanceof ConnectError && e.code === Code.PermissionDenied);
  });

  test("Events streams lifecycle events of managed containers", async () => {
    const abort = new AbortController();
    const seen: string[] = [];
    const reading = (async () => {
      try {
        for await (const e of client.events({ service: "shop" }, { ...admin, signal: abort.signal })) seen.push(`${e.component}:${e.action}`);
      } catch (err) {
        if (!abort.signal.aborted) throw err; // only the test's own abort ends the stream quietly
      }
    })();
    // The stream covers what happens once the agent has taken it (the call returns no headers
    // before its first event): restart until a start shows up.
    await until(
      "start event of web",
      async () => {
        await client.restart({ service: "shop", component: "web" }, admin);
        await sleep(1000);
        return seen.includes("web:start") ? true : undefined;
      },
      20_000,
      0,
    );
    assert.equal(agentChildren("podman events"), 0, "events come from podman's API, not a podman process");
    abort.abort();
    await reading;
    assert.ok(seen.some((s) => s.startsWith("web:") && /died|stop/.test(s)));
    assert.ok(seen.every((s) => s.startsWith("web:") || s.startsWith("api:")));
  });

  test("remove stops and deletes every container and forgets the service", async () => {
    const res = await client.remove({ service: "shop" }, admin);
    assert.deepEqual(res.removedContainers.sort(), [named("api"), named("web")]);
    assert.deepEqual((await client.list({}, admin)).containers, []);
    await assert.rejects(client.status({ service: "shop" }, admin), (e: unknown) => e instanceof ConnectError && e.code === Code.NotFound);
  });
});
