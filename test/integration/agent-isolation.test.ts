// Two platforms' agents on one host, as a user's `mcp up` agent and the tests' agents are:
// real mcp-agent processes with homes of their own and one podman storage between them, so
// that they really share podman's container names. Each runs a service `hello` under its
// own prefix and lists, streams, stops, reconciles and removes only its own; a third agent
// that wants the name another holds fails its deploy naming the holder, and leaves it be.
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { Code, ConnectError, type Client } from "@connectrpc/connect";
import { type AgentService, DeployPhase, type ServiceDefinition } from "../../proto/gen/mcp/agent/v1/agent_pb.ts";
import { agentClient, initAgentHome, removeAgentHome, startAgentProcess, type AgentHome, type AgentProcess } from "../helpers/agent-process.ts";
import { RegistryClient } from "../helpers/https-client.ts";
import { bearer, login } from "../helpers/identity.ts";
import { initHome, removeHome, startMcr, type McrHome, type McrProcess } from "../helpers/mcr-process.ts";
import { createPodmanEnv, type PodmanEnv } from "../helpers/podman.ts";
import { skipUnlessTools } from "../helpers/tools.ts";
import { until } from "../helpers/wait.ts";

const IMAGE = "localhost/agent-isolation/busybox:1";

interface Node {
  home: AgentHome;
  agent: AgentProcess;
  client: Client<typeof AgentService>;
}

