// What the SMEP placement test sets up beside the agent: the service users it may create,
// the gazette service, and stand-ins for mount(8), umount(8) and podman (the last records
// what a pull reads as its auth file from the agent's pipe) in a folder service users can
// read (root's temp folders are 0700).
import { execFileSync } from "node:child_process";
import { chmodSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import type { ServiceDefinition } from "../../proto/gen/mcp/agent/v1/agent_pb.ts";
import { existingUsers, removeServiceUser, type ServiceUserSpec } from "./host.ts";
import { initAgentHome, type AgentHome } from "./agent-process.ts";
import type { McrHome, McrProcess } from "./mcr-process.ts";
import type { PodmanEnv } from "./podman.ts";

// dynamicalsystem is sheet 1; gazette pinned to machine 42, environment test: UID 14210, ports 14210-14219.
export const UID = 14210;
export const USER = "gazette-test";

// Every user this test's deploys may create. Rootless ones open /dev/net/tun (slirp4netns).
export const SERVICE_USERS: (ServiceUserSpec & { rootless: boolean })[] = [
  { name: USER, uid: UID, rootless: true },
  { name: "holder-test", uid: 14310, rootless: true },
  { name: "ledger-dev", uid: 10720, rootless: true },
  { name: "nfsapp-prod", uid: 14400, rootless: true },
  { name: "rootfulapp-prod", uid: 14500, rootless: false },
];
export const SERVICES = ["gazette", "holder", "ledger", "nfsapp", "rootfulapp"];

/** The service most placement tests deploy: two components, l4 and l7 routes, pinned to machine 42, environment test. */
export const gazetteDefinition = (over: Partial<ServiceDefinition> = {}): Partial<ServiceDefinition> => ({
  name: "gazette",
  node: "node1",
  version: "v1",
  environment: "test",
  number: 42,
  components: [
    {
      name: "api",
      cmd: ["sh", "-c", "id > /srv/gazette/data/whoami; env | sort > /srv/gazette/data/env; exec busybox httpd -f -p $PORT_REST -h /srv/gazette/data"],
      routes: [
        { name: "rest", port: 8443, mode: "l4" },
        { name: "admin", port: 9443, mode: "l4" },
      ],
    },
    { name: "web", image: "", cmd: ["sh", "-c", "exec busybox httpd -f -p $PORT -h /srv/gazette/data"], routes: [{ port: 443, mode: "l7" }] },
  ] as ServiceDefinition["components"],
  ...over,
});

export interface PlacementTools {
  homes: string;
  mounts: string;
  mountLog: string;
  fakeMount: string;
  fakeUmount: string;
}

/** The folder of stand-ins (`<homes>/conf/containers.conf`, `fake-mount`, `fake-umount`, `units/`, `piped/`, `podman`). */
export function writePlacementTools(pm: PodmanEnv): PlacementTools {
  // The agent's podman config must be readable by service users: keep it outside root's 0700 temp dirs.
  const homes = mkdtempSync("/var/tmp/mcp-placement-");
  chmodSync(homes, 0o755);
  mkdirSync(join(homes, "conf"), { mode: 0o755 });
  writeFileSync(
    join(homes, "conf", "containers.conf"),
    readFileSync(join(pm.dir, "containers.conf"), "utf8")
      .replace(/events_logfile_path.*\n/, "")
      .replace(/tmp_dir.*\n/, ""),
  );
  chmodSync(join(homes, "conf", "containers.conf"), 0o644);
  const mounts = join(homes, "mnt");
  const mountLog = join(homes, "mount.log");
  // Stand-in for mount(8): records its arguments and provides the target folder, like a mounted export would.
  const fakeMount = join(homes, "fake-mount");
  writeFileSync(fakeMount, `#!/bin/sh\necho "mount $*" >> ${mountLog}\nfor last; do :; done\nmkdir -p "$last"\n`, { mode: 0o755 });
  const fakeUmount = join(homes, "fake-umount");
  writeFileSync(fakeUmount, `#!/bin/sh\necho "umount $*" >> ${mountLog}\n`, { mode: 0o755 });
  mkdirSync(join(homes, "units"));
  // Stand-in for podman that keeps what a pull reads as its auth file from stdin (the agent's
  // pipe), in a folder service users can add to but not list, then runs the real podman.
  mkdirSync(join(homes, "piped"), { mode: 0o1733 });
  chmodSync(join(homes, "piped"), 0o1733);
  const podman = execFileSync("sh", ["-c", "command -v podman"]).toString().trim();
  writeFileSync(
    join(homes, "podman"),
    `#!/bin/sh\ncase " $* " in *" --authfile /dev/stdin "*) f=$(mktemp ${join(homes, "piped")}/auth.XXXXXX); cat > "$f"; exec ${podman} "$@" < "$f" ;; esac\nexec ${podman} "$@"\n`,
    { mode: 0o755 },
  );
  return { homes, mounts, mountLog, fakeMount, fakeUmount };
}

/** busybox tagged and pushed to mcr as each of `repos` (the podman env is logged in to it). */
export async function pushImages(pm: PodmanEnv, mcr: McrProcess, repos: string[]): Promise<void> {
  for (const repo of repos) {
    await pm.podman(["tag", "localhost/placement/busybox:1", `${mcr.host}/${repo}`]);
    await pm.podman(["push", "--cert-dir", mcr.certDir, `${mcr.host}/${repo}`]);
  }
}

/** Removes the service users this run made, their homes under `<homes>/users`; what could not be removed. */
export async function removeServiceUsers(homes: string): Promise<string[]> {
  const problems: string[] = [];
  for (const u of existingUsers(SERVICE_USERS)) await removeServiceUser(u, join(homes, "users", u.name)).catch((err: Error) => problems.push(err.message));
  return problems;
}

/** The agent's home for the placement test: SMEP on sheet dynamicalsystem, rootless, with the stand-ins. */
export async function placementAgentHome(o: {
  mcr: McrProcess;
  mcrHome: McrHome;
  pm: PodmanEnv;
  tools: PlacementTools;
  registryUser: { username: string; password: string };
}): Promise<AgentHome> {
  const { homes, mounts, fakeMount, fakeUmount } = o.tools;
  const home = await initAgentHome({
    mcr: o.mcr,
    mcrHome: o.mcrHome,
    podmanDir: o.pm.dir,
    registryUser: o.registryUser,
    storageToml: `mount_root = "${mounts}"\nmount_command = "${fakeMount}"\numount_command = "${fakeUmount}"\nmount_units_dir = "${join(homes, "units")}"`,
    extraToml: `\n[placement]\nsheet = "dynamicalsystem"\nisolation = "rootless"\nhome_root = "${join(homes, "users")}"\n`,
  });
  // Service users must reach their storage root through the agent's test folder.
  chmodSync(home.dir, 0o755);
  chmodSync(home.storageRoot, 0o755);
  execFileSync("sed", ["-i", `s|^containers_conf = .*|containers_conf = "${join(homes, "conf", "containers.conf")}"|`, home.config]);
  writeFileSync(home.config, readFileSync(home.config, "utf8").replace(/^\[runtime\]$/m, `[runtime]\npodman = "${join(homes, "podman")}"`));
  return home;
}
