// NFS storage: mount a service-environment's export (NFSv4, hard) before its
// first start, check its UID can write there (all_squash exports map writes to
// that UID), unmount on remove, and the equivalent systemd .mount unit.
import { existsSync, mkdirSync, readFileSync } from "node:fs";
import { runHost } from "./system.ts";

export class NfsError extends Error {
  override name = "NfsError";
}

/** Whether the running kernel has an NFS client (nfs4 in /proc/filesystems). */
export function kernelSupportsNfs(procFilesystems = "/proc/filesystems"): boolean {
  try {
    return /\bnfs4?\b/.test(readFileSync(procFilesystems, "utf8"));
  } catch {
    return false;
  }
}

export function isMounted(target: string, procMounts = "/proc/self/mounts"): boolean {
  try {
    return readFileSync(procMounts, "utf8")
      .split("\n")
      .some((l) => l.split(" ")[1] === target);
  } catch {
    return false;
  }
}

export interface MountOptions {
  exportSpec: string;
  target: string;
  options: string;
  mountCommand: string;
  /** The real mount program needs kernel support; a stand-in (tests) does not. */
  checkKernel: boolean;
}

export async function mountNfs(o: MountOptions): Promise<void> {
  if (isMounted(o.target)) return;
  if (o.checkKernel && !kernelSupportsNfs()) {
    throw new NfsError(
      `this kernel cannot mount NFS (no nfs4 in /proc/filesystems): load the nfs module or install an NFS client before deploying ${o.target}, or remove the NFS export to use local storage`,
    );
  }
  mkdirSync(o.target, { recursive: true, mode: 0o755 });
  try {
    await runHost(o.mountCommand, ["-t", "nfs4", "-o", o.options, o.exportSpec, o.target]);
  } catch (err) {
    throw new NfsError(`mounting ${o.exportSpec} at ${o.target} failed: ${(err as Error).message}`);
  }
}

export async function unmountNfs(target: string, umountCommand: string): Promise<void> {
  if (!existsSync(target)) return;
  try {
    await runHost(umountCommand, [target]);
  } catch (err) {
    if (!/not mounted|no mount point/i.test((err as Error).message)) throw new NfsError(`unmounting ${target} failed: ${(err as Error).message}`);
  }
}

/** systemd's path escaping for unit names: /mnt/gazette-prod → mnt-gazette\x2dprod.mount */
export function mountUnitName(target: string): string {
  const trimmed = target.replace(/^\/+|\/+$/g, "");
  const escaped = [...trimmed]
    .map((ch) => (ch === "/" ? "-" : /[a-zA-Z0-9:_.]/.test(ch) ? ch : `\\x${ch.charCodeAt(0).toString(16).padStart(2, "0")}`))
    .join("");
  return `${escaped.startsWith(".") ? `\\x2e${escaped.slice(1)}` : escaped}.mount`;
}

/** A .mount unit that makes the mount survive reboots. */
export function mountUnit(exportSpec: string, target: string, options: string): { name: string; text: string } {
  return {
    name: mountUnitName(target),
    text: `# Written by mcp-agent: NFS storage of ${target.split("/").pop()}.
[Unit]
Description=NFS storage for ${target}
After=network-online.target
Wants=network-online.target

[Mount]
What=${exportSpec}
Where=${target}
Type=nfs4
Options=${options}

[Install]
WantedBy=remote-fs.target
`,
  };
}
