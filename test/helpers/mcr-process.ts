// Starts the real `mcr` binary on an OS-chosen loopback port, in a fresh home made by `mcr init`.
import { execFile, spawn, type ChildProcess } from "node:child_process";
import { appendFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { promisify } from "node:util";

const run = promisify(execFile);
export const REPO_ROOT = resolve(import.meta.dirname, "../..");
export const MCR_BIN = join(REPO_ROOT, "bin", "mcr");

export interface McrHome {
  dir: string;
  config: string;
  caPem: string;
  caPath: string;
  /** The platform CA's folder (`<dir>-ca`): the key, outside the registry's home. */
  caDir: string;
  /** The one-time password `mcr init` gave the first admin account. */
  adminPassword: string;
}

/** `mcr init` into a new temporary folder; `extraToml` is appended to the config. */
export async function initHome(extraToml = ""): Promise<McrHome> {
  const dir = mkdtempSync(join(tmpdir(), "mcr-test-"));
  await run(MCR_BIN, ["init", "--dir", dir, "--listen", "127.0.0.1:0"]);
  const config = join(dir, "mcr.toml");
  if (extraToml) appendFileSync(config, `\n${extraToml}\n`);
  const caPath = join(dir, "certs", "ca.pem");
  const adminPassword = readFileSync(join(dir, "admin.password"), "utf8").trim();
  return { dir, config, caPath, caDir: `${dir}-ca`, caPem: readFileSync(caPath, "utf8"), adminPassword };
}

export interface McrProcess {
  home: McrHome;
  child: ChildProcess;
  port: number;
  /** host:port as clients name the registry. */
  host: string;
  url: string;
  /** A certs.d-style folder (`<host:port>/ca.crt`) for podman/skopeo --cert-dir. */
  certDir: string;
  logs(): string;
  /** Sends a signal and waits for exit; resolves to the exit code (or the signal name). */
  stop(signal?: NodeJS.Signals): Promise<number | string>;
}

export interface StartOptions {
  /**
   * Authentication and policy as configured by `mcr init` (embedded identity).
   * Off by default: protocol tests exercise the OCI API itself, and say so with
   * MCR_AUTH_DISABLED=true; the identity tests turn it on.
   */
  auth?: boolean;
}

export async function startMcr(home: McrHome, env: NodeJS.ProcessEnv = {}, opts: StartOptions = {}): Promise<McrProcess> {
  const child = spawn(MCR_BIN, ["server", "--config", home.config], {
    env: { ...process.env, ...(opts.auth ? {} : { MCR_AUTH_DISABLED: "true" }), ...env },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let logs = "";
  child.stdout!.on("data", (d: Buffer) => (logs += d.toString()));
  child.stderr!.on("data", (d: Buffer) => (logs += d.toString()));
  const exited = new Promise<number | string>((res) => child.once("exit", (code, sig) => res(code ?? sig ?? -1)));
  const port = await new Promise<number>((res, rej) => {
    const timer = setTimeout(() => {
      child.kill("SIGKILL"); // not left running behind a failed test
      rej(new Error(`mcr did not start within 20s:\n${logs}`));
    }, 20_000);
    const check = () => {
      const m = /"port":(\d+).*"msg":"mcr listening"/.exec(logs);
      if (m) {
        clearTimeout(timer);
        res(Number(m[1]));
      }
    };
    child.stderr!.on("data", check);
    exited.then((code) => {
      clearTimeout(timer);
      rej(new Error(`mcr exited (${code}) before listening:\n${logs}`));
    });
  });
  const host = `localhost:${port}`;
  const certDir = join(home.dir, "client-certs", host);
  mkdirSync(certDir, { recursive: true });
  writeFileSync(join(certDir, "ca.crt"), home.caPem);
  return {
    home,
    child,
    port,
    host,
    url: `https://${host}`,
    certDir,
    logs: () => logs,
    async stop(signal = "SIGTERM") {
      if (child.exitCode === null && child.signalCode === null) child.kill(signal);
      return exited;
    },
  };
}

export function removeHome(home: McrHome): void {
  rmSync(home.dir, { recursive: true, force: true });
  rmSync(home.caDir, { recursive: true, force: true });
}