describe("agents sharing one podman", { skip: skipUnlessTools("podman", "busybox", "runc") }, () => {
  let mcrHome: McrHome;
  let mcr: McrProcess;
  let pm: PodmanEnv;
  let admin: ReturnType<typeof bearer>;
  const nodes: Node[] = [];
  let a: Node;
  let b: Node;

  // No route, so no port; the image is in the shared storage already, so nothing is pulled.
  // The shell leaves on SIGTERM (within a second), so a stop need not wait for the kill.
  const hello = (version = "v1"): ServiceDefinition =>
    ({
      name: "hello",
      node: "node1",
      version,
      components: [{ name: "api", image: IMAGE, cmd: ["sh", "-c", `echo hello ${version}; trap "exit 0" TERM; while :; do sleep 1; done`] }],
    }) as unknown as ServiceDefinition;

  async function startNode(o: { containerPrefix?: string; node?: string } = {}): Promise<Node> {
    const home = await initAgentHome({ mcr, mcrHome, podmanDir: pm.dir, ...o });
    const agent = await startAgentProcess(home);
    const node = { home, agent, client: agentClient(agent.url, mcrHome.caPem) };
    nodes.push(node);
    return node;
  }

  async function deploy(n: Node, def = hello()): Promise<DeployPhase[]> {
    const phases: DeployPhase[] = [];
    for await (const p of n.client.deploy({ service: def.name, definition: def }, admin)) phases.push(p.phase);
    return phases;
  }

  /** What podman itself says of a container: its id, state and owner's labels. */
  async function inspect(name: string): Promise<{ id: string; state: string; agent: string; node: string }> {
    const [id, state, agent, node] = (
      await pm.podman(["inspect", "--format", '{{.Id}} {{.State.Status}} {{index .Config.Labels "mcp.agent"}} {{index .Config.Labels "mcp.node"}}', name])
    )
      .trim()
      .split(" ");
    return { id: id!, state: state!, agent: agent!, node: node! };
  }

  const listed = async (n: Node) => (await n.client.list({}, admin)).containers.map((c) => c.container).sort();

  before(async () => {
    mcrHome = await initHome();
    mcr = await startMcr(mcrHome, {}, { auth: true });
    admin = bearer(await login(new RegistryClient(mcr.url, mcrHome.caPem), "admin", mcrHome.adminPassword, "mcp-agent"));
    pm = createPodmanEnv();
    await pm.importBusybox(IMAGE);
    a = await startNode({ node: "node-a" });
    b = await startNode({ node: "node-b" });
  });

  after(async () => {
    for (const n of nodes) await n.agent.stop();
    await pm?.cleanup();
    await mcr?.stop();
    for (const n of nodes) removeAgentHome(n.home);
    if (mcrHome) removeHome(mcrHome);
  });

  test("both run hello under their own prefixes; each lists only its own", async () => {
    assert.notEqual(a.home.containerPrefix, b.home.containerPrefix);
    assert.equal((await deploy(a)).at(-1), DeployPhase.DONE);
    assert.equal((await deploy(b)).at(-1), DeployPhase.DONE);
    const [mineA, mineB] = [`${a.home.containerPrefix}hello-api`, `${b.home.containerPrefix}hello-api`];
    assert.deepEqual(await listed(a), [mineA]);
    assert.deepEqual(await listed(b), [mineB]);
    const [ia, ib] = [await inspect(mineA), await inspect(mineB)];
    assert.deepEqual([ia.state, ia.node, ib.state, ib.node], ["running", "node-a", "running", "node-b"]);
    assert.match(ia.agent, /^[0-9a-f]{12}$/);
    assert.notEqual(ia.agent, ib.agent);
  });

  test("Events: an agent streams only its own containers' events", async () => {
    const abort = new AbortController();
    const seen: string[] = [];
    const reading = (async () => {
      try {
        for await (const e of a.client.events({}, { ...admin, signal: abort.signal })) seen.push(`${e.container}:${e.action}`);
      } catch (err) {
        if (!abort.signal.aborted) throw err;
      }
    })();
    // b's restart comes first: had a's stream carried it, it would be in `seen` before a's own.
    await until(
      "a's stream to get its own start event",
      async () => {
        await b.client.restart({ service: "hello" }, admin);
        await a.client.restart({ service: "hello" }, admin);
        return seen.some((s) => s.endsWith(":start")) ? true : undefined;
      },
      20_000,
    );
    abort.abort();
    await reading;
    assert.deepEqual([...new Set(seen.map((s) => s.split(":")[0]))], [`${a.home.containerPrefix}hello-api`]);
  });

  test("one agent's Stop, reconciliation and Remove leave the other's container untouched", async () => {
    const theirs = `${b.home.containerPrefix}hello-api`;
    const before = await inspect(theirs);
    assert.deepEqual(
      (await a.client.stop({ service: "hello" }, admin)).components.map((c) => c.state),
      ["exited"],
    );
    assert.equal((await inspect(theirs)).state, "running");

    // b's container stopped behind b's back while b is down: a's reconciler must leave it so.
    await b.agent.stop();
    await pm.podman(["stop", "--time", "0", theirs]);
    await a.client.start({ service: "hello" }, admin);
    await a.agent.nextPass();
    await a.agent.nextPass();
    assert.equal((await inspect(theirs)).state, "exited");
    assert.deepEqual((await a.client.status({ service: "hello" }, admin)).unknownContainers, []);
    // b, back, restarts its own (unless-stopped).
    b.agent = await startAgentProcess(b.home);
    b.client = agentClient(b.agent.url, mcrHome.caPem);
    await until("b's reconciler to restart its container", async () => ((await inspect(theirs)).state === "running" ? true : undefined), 20_000);

    assert.deepEqual((await a.client.remove({ service: "hello" }, admin)).removedContainers, [`${a.home.containerPrefix}hello-api`]);
    assert.deepEqual(await listed(a), []);
    assert.deepEqual(await listed(b), [theirs]);
    const afterwards = await inspect(theirs);
    assert.deepEqual([afterwards.id, afterwards.state], [before.id, "running"]);
  });

  test("an agent that wants a name another agent holds fails, naming the holder, and leaves the container be", async () => {
    // c gives its containers b's prefix, as two agents with no prefix on one podman would share names.
    const c = await startNode({ containerPrefix: b.home.containerPrefix, node: "node-c" });
    const theirs = `${b.home.containerPrefix}hello-api`;
    const before = await inspect(theirs);
    const holder = `container ${theirs} is held by agent ${before.agent} (node node-b), not by this agent`;
    await assert.rejects(
      deploy(c, hello("v2")),
      (e: unknown) =>
        e instanceof ConnectError &&
        e.code === Code.FailedPrecondition &&
        e.rawMessage.startsWith(`deploy of hello failed at api: ${holder}`) &&
        /; not replaced;/.test(e.rawMessage),
    );
    assert.deepEqual(await listed(c), []);

    await c.client.sync({ services: [hello()] }, admin);
    const refused = (what: string) => (e: unknown) =>
      e instanceof ConnectError && e.code === Code.FailedPrecondition && e.rawMessage.startsWith(holder) && e.rawMessage.includes(what);
    await assert.rejects(c.client.start({ service: "hello" }, admin), refused("; not started"));
    await assert.rejects(
      (async () => {
        for await (const _ of c.client.logs({ service: "hello", tail: 5 }, admin)) void _;
      })(),
      refused("; its logs are not shown"),
    );
    assert.deepEqual((await c.client.remove({ service: "hello" }, admin)).removedContainers, []);

    const afterwards = await inspect(theirs);
    assert.deepEqual([afterwards.id, afterwards.state, afterwards.agent], [before.id, "running", before.agent]);
    assert.deepEqual(await listed(b), [theirs]);
  });
});
