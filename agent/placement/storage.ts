// A service-environment's storage root: local (<storage root>/<service>-<env>)
// or an NFS mount (<mount root>/<service>-<env>), with state/ data/ config/
// service/ owned by its UID (0750), and the XDG links in its user's home (docs/smep.md).
import { mkdirSync, unlinkSync } from "node:fs";
import { basename, dirname, join, relative } from "node:path";
import type { Placement } from "../../lib/smep/smep.ts";
import { writeFileAtomic } from "../../lib/fs/atomic.ts";
import { isMounted, mountNfs, mountUnit, unmountNfs, NfsError } from "./nfs.ts";
import { ensureLinkIn, ensureServiceDirs, removeLinkBelow, withServiceDir } from "./safe-fs.ts";
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

/**
 * Mounts (if NFS), creates the standard folders and checks that the service UID can write.
 * Idempotent. The service can write inside its root, so nothing there is followed if it is a
 * link (UnsafePathError names it); the root itself sits in a folder only root can change.
 */
export async function ensureStorage(p: Placement, root: StorageRoot, extraOptions: string, c: StorageConfig): Promise<void> {
  const owner = { uid: p.uid, gid: p.uid, mode: 0o750, enforceMode: true };
  if (root.nfs) {
    const options = [c.nfsOptions, extraOptions].filter(Boolean).join(",");
    await mountNfs({ exportSpec: root.nfs, target: root.path, options, mountCommand: c.mountCommand, checkKernel: c.checkKernel });
    if (c.mountUnitsDir) {
      const unit = mountUnit(root.nfs, root.path, options);
      writeFileAtomic(join(c.mountUnitsDir, unit.name), unit.text, 0o644);
    }
  } else {
    mkdirSync(dirname(root.path), { recursive: true, mode: 0o755 });
    ensureServiceDirs(dirname(root.path), basename(root.path), owner);
  }
  // On an all_squash export chown is refused: the server maps every write to the UID anyway.
  for (const d of STORAGE_DIRS) ensureServiceDirs(root.path, d, { ...owner, tolerateChownRefusal: Boolean(root.nfs) });
  await checkWritable(p, root);
}

/** Writes and removes a probe file as the service user, so a wrongly squashed export fails the deploy, not the service. */
async function checkWritable(p: Placement, root: StorageRoot): Promise<void> {
  const probe = join(root.path, "state", `.mcp-write-check-${process.pid}`);
  try {
    // Both as the service user: root never touches a path the service could have redirected.
    await runHost("setpriv", [`--reuid=${p.uid}`, `--regid=${p.uid}`, "--clear-groups", "sh", "-c", 'touch "$1" && rm -f "$1"', "sh", probe]);
  } catch (err) {
    const hint = root.nfs ? " (the export must map writes to this UID: all_squash with anonuid/anongid)" : "";
    throw new NfsError(`UID ${p.uid} cannot write to ${join(root.path, "state")}${hint}: ${(err as Error).message}`);
  }
}

/** `$XDG_*_HOME/<sheet>/@<service>` → the storage root's state, data and config (docs/smep.md, "What a placement creates"). */
export function xdgLinks(p: Placement, service: string, home: string, root: string): { link: string; target: string }[] {
  return XDG.map(([dir, base]) => ({ link: join(home, base, p.sheet, `@${service}`), target: join(root, dir) }));
}

/** Creates the XDG links, repairing any that point elsewhere; a parent the service replaced with a link is refused. */
export function ensureXdgLinks(p: Placement, service: string, home: string, root: string): void {
  const owner = { uid: p.uid, gid: p.uid };
  for (const { link, target } of xdgLinks(p, service, home, root)) {
    withServiceDir(home, relative(home, dirname(link)), { ...owner, mode: 0o750 }, (fd) => ensureLinkIn(fd, basename(link), target, owner, link));
  }
}

export function removeXdgLinks(p: Placement, service: string, home: string, root: string): void {
  for (const { link } of xdgLinks(p, service, home, root)) removeLinkBelow(home, relative(home, dirname(link)), basename(link));
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
