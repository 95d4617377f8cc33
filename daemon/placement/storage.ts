// A service-environment's storage root: local (<storage root>/<service>-<env>)
// or an NFS mount (<mount root>/<service>-<env>), with state/ data/ config/
// service/ owned by its UID (0750), and the XDG links in its user's home (seed 004).
import { chownSync, chmodSync, lchownSync, lstatSync, mkdirSync, readlinkSync, rmSync, symlinkSync, unlinkSync } from "node:fs";
import { join } from "node:path";
import type { Placement } from "../../lib/smep/smep.ts";
import { writeFileAtomic } from "../../lib/fs/atomic.ts";
import { isMounted, mountNfs, mountUnit, unmountNfs, NfsError } from "./nfs.ts";
import { runHost } from "./system.ts";

export const STORAGE_DIRS = ["state", "data", "config", "service"] as const;
const XDG = [
  ["state", ".local/state"],
  ["data", ".local/share"],
  ["config", ".config"],
] as const;

export interface StorageConfig {
  localRoot: string;
  mountRoot: string;
  nfsOptions: string;
  mountCommand: string;
  umountCommand: string;
  mountUnitsDir: string;
  /** False when mount_command is not the system's mount (tests use a stand-in). */
  checkKernel: boolean;
}

export interface StorageRoot {
  path: string;
  nfs?: string;
}

export function storageRootFor(p: Placement, nfsExport: string, c: StorageConfig): StorageRoot {
  return nfsExport ? { path: join(c.mountRoot, p.user), nfs: nfsExport } : { path: join(c.localRoot, p.user) };
}

/** Mounts (if NFS), creates the standard folders and checks that the service UID can write. Idempotent. */
export async function ensureStorage(p: Placement, root: StorageRoot, extraOptions: string, c: StorageConfig): Promise<void> {
  if (root.nfs) {
    const options = [c.nfsOptions, extraOptions].filter(Boolean).join(",");
    await mountNfs({ exportSpec: root.nfs, target: root.path, options, mountCommand: c.mountCommand, checkKernel: c.checkKernel });
    if (c.mountUnitsDir) {
      const unit = mountUnit(root.nfs, root.path, options);
      writeFileAtomic(join(c.mountUnitsDir, unit.name), unit.text, 0o644);
    }
  } else {
    mkdirSync(root.path, { recursive: true, mode: 0o750 });
    chownSync(root.path, p.uid, p.uid);
    chmodSync(root.path, 0o750);
  }
  for (const d of STORAGE_DIRS) {
    const dir = join(root.path, d);
    mkdirSync(dir, { recursive: true, mode: 0o750 });
    try {
      chownSync(dir, p.uid, p.uid);
      chmodSync(dir, 0o750);
    } catch (err) {
      // On an all_squash export chown is refused: the server maps every write to the UID anyway.
      if (!root.nfs) throw err;
    }
  }
  await checkWritable(p, root);
}

/** Writes and removes a probe file as the service user, so a wrongly squashed export fails the deploy, not the service. */
async function checkWritable(p: Placement, root: StorageRoot): Promise<void> {
  const probe = join(root.path, "state", `.mcp-write-check-${process.pid}`);
  try {
    await runHost("setpriv", [`--reuid=${p.uid}`, `--regid=${p.uid}`, "--clear-groups", "touch", probe]);
    rmSync(probe, { force: true });
  } catch (err) {
    const hint = root.nfs ? " (the export must map writes to this UID: all_squash with anonuid/anongid)" : "";
    throw new NfsError(`UID ${p.uid} cannot write to ${join(root.path, "state")}${hint}: ${(err as Error).message}`);
  }
}

/** `$XDG_*_HOME/<sheet>/@<service>` → the storage root's state, data and config (seed 004 "Directory Mapping"). */
export function xdgLinks(p: Placement, service: string, home: string, root: string): { link: string; target: string }[] {
  return XDG.map(([dir, base]) => ({ link: join(home, base, p.sheet, `@${service}`), target: join(root, dir) }));
}

/** Creates the XDG links, repairing any that point elsewhere. */
export function ensureXdgLinks(p: Placement, service: string, home: string, root: string): void {
  for (const { link, target } of xdgLinks(p, service, home, root)) {
    const parent = join(link, "..");
    mkdirSync(parent, { recursive: true, mode: 0o750 });
    for (let d = parent; d.startsWith(home) && d !== home; d = join(d, "..")) chownSync(d, p.uid, p.uid);
    let current: string | undefined;
    try {
      current = lstatSync(link).isSymbolicLink() ? readlinkSync(link) : "(not a link)";
    } catch {
      current = undefined;
    }
    if (current === target) continue;
    if (current !== undefined) rmSync(link, { recursive: true, force: true });
    symlinkSync(target, link);
    lchownSync(link, p.uid, p.uid); // the link itself belongs to the service user
  }
}

export function removeXdgLinks(p: Placement, service: string, home: string, root: string): void {
  for (const { link } of xdgLinks(p, service, home, root)) {
    try {
      if (lstatSync(link).isSymbolicLink()) unlinkSync(link);
    } catch {
      /* already gone */
    }
  }
}

export async function releaseStorage(root: StorageRoot, c: StorageConfig): Promise<void> {
  if (!root.nfs) return; // local data stays: removing a service never deletes its data
  if (isMounted(root.path) || c.mountCommand !== "mount") await unmountNfs(root.path, c.umountCommand);
  if (c.mountUnitsDir) {
    try {
      unlinkSync(join(c.mountUnitsDir, mountUnit(root.nfs, root.path, "").name));
    } catch {
      /* not written */
    }
  }
}
