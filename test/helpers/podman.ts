// Podman and skopeo for integration tests, isolated from the host: their own
// containers.conf (runc, explicit ulimits: see docs/operations.md) and storage under a temp folder.
import { execFile } from "node:child_process";
import { chmodSync, copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { processesUnder } from "./processes.ts";

const run = promisify(execFile);

export interface PodmanEnv {
  dir: string;
  env: NodeJS.ProcessEnv;
  podman(args: string[]): Promise<string>;
  skopeo(args: string[]): Promise<string>;
  /** Builds a tiny image from a busybox-static root with `podman import`. */
  importBusybox(ref: string): Promise<void>;
  cleanup(): Promise<void>;
}

export const BUSYBOX = "/bin/busybox";

export function createPodmanEnv(): PodmanEnv {
  const dir = mkdtempSync(join(tmpdir(), "mcr-podman-"));
  // tmp_dir and the event log are per environment too: podman's default tmp_dir
  // (/run/libpod) is shared, and `podman system reset` deletes it, which breaks
  // containers of every other environment running at the same time.
  mkdirSync(join(dir, "tmp"));
  writeFileSync(
    join(dir, "containers.conf"),
    [
      "[engine]",
      'runtime = "runc"',
      `tmp_dir = "${join(dir, "tmp")}"`,
      'events_logger = "file"',
      `events_logfile_path = "${join(dir, "tmp", "events.log")}"`,
      "[containers]",
      'default_ulimits = ["nofile=1024:1024", "nproc=1024:1024"]',
      "",
    ].join("\n"),
  );
  // No short-name search: an unqualified name fails at once instead of trying registries.
  writeFileSync(join(dir, "registries.conf"), "unqualified-search-registries = []\n");
  writeFileSync(join(dir, "storage.conf"), `[storage]\ndriver = "overlay"\ngraphroot = "${join(dir, "graph")}"\nrunroot = "${join(dir, "run")}"\n`);
  writeFileSync(join(dir, "auth.json"), "{}\n");
  const env = {
    ...process.env,
    CONTAINERS_CONF: join(dir, "containers.conf"),
    CONTAINERS_STORAGE_CONF: join(dir, "storage.conf"),
    // No user registries.conf or auth file leaks in from the host.
    REGISTRY_AUTH_FILE: join(dir, "auth.json"),
    CONTAINERS_REGISTRIES_CONF: join(dir, "registries.conf"),
  };
  const exec = async (cmd: string, args: string[]) => {
    try {
      const { stdout } = await run(cmd, args, { env, maxBuffer: 64 * 1024 * 1024 });
      return stdout;
    } catch (err) {
      const e = err as { stderr?: string; message: string };
      throw new Error(`${cmd} ${args.join(" ")} failed: ${e.stderr || e.message}`);
    }
  };
  return {
    dir,
    env,
    podman: (args) => exec("podman", args),
    skopeo: (args) => exec("skopeo", args),
    async importBusybox(ref) {
      const root = join(dir, `rootfs-${Date.now()}`);
      mkdirSync(join(root, "bin"), { recursive: true });
      copyFileSync(BUSYBOX, join(root, "bin", "busybox"));
      chmodSync(join(root, "bin", "busybox"), 0o755);
      for (const tool of ["sh", "echo", "cat", "ls", "sleep", "date", "env", "id", "touch"]) symlinkSync("busybox", join(root, "bin", tool));
      await exec("tar", ["-C", root, "-cf", join(dir, "rootfs.tar"), "."]);
      await exec("podman", ["import", "--change", 'CMD ["/bin/sh"]', join(dir, "rootfs.tar"), ref]);
    },
    async cleanup() {
      // Kill leftovers at once: reset would give each one its 10 s stop timeout.
      await exec("podman", ["rm", "--all", "--force", "--time", "0"]).catch(() => undefined);
      await exec("podman", ["system", "reset", "--force"]).catch(() => undefined);
      killLeftovers(dir);
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/**
 * Kills what still runs from this environment after podman's own cleanup: a container podman
 * lost track of (an agent recreating it while a failing test removed it) keeps its conmon,
 * whose command line names the environment's folder, and the container under it.
 */
function killLeftovers(dir: string): void {
  for (const pid of processesUnder(dir)) {
    let children: string[] = [];
    try {
      children = readFileSync(`/proc/${pid}/task/${pid}/children`, "utf8").trim().split(/\s+/).filter(Boolean);
    } catch {
      // gone meanwhile
    }
    for (const p of [...children.map(Number), pid]) {
      try {
        process.kill(p, "SIGKILL");
      } catch {
        // already gone
      }
    }
  }
}
