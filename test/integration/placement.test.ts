// SMEP placement end to end: the agent places a service-environment by sheet,
// machine number and environment, creates its user, runs it under that user's
// rootless podman, gives it its storage root, XDG links and ports; NFS mounts go
// through the configured mount program (a stand-in here: this kernel has no NFS
// client; test/agent/nfs-kernel.test.ts tries the real one).
// The machine is left as found: the service users must not exist beforehand and are
// removed afterwards, /dev/net/tun is opened to their UIDs only by an ACL that is
// restored, and only processes the test started are ended (test/helpers/host.ts).
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { chmodSync, existsSync, lstatSync, mkdirSync, readdirSync, readFileSync, readlinkSync, rmSync, statSync, writeFileSync } from "node:fs";
import { createServer, type Server } from "node:net";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { Code, ConnectError, type Client } from "@connectrpc/connect";
import { type AgentService, DeployPhase, type DeployResponse, type ServiceDefinition } from "../../proto/gen/mcp/agent/v1/agent_pb.ts";
import { agentClient, startAgentProcess, type AgentHome, type AgentProcess } from "../helpers/agent-process.ts";
import { RegistryClient } from "../helpers/https-client.ts";
import { addAccount, bearer, login } from "../helpers/identity.ts";
import { initHome, removeHome, startMcr, type McrHome, type McrProcess } from "../helpers/mcr-process.ts";
import { createPodmanEnv, type PodmanEnv } from "../helpers/podman.ts";
import { gazetteDefinition as gazette, placementAgentHome, pushImages, removeServiceUsers } from "../helpers/placement-fixture.ts";
import { SERVICE_USERS, SERVICES, UID, USER, writePlacementTools } from "../helpers/placement-fixture.ts";
import { claimServiceUsers, grantTun } from "../helpers/host.ts";
import { skipUnlessRoot, skipUnlessTools } from "../helpers/tools.ts";
import { httpGet, until } from "../helpers/wait.ts";

