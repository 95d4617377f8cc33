// Builds and pushes images with the operator's podman. Pushes trust the registry through
// a certs.d folder holding the platform CA (never --tls-verify=false) and log in with a
// temporary auth file holding the registry token as the Basic password (mcr's token
// endpoint accepts a platform token issued for it): no password is written anywhere, and
// the folder is removed when the push ends.
import { spawn } from "node:child_process";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

export interface BuildSpec {
  /** Repository name in the registry, e.g. "shop" or "shop-web". */
  image: string;
  /** `<registry host>/<image>:<version>`. */
  ref: string;
  version: string;
  containerfile: string;
  context: string;
}

export type BuildPhase = "building" | "pushing" | "pushed" | "failed";

export interface BuildProgress {
  image: string;
  phase: BuildPhase;
  /** A line of podman's output (a build step, a layer being copied). */
  message: string;
  /** Push progress of one blob: its digest (short) and "copying", "done" (in the registry once the push succeeded) or "exists" (when podman says it skipped it). */
  layer?: { digest: string; status: string };
}

export interface Builder {
  /** Resolves when the image is built and pushed; rejects with podman's last output. */
  buildAndPush(spec: BuildSpec, onProgress: (p: BuildProgress) => void, signal?: AbortSignal): Promise<void>;
}

export interface PodmanBuilderOptions {
  podman: string;
  registryHost: string;
  /** PEM of the registry's CA; empty: the system's trust store. */
  caPem: string;
  username: string;
  /** The registry token (issued for "mcr"). */
  token: () => string;
  env?: NodeJS.ProcessEnv;
}

const LAYER_RE = /^Copying (blob|config) (?:sha256:)?([0-9a-f]{6,64})(?:\s+(done|skipped: already exists))?/;

export class PodmanBuilder implements Builder {
  constructor(private readonly o: PodmanBuilderOptions) {}

  async buildAndPush(spec: BuildSpec, onProgress: (p: BuildProgress) => void, signal?: AbortSignal): Promise<void> {
    const dir = mkdtempSync(join(tmpdir(), "mcp-push-"));
    try {
      const certDir = join(dir, "certs.d", this.o.registryHost);
      mkdirSync(certDir, { recursive: true, mode: 0o700 });
      if (this.o.caPem) writeFileSync(join(certDir, "ca.crt"), this.o.caPem, { mode: 0o600 });
      const authFile = join(dir, "auth.json");
      const auth = Buffer.from(`${this.o.username}:${this.o.token()}`).toString("base64");
      writeFileSync(authFile, JSON.stringify({ auths: { [this.o.registryHost]: { auth } } }), { mode: 0o600 });
      const access = ["--authfile", authFile, "--cert-dir", certDir];
      onProgress({ image: spec.image, phase: "building", message: `podman build ${spec.ref}` });
      await this.run(
        ["build", ...access, "-f", spec.containerfile, "--build-arg", `VERSION=${spec.version}`, "-t", spec.ref, spec.context],
        (line) => onProgress({ image: spec.image, phase: "building", message: line }),
        signal,
      );
      onProgress({ image: spec.image, phase: "pushing", message: `podman push ${spec.ref}` });
      const layers = new Map<string, string>();
      await this.run(
        ["push", ...access, spec.ref],
        (line) => {
          const m = LAYER_RE.exec(line);
          const status = !m ? undefined : m[3] === "done" ? "done" : m[3] ? "exists" : "copying";
          if (m) layers.set(m[2]!.slice(0, 12), status!);
          onProgress({ image: spec.image, phase: "pushing", message: line, ...(m ? { layer: { digest: m[2]!.slice(0, 12), status: status! } } : {}) });
        },
        signal,
      );
      // Without a terminal podman names each blob as it starts and never says "done": once the
      // push has succeeded, every blob it named is in the registry.
      for (const [digest, status] of layers) {
        if (status === "copying")
          onProgress({ image: spec.image, phase: "pushing", message: `blob ${digest} is in the registry`, layer: { digest, status: "done" } });
      }
      onProgress({ image: spec.image, phase: "pushed", message: `pushed ${spec.ref}` });
    } catch (err) {
      onProgress({ image: spec.image, phase: "failed", message: (err as Error).message });
      throw err;
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }

  /** Runs podman; every output line goes to `onLine`; a failure carries the last lines. */
  private run(args: string[], onLine: (line: string) => void, signal?: AbortSignal): Promise<void> {
    return new Promise((resolve, reject) => {
      const child = spawn(this.o.podman, args, { env: { ...process.env, ...this.o.env }, stdio: ["ignore", "pipe", "pipe"], ...(signal ? { signal } : {}) });
      const tail: string[] = [];
      const feed = (buf: { rest: string }) => (chunk: Buffer) => {
        const text = buf.rest + chunk.toString("utf8");
        const lines = text.split(/\r?\n|\r/);
        buf.rest = lines.pop() ?? "";
        for (const l of lines) {
          const line = l.trimEnd();
          if (!line) continue;
          tail.push(line);
          if (tail.length > 20) tail.shift();
          onLine(line);
        }
      };
      const out = { rest: "" };
      const err = { rest: "" };
      child.stdout.on("data", feed(out));
      child.stderr.on("data", feed(err));
      child.on("error", (e) => reject(new Error(`${this.o.podman} ${args[0]}: ${e.message}`)));
      child.on("close", (code) => {
        for (const rest of [out.rest, err.rest]) if (rest.trim()) tail.push(rest.trim());
        if (code === 0) resolve();
        else reject(new Error(`podman ${args[0]} ${args[args.length - 1]} failed (exit ${code}): ${tail.slice(-5).join(" | ")}`));
      });
    });
  }
}
