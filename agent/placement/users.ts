// Per-service users (docs/smep.md): `<service>-<env>` with UID = GID = the SMEP
// UID, a home on local disk (their rootless podman storage lives there, never on
// NFS) and a subordinate UID range, plus /run/user/<uid> for XDG_RUNTIME_DIR.
import { mkdirSync, readFileSync } from "node:fs";
import { basename, dirname, join } from "node:path";
import type { Placement } from "../../lib/smep/smep.ts";
import { ensureServiceDirs } from "./safe-fs.ts";
import { runHost } from "./system.ts";

export interface ServiceUser {
  name: string;
  uid: number;
  home: string;
  runtimeDir: string;
}

export class UserError extends Error {
  override name = "UserError";
}

function passwdEntry(name: string): { uid: number; gid: number; home: string } | undefined {
  for (const line of readFileSync("/etc/passwd", "utf8").split("\n")) {
    const f = line.split(":");
    if (f[0] === name) return { uid: Number(f[2]), gid: Number(f[3]), home: f[5]! };
  }
  return undefined;
}

function groupGid(name: string): number | undefined {
  for (const line of readFileSync("/etc/group", "utf8").split("\n")) {
    const f = line.split(":");
    if (f[0] === name) return Number(f[2]);
  }
  return undefined;
}

function uidOwner(uid: number): string | undefined {
  for (const line of readFileSync("/etc/passwd", "utf8").split("\n")) {
    const f = line.split(":");
    if (f.length > 2 && Number(f[2]) === uid) return f[0];
  }
  return undefined;
}

function hasSubordinateRange(name: string, file: string): boolean {
  try {
    return readFileSync(file, "utf8")
      .split("\n")
      .some((l) => l.startsWith(`${name}:`));
  } catch {
    return false;
  }
}

/** Creates (or checks) the service user; idempotent. */
export async function ensureServiceUser(p: Placement, homeRoot: string): Promise<ServiceUser> {
  const name = p.user;
  const home = join(homeRoot, name);
  const existing = passwdEntry(name);
  if (existing) {
    if (existing.uid !== p.uid) throw new UserError(`user ${name} exists with UID ${existing.uid}, but SMEP places it at ${p.uid}; fix or remove the user`);
  } else {
    const holder = uidOwner(p.uid);
    if (holder) throw new UserError(`UID ${p.uid} for ${name} already belongs to user ${holder}`);
    const gid = groupGid(name);
    if (gid === undefined) await runHost("groupadd", ["--gid", String(p.uid), name]);
    else if (gid !== p.uid) throw new UserError(`group ${name} exists with GID ${gid}, but SMEP needs ${p.uid}`);
    mkdirSync(homeRoot, { recursive: true, mode: 0o755 });
    await runHost("useradd", [
      "--uid",
      String(p.uid),
      "--gid",
      String(p.uid),
      "--create-home",
      "--home-dir",
      home,
      "--shell",
      "/usr/sbin/nologin",
      "--comment",
      `Metacircular service ${name}`,
      name,
    ]);
  }
  // Rootless podman maps container UIDs through these ranges; Debian's useradd adds them, older tools may not.
  if (!hasSubordinateRange(name, "/etc/subuid") || !hasSubordinateRange(name, "/etc/subgid")) {
    await runHost("usermod", [
      "--add-subuids",
      `${200000 + (p.uid - 10000) * 65536}-${200000 + (p.uid - 10000) * 65536 + 65535}`,
      "--add-subgids",
      `${200000 + (p.uid - 10000) * 65536}-${200000 + (p.uid - 10000) * 65536 + 65535}`,
      name,
    ]);
  }
  const runtimeDir = `/run/user/${p.uid}`;
  mkdirSync("/run/user", { recursive: true, mode: 0o755 });
  ensureServiceDirs("/run/user", String(p.uid), { uid: p.uid, gid: p.uid, mode: 0o700, enforceMode: true });
  const h = passwdEntry(name)!.home;
  if (dirname(h) === h) throw new UserError(`user ${name} has ${h} as its home; give it a home of its own`);
  // A home removed behind our back (or a user made by hand without one) is recreated; never through a link.
  mkdirSync(dirname(h), { recursive: true, mode: 0o755 });
  ensureServiceDirs(dirname(h), basename(h), { uid: p.uid, gid: p.uid, mode: 0o750 });
  return { name, uid: p.uid, home: h, runtimeDir };
}

/**
 * The environment for the user's podman: nothing inherited from the agent, and no
 * XDG_DATA/CONFIG/STATE_HOME at all, so podman's storage stays in the local home
 * even when the service's XDG folders point at NFS (docs/smep.md).
 */
export function podmanWrapper(u: ServiceUser): string[] {
  return [
    "runuser",
    "-u",
    u.name,
    "--",
    "env",
    "-i",
    `HOME=${u.home}`,
    `USER=${u.name}`,
    `XDG_RUNTIME_DIR=${u.runtimeDir}`,
    "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
  ];
}
