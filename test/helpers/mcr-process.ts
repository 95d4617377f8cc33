// Starts the real `mcr` binary on an OS-chosen loopback port, in a fresh home made by `mcr init`.
// Homes use the embedded default (SQLite + local files), or, when $METACIRCULAR_TEST_BACKEND is
// "postgres-s3" (test/integration/scale-out-suites.test.ts runs the OCI and identity suites
// so), a database of their own on one PostgreSQL and a prefix of their own in one S3 bucket,
// both started once per test process and stopped by stopScaleOutServers(). The bucket is
// s3rver's, or a real Ceph RADOS Gateway's when $METACIRCULAR_TEST_S3 is "radosgw"
// (test/helpers/ceph.ts; test/integration/scale-out-radosgw.test.ts runs the suites so).
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
  backend: Backend;
  /** The PostgreSQL database of a postgres-s3 home. */
  databaseUrl?: string;
}

export type Backend = "embedded" | "postgres-s3";

/** The backend initHome uses unless told otherwise. */
export function testBackend(): Backend {
  return process.env.METACIRCULAR_TEST_BACKEND === "postgres-s3" ? "postgres-s3" : "embedded";
}

export interface ScaleOut {
  pg: import("./postgres.ts").PgServer;
  s3: import("./s3.ts").S3Server;
  credentials: string;
}
let scaleOut: Promise<ScaleOut> | undefined;
let homes = 0;

/** The S3 server postgres-s3 homes use: s3rver, or radosgw when $METACIRCULAR_TEST_S3=radosgw. */
export function testS3(): "s3rver" | "radosgw" {
  return process.env.METACIRCULAR_TEST_S3 === "radosgw" ? "radosgw" : "s3rver";
}

/** The PostgreSQL and S3 servers postgres-s3 homes share (started on first use). */
export function scaleOutServers(): Promise<ScaleOut> {
  scaleOut ??= (async () => {
    const { startPostgres } = await import("./postgres.ts");
    const { startS3, s3CredentialsText } = await import("./s3.ts");
    const startBucket = testS3() === "radosgw" ? (await import("./ceph.ts")).startRadosgw : startS3;
    const [pg, s3] = await Promise.all([startPostgres(), startBucket()]);
    const credentials = join(s3.dir, "..", `${s3.dir.split("/").pop()}.credentials`);
    writeFileSync(credentials, s3CredentialsText(s3), { mode: 0o600 });
    return { pg, s3, credentials };
  })();
  return scaleOut;
}

/** Stops the PostgreSQL and S3 servers that postgres-s3 homes share (once every test is done). */
export async function stopScaleOutServers(): Promise<void> {
  const s = await scaleOut?.catch(() => undefined);
  scaleOut = undefined;
  if (!s) return;
  await Promise.all([s.pg.stop(), s.s3.stop()]);
  rmSync(s.credentials, { force: true });
}

/** `mcr init --database-url … --s3-…` arguments for a new postgres-s3 home. */
export async function scaleOutInitArgs(): Promise<{ args: string[]; databaseUrl: string }> {
  const { pg, s3, credentials } = await scaleOutServers();
  const databaseUrl = await pg.createDatabase();
  const args = [
    "--database-url",
    databaseUrl,
    "--s3-bucket",
    s3.bucket,
    "--s3-endpoint",
    s3.endpoint,
    "--s3-path-style",
    "--s3-prefix",
    `home-${process.pid}-${++homes}/`,
    "--s3-credentials-file",
    credentials,
  ];
  return { args, databaseUrl };
}

/** `mcr init` into a new temporary folder; `extraToml` is appended to the config. */
export async function initHome(extraToml = "", opts: { backend?: Backend } = {}): Promise<McrHome> {
  const dir = mkdtempSync(join(tmpdir(), "mcr-test-"));
  const backend = opts.backend ?? testBackend();
  const scale = backend === "postgres-s3" ? await scaleOutInitArgs() : undefined;
  await run(MCR_BIN, ["init", "--dir", dir, "--listen", "127.0.0.1:0", ...(scale?.args ?? [])]);
  const config = join(dir, "mcr.toml");
  if (extraToml) appendFileSync(config, `\n${extraToml}\n`);
  const caPath = join(dir, "certs", "ca.pem");
  const adminPassword = readFileSync(join(dir, "admin.password"), "utf8").trim();
  return {
    dir,
    config,
    caPath,
    caDir: `${dir}-ca`,
    caPem: readFileSync(caPath, "utf8"),
    adminPassword,
    backend,
    ...(scale ? { databaseUrl: scale.databaseUrl } : {}),
  };
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
