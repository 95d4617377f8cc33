// A Debian root file system made with debootstrap from Debian's packages, for tests that
// boot a real systemd in a podman container (`podman run --systemd=always --rootfs ROOT:O`:
// the root stays as it is, each container writes to its own overlay). Made once and kept in
// /var/cache/metacircular-test-rootfs/<key>, the key a hash of the recipe (suite, variant,
// packages), so only the first run pays for debootstrap (about 45 s here).
import { execFile } from "node:child_process";
import { createHash } from "node:crypto";
import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync } from "node:fs";
import { join } from "node:path";
import { promisify } from "node:util";

const run = promisify(execFile);
export const ROOTFS_CACHE = process.env.METACIRCULAR_ROOTFS_CACHE ?? "/var/cache/metacircular-test-rootfs";

/**
 * What the tests' root holds beyond minbase (which has apt, passwd, util-linux, findutils and
 * the libstdc++ node needs): systemd for systemd-boot.test.ts, ca-certificates and tzdata for
 * the image base of images.test.ts. One recipe, so CI makes one root.
 */
export const TEST_ROOT = { packages: ["systemd", "systemd-sysv", "ca-certificates", "tzdata"] };

export interface RootRecipe {
  /** Debian packages beyond debootstrap's minbase variant. */
  packages: string[];
}

/** The host's Debian release name (bookworm), from /etc/os-release. */
export function hostSuite(): string {
  const m = /^VERSION_CODENAME=(\w+)$/m.exec(readFileSync("/etc/os-release", "utf8"));
  if (!m) throw new Error("/etc/os-release names no VERSION_CODENAME: not a Debian host?");
  return m[1]!;
}

/**
 * The mirror apt uses on this host for `suite` (deb822 .sources files, then sources.list):
 * debootstrap fetches from the same place apt does.
 */
export function aptMirror(suite: string): string {
  const dir = "/etc/apt/sources.list.d";
  const files = existsSync(dir)
    ? readdirSync(dir)
        .filter((f) => f.endsWith(".sources"))
        .map((f) => join(dir, f))
    : [];
  for (const f of files) {
    for (const stanza of readFileSync(f, "utf8").split(/\n\s*\n/)) {
      const field = (name: string) => new RegExp(`^${name}:\\s*(.+)$`, "mi").exec(stanza)?.[1]?.trim().split(/\s+/) ?? [];
      if (!field("Types").includes("deb") || !field("Suites").includes(suite)) continue;
      const uri = field("URIs").find((u) => /^https?:\/\//.test(u));
      if (uri) return uri;
    }
  }
  if (existsSync("/etc/apt/sources.list")) {
    for (const line of readFileSync("/etc/apt/sources.list", "utf8").split("\n")) {
      const m = /^deb\s+(?:\[[^\]]*\]\s+)?(https?:\/\/\S+)\s+(\S+)/.exec(line.trim());
      if (m && m[2] === suite) return m[1]!;
    }
  }
  throw new Error(`apt on this host has no http(s) source for ${suite}: debootstrap needs a Debian mirror`);
}

/** The cached root for `recipe`, made with debootstrap when it is not there yet. */
export async function debianRoot(recipe: RootRecipe): Promise<string> {
  const suite = hostSuite();
  const packages = [...recipe.packages].sort();
  const key = createHash("sha256")
    .update(JSON.stringify({ suite, variant: "minbase", packages, recipe: 1 }))
    .digest("hex")
    .slice(0, 16);
  const root = join(ROOTFS_CACHE, `${suite}-${key}`);
  if (existsSync(join(root, "sbin", "init"))) return root;

  mkdirSync(ROOTFS_CACHE, { recursive: true, mode: 0o755 });
  // Made beside its place and renamed: a run that dies half way leaves no root that looks whole.
  const tmp = `${root}.tmp-${process.pid}`;
  rmSync(tmp, { recursive: true, force: true });
  try {
    await run("debootstrap", ["--variant=minbase", `--include=${packages.join(",")}`, suite, tmp, aptMirror(suite)], {
      maxBuffer: 64 * 1024 * 1024,
      timeout: 15 * 60_000,
    }).catch((e: { stderr?: string; stdout?: string; message: string }) => {
      const log = existsSync(join(tmp, "debootstrap", "debootstrap.log")) ? readFileSync(join(tmp, "debootstrap", "debootstrap.log"), "utf8").slice(-2000) : "";
      throw new Error(`debootstrap of ${suite} failed: ${e.stderr || e.message}\n${log}`);
    });
    // The downloaded packages are not part of the root.
    for (const f of readdirSync(join(tmp, "var/cache/apt/archives"))) if (f.endsWith(".deb")) rmSync(join(tmp, "var/cache/apt/archives", f));
    try {
      renameSync(tmp, root);
    } catch (err) {
      // Another run made it first: use theirs.
      if (!existsSync(join(root, "sbin", "init"))) throw err;
    }
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
  return root;
}
