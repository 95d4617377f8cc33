// What a container mounts, checked before every start the agent performs: deploys, Start and
// Restart, and the reconciler's restarts and repairs. podman resolves a volume's host path
// by name, following links, each time it starts a container, and a service can write below
// its volumes and its storage root: between two starts it can swap a folder for a link to
// /etc. So each volume source, and each SMEP storage folder, is walked from a folder only
// root can change without following any link (safe-fs); one that crosses a link is refused
// with an error naming the volume and the link. Missing volume folders of the agent's own
// are made the same way, never through a link.
import { mkdirSync } from "node:fs";
import { basename, dirname, relative } from "node:path";
import { parseVolume } from "../../lib/services/definition.ts";
import { checkPathNoFollow, UnsafePathError } from "../placement/safe-fs.ts";
import { STORAGE_DIRS } from "../placement/storage.ts";
import { NoSuchContainerError, type Runtime } from "../runtime/runtime.ts";
import type { PlannedComponent } from "./plan.ts";
import { underRoot, type MountScope } from "./mount-scope.ts";

export class UnsafeMountError extends UnsafePathError {
  override name = "UnsafeMountError";
}

/**
 * The trusted folder to walk `host` from, and the rest of the path: the shortest root holding
 * it, so that as much as possible is walked without following links. The storage root is
 * the service's, so it is walked from its parent.
 */
function walkFrom(host: string, scope: MountScope): { base: string; rel: string } | undefined {
  const root = scope.roots.filter((r) => underRoot(host, [r])).sort((a, b) => a.length - b.length)[0];
  if (root === undefined) return undefined;
  const base = root === scope.storageRoot ? dirname(root) : root;
  return { base, rel: relative(base, host) };
}

function checkSource(p: PlannedComponent, volume: string, host: string, createMode?: number): void {
  const from = walkFrom(host, p.mounts);
  if (!from)
    throw new UnsafeMountError(`volume ${volume} of ${p.container}: ${host} is outside the allowed roots (${p.mounts.roots.join(", ")}): refusing to mount it`);
  // A root is only root's to change: a missing one is made as `mkdir -p` always did.
  if (createMode !== undefined) mkdirSync(from.base, { recursive: true, mode: createMode });
  try {
    checkPathNoFollow(from.base, from.rel, createMode);
  } catch (err) {
    if (err instanceof UnsafePathError) throw new UnsafeMountError(`volume ${volume} of ${p.container}: ${err.message}`);
    throw err;
  }
}

/** The SMEP storage root and its folders: links there are refused even when no volume names them. */
function checkStorage(p: PlannedComponent): void {
  const root = p.mounts.storageRoot;
  if (!root) return;
  try {
    checkPathNoFollow(dirname(root), basename(root));
    for (const d of STORAGE_DIRS) checkPathNoFollow(root, d);
  } catch (err) {
    if (err instanceof UnsafePathError) throw new UnsafeMountError(`storage of ${p.container}: ${err.message}`);
    throw err;
  }
}

/** Before a container is made from `p` (deploy, repair): makes the agent's volume folders (hostDirs) and checks every source. */
export function prepareMounts(p: PlannedComponent): void {
  checkStorage(p);
  for (const v of p.spec.volumes) {
    const { host } = parseVolume(v, `${p.container} volume`);
    checkSource(p, v, host, p.hostDirs.includes(host) ? 0o750 : undefined);
  }
}

/**
 * Before an existing container is started: `p`'s sources, and `binds`, the host paths of the
 * container's own bind mounts as podman reports them (it may have been made from an earlier
 * definition). Creates nothing.
 */
export function checkMounts(p: PlannedComponent, binds: string[] = []): void {
  checkStorage(p);
  const checked = new Set<string>();
  for (const v of p.spec.volumes) {
    const { host } = parseVolume(v, `${p.container} volume`);
    checkSource(p, v, host);
    checked.add(host);
  }
  for (const host of binds) if (!checked.has(host)) checkSource(p, host, host);
}

/** checkMounts for the existing container `name` (default `p`'s), with its bind mounts as podman reports them. */
export async function checkContainerMounts(runtime: Runtime, p: PlannedComponent, name = p.container): Promise<void> {
  let binds: string[] | undefined;
  try {
    binds = (await runtime.inspect(name)).bindSources;
  } catch (err) {
    if (!(err instanceof NoSuchContainerError)) throw err;
  }
  checkMounts(p, binds);
}
