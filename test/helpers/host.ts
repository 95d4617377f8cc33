// Host changes that root-only integration tests need, made narrowly and undone exactly:
// - service users are the test's own: any that exists beforehand is refused (the test
//   would take it over and delete it), unless it is recognisably what a killed earlier run
//   of the same test left behind, and only those the test created are removed, after
//   removing their rootless podman's containers and ending its pause process by its PID
//   file; anything else still running as them is reported, never killed by user name;
// - /dev/net/tun gets an ACL entry for exactly the UIDs that need it, and its saved ACL is
//   restored afterwards: the device's mode is never loosened.
import { execFileSync } from "node:child_process";
import { existsSync, readFileSync, readdirSync, rmSync } from "node:fs";

export interface ServiceUserSpec {
  name: string;
  uid: number;
}

const TUN = "/dev/net/tun";

function passwd(): string[][] {
  return readFileSync("/etc/passwd", "utf8")
    .split("\n")
    .filter(Boolean)
    .map((l) => l.split(":"));
}

function groupExists(name: string): boolean {
  return readFileSync("/etc/group", "utf8")
    .split("\n")
    .some((l) => l.startsWith(`${name}:`));
}

/** Which of `users` exist (by name or UID) right now. */
export function existingUsers(users: ServiceUserSpec[]): ServiceUserSpec[] {
  const entries = passwd();
  return users.filter((u) => entries.some((e) => e[0] === u.name || Number(e[2]) === u.uid) || groupExists(u.name));
}

/**
 * Removes what a killed earlier run of the same test left behind (a run cut off mid-test, say
 * by a machine restart, never reaches its `after`): a user counts as such only when its passwd
 * entry is exactly what the agent makes for this test (same name and UID, the agent's comment,
 * a home in a `<tmpPrefix>XXXXXX/users/` folder); that folder goes with it. Anything else that
 * merely shares a name or UID is left for assertUsersAbsent to refuse. Returns what it removed.
 */
async function reclaimLeftoverUsers(users: ServiceUserSpec[], tmpPrefix: string): Promise<string[]> {
  const removed: string[] = [];
  for (const e of passwd()) {
    const u = users.find((x) => x.name === e[0] && x.uid === Number(e[2]));
    const home = e[5] ?? "";
    const folder = home.slice(0, home.lastIndexOf("/users/"));
    const ours = e[4] === `Metacircular service ${e[0]}` && folder.startsWith(tmpPrefix) && !folder.slice(tmpPrefix.length).includes("/");
    if (!u || !ours) continue;
    await removeServiceUser(u, home);
    rmSync(folder, { recursive: true, force: true });
    removed.push(`${u.name} (home ${home})`);
  }
  return removed;
}

/** Before a test creates `users` (homes under `<tmpPrefix>XXXXXX/users/`): reclaims an earlier run's leftovers, then asserts the rest absent. */
export async function claimServiceUsers(users: ServiceUserSpec[], tmpPrefix: string): Promise<void> {
  const removed = await reclaimLeftoverUsers(users, tmpPrefix);
  if (removed.length > 0) console.error(`# removed what an interrupted earlier run left: ${removed.join(", ")}`);
  assertUsersAbsent(users);
}

/** Throws when any of `users` (or a user holding its UID, or its group) already exists. */
export function assertUsersAbsent(users: ServiceUserSpec[]): void {
  const found = existingUsers(users);
  if (found.length === 0) return;
  const names = found.map((u) => `${u.name} (UID ${u.uid})`).join(", ");
  throw new Error(
    `${names} already exist on this machine; this test creates and deletes them, so it will not run over them (if an earlier run left them: userdel -r NAME)`,
  );
}

/** Gives `uids` read-write access to /dev/net/tun; returns the undo, which restores the ACL as it was. */
export function grantTun(uids: number[]): () => void {
  const saved = execFileSync("getfacl", ["--absolute-names", TUN]).toString();
  execFileSync("setfacl", ["-m", uids.map((u) => `u:${u}:rw`).join(","), TUN]);
  return () => execFileSync("setfacl", ["--restore=-"], { input: saved });
}

function uidOf(pid: number): number | undefined {
  try {
    const m = /^Uid:\s+(\d+)/m.exec(readFileSync(`/proc/${pid}/status`, "utf8"));
    return m ? Number(m[1]) : undefined;
  } catch {
    return undefined; // gone
  }
}

function processesOf(uid: number): { pid: number; cmd: string }[] {
  const out = [];
  for (const name of readdirSync("/proc")) {
    const pid = Number(name);
    if (!Number.isInteger(pid) || uidOf(pid) !== uid) continue;
    let cmd = "";
    try {
      cmd = readFileSync(`/proc/${pid}/cmdline`, "utf8").replace(/\0/g, " ").trim();
    } catch {
      continue;
    }
    out.push({ pid, cmd: cmd || "(exited, not yet reaped)" });
  }
  return out;
}

async function waitUntil(ok: () => boolean, ms: number): Promise<boolean> {
  const end = Date.now() + ms;
  while (!ok()) {
    if (Date.now() > end) return false;
    await new Promise((r) => setTimeout(r, 50));
  }
  return true;
}

/**
 * Removes a service user the test created: removes its rootless podman's containers, ends
 * that podman's pause process (named by its PID file, checked to be that user's), then deletes
 * the user, its group, home and runtime folder. Throws, naming them, if other processes of
 * the user still run.
 */
export async function removeServiceUser(u: ServiceUserSpec, home: string): Promise<void> {
  const runtimeDir = `/run/user/${u.uid}`;
  const pidFile = `${runtimeDir}/libpod/tmp/pause.pid`;
  if (existsSync(pidFile)) {
    // Containers the agent could not remove (a test failed half-way): all of them are the test's.
    execFileSync(
      "runuser",
      [
        "-u",
        u.name,
        "--",
        "env",
        "-i",
        `HOME=${home}`,
        `XDG_RUNTIME_DIR=${runtimeDir}`,
        "PATH=/usr/bin:/bin",
        "podman",
        "rm",
        "--all",
        "--force",
        "--time",
        "0",
      ],
      { stdio: "pipe" },
    );
    const pid = Number(readFileSync(pidFile, "utf8").trim());
    if (Number.isInteger(pid) && pid > 1 && uidOf(pid) === u.uid) {
      process.kill(pid, "SIGTERM");
      if (!(await waitUntil(() => uidOf(pid) !== u.uid, 5000))) process.kill(pid, "SIGKILL");
    }
  }
  // conmon, slirp4netns and rootlessport end with their containers; give them (and the reaping
  // of what has exited, which this machine's init does lazily) a moment.
  if (!(await waitUntil(() => processesOf(u.uid).length === 0, 15_000))) {
    const left = processesOf(u.uid);
    throw new Error(`${u.name} still runs ${left.map((p) => `${p.pid} (${p.cmd.slice(0, 120)})`).join(", ")}; not deleting it`);
  }
  execFileSync("userdel", ["-r", u.name], { stdio: "pipe" });
  if (groupExists(u.name)) execFileSync("groupdel", [u.name], { stdio: "pipe" });
  rmSync(runtimeDir, { recursive: true, force: true });
}
