// A container steering the agent through links in its volumes, against the real agent and
// podman: a volume through a link is refused at deploy (nothing is made outside), and a
// volume or SMEP storage folder swapped for a link after the deploy is refused at the next
// Start, Restart, and at the reconciler's restart and repair, instead of being mounted.
// The agent runs without authentication and without a registry (the image is local).
// The SMEP part creates one service user of its own and removes it (test/helpers/host.ts).
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { chmodSync, existsSync, lstatSync, mkdirSync, mkdtempSync, readFileSync, renameSync, rmSync, symlinkSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { after, before, describe, test } from "node:test";
import { Code, ConnectError, type Client } from "@connectrpc/connect";
import type { AgentService, ServiceDefinition } from "../../proto/gen/mcp/agent/v1/agent_pb.ts";
import { AGENT_BIN, agentClient, startAgentProcess, type AgentProcess } from "../helpers/agent-process.ts";
import { createPodmanEnv, type PodmanEnv } from "../helpers/podman.ts";
import { claimServiceUsers, existingUsers, removeServiceUser } from "../helpers/host.ts";
import { skipUnlessRoot, skipUnlessTools } from "../helpers/tools.ts";
import { until } from "../helpers/wait.ts";

const run = promisify(execFile);
const IMAGE = "localhost/volume-links/busybox:1";

interface Node {
  dir: string;
  storageRoot: string;
  agent: AgentProcess;
  client: Client<typeof AgentService>;
}

/** An agent home of its own (`mcp-agent init`), its storage root in `parent`, and the running agent. */
async function startNode(parent: string, pm: PodmanEnv, env: NodeJS.ProcessEnv = {}): Promise<Node> {
  const dir = join(parent, "agent");
  await run(AGENT_BIN, ["init", "--dir", dir, "--ca-dir", join(parent, "ca"), "--listen", "127.0.0.1:0", "--node", "node1"]);
  const storageRoot = join(parent, "srv");
  mkdirSync(storageRoot, { mode: 0o755 });
  const agent = await startAgentProcess(
    { dir, config: join(dir, "mcp-agent.toml"), storageRoot, containerPrefix: "" }, // a podman of the test's own
    {
      MCP_AGENT_AUTH_DISABLED: "true",
      MCP_AGENT_STORAGE_ROOT: storageRoot,
      MCP_AGENT_RUNTIME_CONTAINERS_CONF: join(pm.dir, "containers.conf"),
      MCP_AGENT_RUNTIME_STORAGE_CONF: join(pm.dir, "storage.conf"),
      MCP_AGENT_RUNTIME_RECONCILE_INTERVAL: "1s",
      MCP_AGENT_RUNTIME_STOP_TIMEOUT: "1", // sleep as PID 1 ignores SIGTERM
      ...env,
    },
  );
  return { dir, storageRoot, agent, client: agentClient(agent.url, readFileSync(join(dir, "certs", "ca.pem"), "utf8")) };
}

async function deploy(client: Client<typeof AgentService>, def: Partial<ServiceDefinition>): Promise<void> {
  for await (const _ of client.deploy({ service: def.name!, definition: def as ServiceDefinition })) void _;
}

const refusal = (volume: string, link: string, target: string) => (e: unknown) =>
  e instanceof ConnectError &&
  e.code === Code.FailedPrecondition &&
  e.rawMessage.includes(`volume ${volume} of `) &&
  e.rawMessage.includes(`${link} is a symbolic link to ${target}`);

describe("volumes through links, with the agent's own podman", { skip: skipUnlessTools("podman", "busybox", "runc") }, () => {
  let tmp: string;
  let pm: PodmanEnv;
  let node: Node;
  let outside: string;
  let root: string;

  const links = (volumes: string[]): Partial<ServiceDefinition> => ({
    name: "links",
    node: "node1",
    version: "v1",
    components: [{ name: "api", image: IMAGE, volumes, cmd: ["sh", "-c", "echo up; exec sleep 3600"] }] as ServiceDefinition["components"],
  });
  const state = async () => (await pm.podman(["inspect", "--format", "{{.State.Status}}", "links-api"])).trim();

  before(async () => {
    tmp = mkdtempSync(join(tmpdir(), "volume-links-"));
    pm = createPodmanEnv();
    await pm.importBusybox(IMAGE);
    node = await startNode(tmp, pm);
    root = join(node.storageRoot, "links");
    outside = join(tmp, "outside");
    mkdirSync(outside);
  });
  after(async () => {
    await node?.client.remove({ service: "links" }).catch(() => undefined);
    await node?.agent.stop();
    await pm?.cleanup();
    rmSync(tmp, { recursive: true, force: true });
  });

  test("a volume below a link planted in the storage root is refused at deploy, naming both; nothing is made outside", async () => {
    mkdirSync(root, { recursive: true });
    symlinkSync(outside, join(root, "link"));
    const volume = `${root}/link/sub:/x`;
    await assert.rejects(deploy(node.client, links([volume])), refusal(volume, join(root, "link"), outside));
    assert.equal(existsSync(join(outside, "sub")), false, "sub was not created outside the allowed roots");
    assert.equal((await pm.podman(["ps", "-a", "--format", "{{.Names}}"])).includes("links-api"), false, "no container was made");
    rmSync(join(root, "link"));
  });

  test("a volume the container swaps for a link after the deploy is refused at Start and Restart; the container stays stopped", async () => {
    const volume = `${root}/data:/data`;
    await deploy(node.client, links([`${root}:/srv/links`, volume]));
    assert.equal(await state(), "running");
    // Root in the container is root on the host: it replaces the folder it mounts with a link.
    await pm.podman(["exec", "links-api", "sh", "-c", `mv /srv/links/data /srv/links/data.moved && busybox ln -s ${outside} /srv/links/data`]);
    assert.ok(lstatSync(join(root, "data")).isSymbolicLink());

    await node.client.stop({ service: "links" });
    await assert.rejects(node.client.start({ service: "links" }), refusal(volume, join(root, "data"), outside));
    await assert.rejects(node.client.restart({ service: "links" }), refusal(volume, join(root, "data"), outside));
    assert.equal(await state(), "exited");
    const status = await node.client.status({ service: "links" });
    assert.equal(status.components[0]!.desiredState, "stopped");
    assert.ok(status.recentEvents.some((e) => e.kind === "start_refused" && e.message.includes(join(root, "data"))));
  });

  test("the reconciler neither restarts nor recreates a container whose volume became a link; once it is gone, it repairs", async () => {
    const volume = `${root}/data:/data`;
    rmSync(join(root, "data"));
    renameSync(join(root, "data.moved"), join(root, "data"));
    await deploy(node.client, links([`${root}:/srv/links`, volume]));
    await pm.podman(["exec", "links-api", "sh", "-c", `mv /srv/links/data /srv/links/data.moved && busybox ln -s ${outside} /srv/links/data`]);
    await pm.podman(["stop", "--time", "0", "links-api"]); // behind the agent's back; unless-stopped asks for a restart
    await node.agent.nextPass();
    await node.agent.nextPass();
    assert.equal(await state(), "exited");
    assert.match(node.agent.logs(), /"kind":"unsafe_mount".*"msg":"drift"/);
    const events = (await node.client.status({ service: "links" })).recentEvents;
    assert.ok(
      events.some(
        (e) => e.kind === "drift_unsafe_mount" && /links-api is stopped and was not started: volume /.test(e.message) && e.message.includes(join(root, "data")),
      ),
      JSON.stringify(events),
    );

    await pm.podman(["rm", "--force", "--time", "0", "links-api"]);
    await until("a refused repair", async () =>
      (await node.client.status({ service: "links" })).recentEvents.some((e) => /links-api is missing and was not recreated/.test(e.message))
        ? true
        : undefined,
    );
    assert.equal((await pm.podman(["ps", "-a", "--format", "{{.Names}}"])).includes("links-api"), false);
    assert.equal(existsSync(join(outside, "data")), false);

    rmSync(join(root, "data"));
    renameSync(join(root, "data.moved"), join(root, "data"));
    await until("the repair once the link is gone", async () => ((await state().catch(() => "")) === "running" ? true : undefined));
  });
});

const USER = { name: "rflinks-prod", uid: 14600 }; // sheet dynamicalsystem (S=1), machine 46, prod

describe("SMEP storage folders swapped for links, rootful", {
  skip: skipUnlessRoot() || skipUnlessTools("podman", "busybox", "runc", "useradd", "userdel", "setpriv"),
}, () => {
  let tmp: string;
  let pm: PodmanEnv;
  let node: Node;
  let storage: string;
  let outside: string;
  let created = false;

  before(async () => {
    await claimServiceUsers([USER], "/var/tmp/volume-links-");
    created = true;
    // The service user must reach its storage root: not below root's 0700 temp folders.
    tmp = mkdtempSync("/var/tmp/volume-links-");
    chmodSync(tmp, 0o755);
    pm = createPodmanEnv();
    await pm.importBusybox(IMAGE);
    node = await startNode(tmp, pm, {
      MCP_AGENT_PLACEMENT_SHEET: "dynamicalsystem",
      MCP_AGENT_PLACEMENT_ISOLATION: "rootful",
      MCP_AGENT_PLACEMENT_HOME_ROOT: join(tmp, "users"),
    });
    storage = join(node.storageRoot, USER.name);
    outside = join(tmp, "outside");
    mkdirSync(outside);
  });
  after(async () => {
    await node?.client.remove({ service: "rflinks" }).catch(() => undefined);
    await node?.agent.stop();
    await pm?.cleanup();
    const problems: string[] = [];
    if (created)
      for (const u of existingUsers([USER])) await removeServiceUser(u, join(tmp, "users", u.name)).catch((err: Error) => problems.push(err.message));
    if (tmp && problems.length === 0) rmSync(tmp, { recursive: true, force: true });
    assert.deepEqual(problems, []);
  });

  test("<root>/data mounted by a rootful container, then swapped for a link: Restart and Start refuse; so does a storage folder no volume names", async () => {
    const volume = `${storage}/data:/data`;
    const def = {
      name: "rflinks",
      node: "node1",
      version: "v1",
      number: 46,
      components: [{ name: "api", image: IMAGE, volumes: [volume], cmd: ["sh", "-c", "ls / > /data/seen; exec sleep 3600"] }],
    } as Partial<ServiceDefinition>;
    await deploy(node.client, def);
    assert.equal((await node.client.status({ service: "rflinks" })).placement!.uid, USER.uid);

    renameSync(join(storage, "data"), join(storage, "data.moved"));
    symlinkSync(outside, join(storage, "data"));
    await assert.rejects(
      node.client.restart({ service: "rflinks" }),
      (e: unknown) =>
        e instanceof ConnectError && e.code === Code.FailedPrecondition && e.rawMessage.includes(`${join(storage, "data")} is a symbolic link to ${outside}`),
    );
    assert.equal((await pm.podman(["inspect", "--format", "{{.State.Status}}", "rflinks-api"])).trim(), "exited");
    assert.equal(existsSync(join(outside, "seen")), false, "the container never ran on the linked folder");

    rmSync(join(storage, "data"));
    renameSync(join(storage, "data.moved"), join(storage, "data"));
    renameSync(join(storage, "state"), join(storage, "state.moved"));
    symlinkSync(outside, join(storage, "state"));
    await assert.rejects(
      node.client.start({ service: "rflinks" }),
      (e: unknown) =>
        e instanceof ConnectError &&
        e.code === Code.FailedPrecondition &&
        e.rawMessage.startsWith(`storage of rflinks-api: ${join(storage, "state")} is a symbolic link to ${outside}`),
    );

    rmSync(join(storage, "state"));
    renameSync(join(storage, "state.moved"), join(storage, "state"));
    await node.client.start({ service: "rflinks" });
    assert.equal((await pm.podman(["inspect", "--format", "{{.State.Status}}", "rflinks-api"])).trim(), "running");
  });
});