describe("SMEP placement with real podman", {
  skip: skipUnlessRoot() || skipUnlessTools("podman", "busybox", "runc", "runuser", "useradd", "userdel", "slirp4netns", "setfacl", "getfacl"),
}, () => {
  let mcrHome: McrHome;
  let mcr: McrProcess;
  let pm: PodmanEnv;
  let home: AgentHome;
  let agent: AgentProcess;
  let client: Client<typeof AgentService>;
  let admin: ReturnType<typeof bearer>;
  let homes: string;
  let mounts: string;
  let mountLog: string;
  let restoreTun: (() => void) | undefined;

  async function deploy(def: Partial<ServiceDefinition>): Promise<DeployResponse[]> {
    const out: DeployResponse[] = [];
    for await (const p of client.deploy({ service: def.name!, definition: def as ServiceDefinition }, admin)) out.push(p);
    return out;
  }

  before(async () => {
    await claimServiceUsers(SERVICE_USERS, "/var/tmp/mcp-placement-");
    restoreTun = grantTun(SERVICE_USERS.filter((u) => u.rootless).map((u) => u.uid));
    mcrHome = await initHome();
    const agentPassword = await addAccount(mcrHome, "agent-node1", "human", ["user"]);
    mcr = await startMcr(mcrHome, {}, { auth: true });
    admin = bearer(await login(new RegistryClient(mcr.url, mcrHome.caPem), "admin", mcrHome.adminPassword, "mcp-agent"));
    pm = createPodmanEnv();
    await pm.importBusybox("localhost/placement/busybox:1");
    execFileSync("podman", ["login", "--cert-dir", mcr.certDir, "-u", "admin", "--password-stdin", mcr.host], { env: pm.env, input: mcrHome.adminPassword });
    await pushImages(pm, mcr, ["gazette:v1", "gazette-web:v1"]);

    const tools = writePlacementTools(pm);
    ({ homes, mounts, mountLog } = tools);
    home = await placementAgentHome({ mcr, mcrHome, pm, tools, registryUser: { username: "agent-node1", password: agentPassword } });
    agent = await startAgentProcess(home);
    client = agentClient(agent.url, mcrHome.caPem);
  });

  after(async () => {
    // Their containers first (idempotent; a test that failed half-way may have left some).
    if (client) for (const service of SERVICES) await client.remove({ service }, admin).catch(() => undefined);
    await agent?.stop();
    await pm?.cleanup(); // rootful containers run in the agent's podman
    // claimServiceUsers held in before (restoreTun is set after it): every one of these was created by this run.
    const problems = restoreTun ? await removeServiceUsers(homes) : [];
    restoreTun?.();
    await mcr?.stop();
    if (mcrHome) removeHome(mcrHome);
    if (home) rmSync(home.dir, { recursive: true, force: true });
    // Kept when a user could not be removed: its processes may still use its home there.
    if (homes && problems.length === 0) rmSync(homes, { recursive: true, force: true });
    assert.deepEqual(problems, [], `service users left on this machine (their homes are in ${homes})`);
  });

  test("deploy places gazette-test at UID 14210 with ports 14210-14219, as its own rootless user", async () => {
    const progress = await deploy(gazette());
    assert.equal(progress.at(-1)!.message, "gazette v1 deployed");

    const passwd = readFileSync("/etc/passwd", "utf8")
      .split("\n")
      .find((l) => l.startsWith(`${USER}:`))!;
    assert.equal(passwd.split(":")[2], String(UID));
    assert.equal(passwd.split(":")[3], String(UID));
    assert.equal(passwd.split(":")[5], join(homes, "users", USER));

    const status = await client.status({ service: "gazette" }, admin);
    const p = status.placement!;
    assert.deepEqual(
      [p.sheet, p.sheetNumber, p.machineNumber, p.environment, p.uid, p.user, p.isolation],
      ["dynamicalsystem", 1, 42, "test", UID, USER, "rootless"],
    );
    assert.deepEqual(
      p.ports,
      Array.from({ length: 10 }, (_, i) => UID + i),
    );
    assert.equal(p.storageRoot, join(home.storageRoot, USER));
    assert.deepEqual(
      status.components.map((c) => c.ports.map((x) => [x.route, x.hostPort])),
      [
        [
          ["rest", 14210],
          ["admin", 14211],
        ],
        [["default", 14212]],
      ],
    );

    // The containers run in the service user's podman, not the agent's.
    const userPs = execFileSync("runuser", [
      "-u",
      USER,
      "--",
      "env",
      "-i",
      `HOME=${join(homes, "users", USER)}`,
      `XDG_RUNTIME_DIR=/run/user/${UID}`,
      "PATH=/usr/bin:/bin",
      "podman",
      "ps",
      "--format",
      "{{.Names}}",
    ]).toString();
    assert.deepEqual(userPs.trim().split("\n").sort(), [`${home.containerPrefix}gazette-api`, `${home.containerPrefix}gazette-web`]);
    assert.equal((await pm.podman(["ps", "-a", "--format", "{{.Names}}"])).includes(`${home.containerPrefix}gazette-api`), false);
  });

  test("files the container writes belong to the SMEP UID; $PORT_* and TIN_* are visible inside", async () => {
    const data = join(home.storageRoot, USER, "data");
    await until("the container to write its files", async () => (existsSync(join(data, "env")) ? true : undefined));
    assert.equal(statSync(join(data, "whoami")).uid, UID);
    const env = readFileSync(join(data, "env"), "utf8");
    for (const line of [
      "PORT_REST=14210",
      "PORT_ADMIN=14211",
      "TIN_SERVICE_UID=14210",
      "TIN_PORT_0=14210",
      "TIN_PORT_9=14219",
      "TIN_SHEET=dynamicalsystem",
      "TIN_SERVICE_ENVIRONMENT=test",
    ]) {
      assert.ok(env.includes(`${line}\n`), `${line} in the container's environment`);
    }
    assert.equal(/XDG_(DATA|CONFIG|STATE)_HOME/.test(env), false);
    for (const d of ["state", "data", "config", "service"]) {
      const st = statSync(join(home.storageRoot, USER, d));
      assert.equal(st.uid, UID, `${d} owned by the service`);
      assert.equal(st.mode & 0o777, 0o750);
    }
    // Ports published on the computed numbers.
    assert.match(await until("api on 14210", () => httpGet(14210, "/whoami")), /^uid=0 gid=0/);
    assert.match(await until("web on 14212", () => httpGet(14212, "/whoami")), /^uid=0 gid=0/);
  });

  test("XDG links in the service user's home point at the storage root, and are repaired when wrong", async () => {
    const userHome = join(homes, "users", USER);
    const root = join(home.storageRoot, USER);
    const links = { ".local/state": "state", ".local/share": "data", ".config": "config" };
    for (const [base, dir] of Object.entries(links)) assert.equal(readlinkSync(join(userHome, base, "dynamicalsystem", "@gazette")), join(root, dir));
    // The user's podman storage is in its local home, not in the service's storage.
    assert.ok(existsSync(join(userHome, ".local", "share", "containers", "storage")));
    execFileSync("ln", ["-sfn", "/tmp", join(userHome, ".config", "dynamicalsystem", "@gazette")]);
    await deploy(gazette());
    assert.equal(readlinkSync(join(userHome, ".config", "dynamicalsystem", "@gazette")), join(root, "config"));
  });

  test("a service that swaps its storage folders or an XDG parent for a link to a root folder gets a refused deploy, not the folder", async () => {
    const userHome = join(homes, "users", USER);
    const root = join(home.storageRoot, USER);
    const victim = join(homes, "victim");
    mkdirSync(victim, { mode: 0o755 });
    chmodSync(victim, 0o755);
    const asService = (...args: string[]) =>
      execFileSync("runuser", ["-u", USER, "--", "env", "-i", `HOME=${userHome}`, `XDG_RUNTIME_DIR=/run/user/${UID}`, "PATH=/usr/bin:/bin", ...args], {
        stdio: "pipe",
      });
    const refused = async (link: string) => {
      await assert.rejects(
        deploy(gazette()),
        (e: unknown) =>
          e instanceof ConnectError && e.rawMessage.includes(`${link} is a symbolic link to ${victim}`) && /refusing to follow it/.test(e.rawMessage),
      );
      const st = statSync(victim);
      assert.deepEqual([st.uid, st.gid, st.mode & 0o7777], [0, 0, 0o755], `${victim} keeps its owner and mode`);
    };
    // From inside the container (its root is the service's UID): each storage folder in turn.
    for (const d of ["state", "data", "config", "service"]) {
      asService(
        "podman",
        "exec",
        `${home.containerPrefix}gazette-api`,
        "sh",
        "-c",
        `mv /srv/gazette/${d} /srv/gazette/${d}.moved && ln -s ${victim} /srv/gazette/${d}`,
      );
      await refused(join(root, d));
      asService("podman", "exec", `${home.containerPrefix}gazette-api`, "sh", "-c", `rm /srv/gazette/${d} && mv /srv/gazette/${d}.moved /srv/gazette/${d}`);
    }
    // As the service user: a parent of an XDG link.
    const parent = join(userHome, ".config", "dynamicalsystem");
    asService("mv", parent, `${parent}.moved`);
    asService("ln", "-s", victim, parent);
    await refused(parent);
    asService("rm", parent);
    asService("mv", `${parent}.moved`, parent);
    assert.equal((await deploy(gazette())).at(-1)!.phase, DeployPhase.DONE, "once the links are gone, deploys work again");
  });

  test("the agent's registry login never lands in the service user's home", async () => {
    const userHome = join(homes, "users", USER);
    const found = execFileSync("find", [userHome, "-path", join(userHome, ".local", "share", "containers"), "-prune", "-o", "-type", "f", "-print"])
      .toString()
      .trim()
      .split("\n");
    assert.ok(found.length > 0);
    assert.equal(
      found.some((f) => /auth\.json$/.test(f)),
      false,
      `no auth file among ${found.join(", ")}`,
    );
    const agentPassword = readFileSync(join(home.dir, "registry.password"), "utf8").trim();
    const encoded = Buffer.from(`agent-node1:${agentPassword}`).toString("base64");
    for (const f of found) {
      const text = readFileSync(f, "utf8");
      assert.equal(text.includes(agentPassword) || text.includes(encoded), false, `${f} holds the agent's registry login`);
    }
  });

  test("what the agent pipes to the service user's podman is a pull token of one repository, never its login", async () => {
    const piped = readdirSync(join(homes, "piped")).map((f) => readFileSync(join(homes, "piped", f), "utf8"));
    assert.ok(piped.length >= 2, "gazette and gazette-web were pulled by the service user's podman");
    const agentPassword = readFileSync(join(home.dir, "registry.password"), "utf8").trim();
    const registry = new RegistryClient(mcr.url, mcrHome.caPem);
    try {
      for (const auth of piped) {
        assert.equal(
          auth.includes(agentPassword) || auth.includes(Buffer.from(`agent-node1:${agentPassword}`).toString("base64")),
          false,
          "the password is never piped",
        );
        const [user, token] = Buffer.from(JSON.parse(auth).auths[mcr.host].auth, "base64").toString().split(":");
        assert.equal(user, "agent-node1");
        assert.match(token!, /^mcr-pull-/);
        // Whether it has expired by now or not, it lists no catalog.
        assert.ok([401, 403].includes((await registry.request("GET", "/v2/_catalog", bearer(token!))).status));
      }
      const events = (
        await registry.request("GET", "/v1/audit?event_type=pull_token_issued", bearer(await login(registry, "admin", mcrHome.adminPassword, "mcr")))
      ).json<{ repository: string }[]>();
      assert.deepEqual([...new Set(events.map((e) => e.repository))].sort(), ["gazette", "gazette-web"]);
    } finally {
      registry.close();
    }
  });

  test("a port held by another process is a clear deploy error naming it; the node is unchanged", async () => {
    const blocker: Server = createServer();
    await new Promise<void>((r) => blocker.listen(14313, "127.0.0.1", r)); // holder-test: machine 43, environment test → ports 14310-14319; route d is the fourth
    try {
      await assert.rejects(
        deploy({
          name: "holder",
          node: "node1",
          version: "v1",
          number: 43,
          environment: "test",
          components: [
            {
              name: "api",
              image: `${mcr.host}/gazette:v1`,
              cmd: ["sleep", "3600"],
              routes: [
                { name: "a", port: 1, mode: "l4" },
                { name: "b", port: 2, mode: "l4" },
                { name: "c", port: 3, mode: "l4" },
                { name: "d", port: 4, mode: "l4" },
              ],
            },
          ] as never,
        }),
        (e: unknown) =>
          e instanceof ConnectError &&
          new RegExp(`port 14313 for ${home.containerPrefix}holder-api route d is already in use by node \\(pid \\d+\\)`).test(e.message),
      );
    } finally {
      blocker.close();
    }
    await assert.rejects(client.status({ service: "holder" }, admin), (e: unknown) => e instanceof ConnectError && e.code === Code.NotFound);
  });

  test("Sync ships the console's machine registry; a service without a pinned number takes its number from it", async () => {
    const def = { name: "ledger", node: "node1", version: "v1", environment: "dev", components: [{ name: "api", image: `${mcr.host}/gazette:v1` }] } as never;
    const res = await client.sync({ services: [def], machineRegistry: { gazette: 42, ledger: 7 } }, admin);
    assert.deepEqual(
      res.results.map((r) => [r.service, r.outcome]),
      [["ledger", "created"]],
    );
    const p = (await client.status({ service: "ledger" }, admin)).placement!;
    assert.deepEqual([p.machineNumber, p.uid, p.user], [7, 10720, "ledger-dev"]);
    await assert.rejects(
      client.sync({ services: [], machineRegistry: { a: 3, b: 3 } }, admin),
      (e: unknown) => e instanceof ConnectError && e.code === Code.InvalidArgument && /already a's/.test(e.message),
    );
    // A Sync refused for a bad definition stores nothing, not even its machine registry.
    const bad = { ...(def as object), name: "ledger2", environment: "nowhere" } as never;
    await assert.rejects(
      client.sync({ services: [bad], machineRegistry: { gazette: 42, ledger: 9 } }, admin),
      (e: unknown) => e instanceof ConnectError && e.code === Code.InvalidArgument,
    );
    assert.equal((await client.status({ service: "ledger" }, admin)).placement!.machineNumber, 7, "the registry of the refused Sync was not stored");
  });

  test("bad placements are refused before anything happens", async () => {
    await assert.rejects(
      deploy(gazette({ environment: "production" })),
      (e: unknown) => e instanceof ConnectError && e.code === Code.InvalidArgument && /not one of prod, test/.test(e.message),
    );
    await assert.rejects(
      deploy(gazette({ number: 100 })),
      (e: unknown) => e instanceof ConnectError && /number: must be an integer from 1 to 99/.test(e.message),
    );
    // 12 ports across two components (one component may declare at most 10 routes anyway).
    const many = gazette();
    const routes = (from: number) => Array.from({ length: 6 }, (_, i) => ({ name: `r${from + i}`, port: 1000 + from + i, mode: "l4", hostname: "" })) as never;
    many.components![0]!.routes = routes(0);
    many.components![1]!.routes = routes(6);
    await assert.rejects(deploy(many), (e: unknown) => e instanceof ConnectError && /has 10 ports/.test(e.message));
  });

  test("NFS: the export is mounted through the mount program with NFSv4 options, a .mount unit is written, and it is unmounted on remove", async () => {
    const def = {
      name: "nfsapp",
      node: "node1",
      version: "v1",
      number: 44,
      environment: "prod",
      nfsExport: "nas.example:/volume1/dynamicalsystem/nfsapp/prod",
      nfsOptions: "noatime",
      components: [{ name: "api", image: `${mcr.host}/gazette:v1`, cmd: ["sh", "-c", "touch /srv/nfsapp/state/alive; exec sleep 3600"] }],
    } as never;
    await deploy(def);
    const log = readFileSync(mountLog, "utf8");
    assert.match(
      log,
      new RegExp(
        `mount -t nfs4 -o nfsvers=4.2,hard,timeo=600,retrans=2,noatime nas.example:/volume1/dynamicalsystem/nfsapp/prod ${join(mounts, "nfsapp-prod")}`,
      ),
    );
    const unit = readFileSync(join(homes, "units", `${join(mounts, "nfsapp-prod").slice(1).replace(/-/g, "\\x2d").replace(/\//g, "-")}.mount`), "utf8");
    assert.match(unit, /What=nas.example:\/volume1\/dynamicalsystem\/nfsapp\/prod/);
    assert.match(unit, new RegExp(`Where=${join(mounts, "nfsapp-prod")}`));
    await until("the container to write to its NFS storage", async () => (existsSync(join(mounts, "nfsapp-prod", "state", "alive")) ? true : undefined));
    assert.equal(statSync(join(mounts, "nfsapp-prod", "state", "alive")).uid, 14400);
    await client.remove({ service: "nfsapp" }, admin);
    assert.match(readFileSync(mountLog, "utf8"), new RegExp(`umount ${join(mounts, "nfsapp-prod")}`));
    assert.equal(lstatSync(join(homes, "users", "nfsapp-prod", ".config", "dynamicalsystem"), { throwIfNoEntry: false })?.isDirectory(), true);
    assert.equal(existsSync(join(homes, "users", "nfsapp-prod", ".config", "dynamicalsystem", "@nfsapp")), false, "XDG links removed on remove");
  });

  test("rootful isolation: the agent's own podman runs the container as the SMEP UID", async () => {
    await agent.stop();
    writeFileSync(home.config, readFileSync(home.config, "utf8").replace('isolation = "rootless"', 'isolation = "rootful"'));
    const rootful = await startAgentProcess(home);
    try {
      const c = agentClient(rootful.url, mcrHome.caPem);
      const def = {
        name: "rootfulapp",
        node: "node1",
        version: "v1",
        number: 45,
        components: [{ name: "api", image: `${mcr.host}/gazette:v1`, cmd: ["sh", "-c", "id > /srv/rootfulapp/data/whoami; exec sleep 3600"] }],
      } as never;
      for await (const _ of c.deploy({ service: "rootfulapp", definition: def }, admin)) void _;
      const status = await c.status({ service: "rootfulapp" }, admin);
      assert.equal(status.placement!.isolation, "rootful");
      assert.equal(status.placement!.uid, 14500);
      const file = join(home.storageRoot, "rootfulapp-prod", "data", "whoami");
      await until("the container to write", async () => (existsSync(file) ? true : undefined));
      assert.match(readFileSync(file, "utf8"), /^uid=14500 gid=14500/);
      assert.equal(statSync(file).uid, 14500);
      assert.ok((await pm.podman(["ps", "--format", "{{.Names}}"])).includes(`${home.containerPrefix}rootfulapp-api`), "in the agent's podman");
    } finally {
      await agentClient(rootful.url, mcrHome.caPem)
        .remove({ service: "rootfulapp" }, admin)
        .catch(() => undefined);
      await rootful.stop();
      writeFileSync(home.config, readFileSync(home.config, "utf8").replace('isolation = "rootful"', 'isolation = "rootless"'));
      agent = await startAgentProcess(home);
      client = agentClient(agent.url, mcrHome.caPem);
    }
  });
});
