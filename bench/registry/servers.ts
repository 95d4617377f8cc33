// Starts the servers under test on 127.0.0.1: mcr (bin/mcr), CNCF distribution 2.8
// (Debian's docker-registry) and nginx with sendfile. Each one writes its pid to
// <tmp>/pids/ so that run.sh's trap can still stop it if the driver dies.
import { execFile, spawn, type ChildProcess } from "node:child_process";
import { randomBytes } from "node:crypto";
import { mkdirSync, rmSync, writeFileSync } from "node:fs";
import { createServer } from "node:net";
import { join, resolve } from "node:path";
import { promisify } from "node:util";
import { request } from "./client.ts";
import { MCR_SERVER_NODE_FLAGS } from "../../lib/process/node-flags.ts";

export const REPO_ROOT = resolve(import.meta.dirname, "../..");
/** The mcr under test: this checkout's, or another build's given as MCR_BIN (to compare two versions). */
export const MCR_BIN = process.env.MCR_BIN || join(REPO_ROOT, "bin", "mcr");

export type Proto = "http" | "https";
export type ServerName = "mcr" | "distribution" | "nginx";

/** Files shared by every server: one CA, one server certificate (names 127.0.0.1 and localhost). */
export interface BenchEnv {
  tmp: string;
  caPath: string;
  certPath: string;
  keyPath: string;
  mcrHome: string;
  mcrConfig: string;
}

export interface Server {
  name: ServerName;
  proto: Proto;
  url: string;
  /** The process whose memory and CPU are read (nginx: the master; its workers are its children). */
  pid: number;
  /** The last 64 KiB the process wrote to stdout/stderr. */
  logs(): string;
  stop(): Promise<void>;
}

/** `mcr init` into <tmp>/mcr: the CA and certificate that every server of the run uses. */
export async function initEnv(tmp: string): Promise<BenchEnv> {
  const mcrHome = join(tmp, "mcr");
  await promisify(execFile)(MCR_BIN, ["init", "--dir", mcrHome, "--listen", "127.0.0.1:0"]);
  mkdirSync(join(tmp, "pids"), { recursive: true });
  const caPath = join(mcrHome, "certs", "ca.pem");
  return {
    tmp,
    caPath,
    certPath: join(mcrHome, "certs", "cert.pem"),
    keyPath: join(mcrHome, "certs", "key.pem"),
    mcrHome,
    mcrConfig: join(mcrHome, "mcr.toml"),
  };
}

/** A port the OS just handed out on 127.0.0.1 (for servers that cannot listen on port 0 and report it). */
export function freePort(): Promise<number> {
  return new Promise((ok, fail) => {
    const srv = createServer();
    srv.once("error", fail);
    srv.listen(0, "127.0.0.1", () => {
      const { port } = srv.address() as { port: number };
      srv.close(() => ok(port));
    });
  });
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Child process bookkeeping: bounded log capture, exit promise, pid file, SIGTERM then SIGKILL. */
class Managed {
  log = "";
  readonly exited: Promise<string>;
  private readonly pidFile: string;

  constructor(
    readonly child: ChildProcess,
    env: BenchEnv,
    tag: string,
  ) {
    this.pidFile = join(env.tmp, "pids", `${tag}.pid`);
    writeFileSync(this.pidFile, `${child.pid}\n`);
    const keep = (d: Buffer) => {
      this.log = (this.log + d.toString()).slice(-64 * 1024);
    };
    child.stdout?.on("data", keep);
    child.stderr?.on("data", keep);
    this.exited = new Promise((r) => child.once("exit", (code, sig) => r(`exit ${code ?? sig}`)));
  }

  get running(): boolean {
    return this.child.exitCode === null && this.child.signalCode === null;
  }

  async stop(): Promise<void> {
    if (this.running) {
      this.child.kill("SIGTERM");
      const done = await Promise.race([this.exited.then(() => true), sleep(15_000).then(() => false)]);
      if (!done && this.running) {
        this.child.kill("SIGKILL");
        await this.exited;
      }
    }
    rmSync(this.pidFile, { force: true });
  }
}

/** Polls `url` until any HTTP answer arrives (at most `tries` × 100 ms). */
async function waitHttp(url: string, caPath: string, proc: Managed, tries = 150): Promise<void> {
  for (let i = 0; i < tries; i++) {
    if (!proc.running) throw new Error(`server exited before answering ${url}:\n${proc.log}`);
    try {
      await request(url, caPath);
      return;
    } catch {
      await sleep(100);
    }
  }
  throw new Error(`no answer from ${url} within ${tries / 10}s:\n${proc.log}`);
}

/** mcr from its `mcr init` home, on the port the OS chooses (read from its "mcr listening" log line). */
export async function startMcr(env: BenchEnv, proto: Proto, tag = `mcr-${proto}`): Promise<Server> {
  // As the systemd unit, the image and `mcp up` start it.
  const child = spawn(process.execPath, [...MCR_SERVER_NODE_FLAGS, MCR_BIN, "server", "--config", env.mcrConfig], {
    // Without authentication, like the distribution it is compared with.
    env: { ...process.env, MCR_SERVER_PLAIN_HTTP: String(proto === "http"), MCR_LOG_LEVEL: "info", MCR_AUTH_DISABLED: "true" },
    stdio: ["ignore", "pipe", "pipe"],
  });
  const proc = new Managed(child, env, tag);
  let port = 0;
  for (let i = 0; i < 300 && port === 0; i++) {
    const m = /"port":(\d+).*"msg":"mcr listening"/.exec(proc.log);
    if (m) port = Number(m[1]);
    else if (!proc.running) throw new Error(`mcr exited before listening:\n${proc.log}`);
    else await sleep(100);
  }
  if (port === 0) {
    await proc.stop();
    throw new Error(`mcr did not report its port within 30s:\n${proc.log}`);
  }
  return { name: "mcr", proto, url: `${proto}://127.0.0.1:${port}`, pid: child.pid!, logs: () => proc.log, stop: () => proc.stop() };
}

/**
 * distribution 2.8 with filesystem storage in <tmp>/distribution, on a free port. Logs are at
 * "warn": at "info" it writes a line per request, which mcr (debug for GETs) does not.
 */
export async function startDistribution(env: BenchEnv, proto: Proto): Promise<Server> {
  const root = join(env.tmp, "distribution");
  mkdirSync(root, { recursive: true });
  const secret = randomBytes(16).toString("hex");
  for (let attempt = 1; ; attempt++) {
    const port = await freePort();
    const tls = proto === "https" ? `\n  tls:\n    certificate: ${env.certPath}\n    key: ${env.keyPath}` : "";
    const config = join(env.tmp, `distribution-${proto}.yml`);
    writeFileSync(
      config,
      `version: 0.1
log:
  level: warn
  accesslog:
    disabled: true
storage:
  filesystem:
    rootdirectory: ${root}
  cache:
    blobdescriptor: inmemory
  delete:
    enabled: true
  maintenance:
    uploadpurging:
      enabled: false
http:
  addr: 127.0.0.1:${port}
  secret: ${secret}${tls}
`,
    );
    const child = spawn("docker-registry", ["serve", config], { stdio: ["ignore", "pipe", "pipe"] });
    const proc = new Managed(child, env, `distribution-${proto}`);
    const url = `${proto}://127.0.0.1:${port}`;
    try {
      await waitHttp(`${url}/v2/`, env.caPath, proc);
      return { name: "distribution", proto, url, pid: child.pid!, logs: () => proc.log, stop: () => proc.stop() };
    } catch (err) {
      await proc.stop();
      // Another process may have taken the port between freePort() and the bind.
      if (attempt >= 3 || !/address already in use/.test(proc.log)) throw err;
    }
  }
}

/**
 * nginx serving `root` (mcr's layers folder, so the very same file) with sendfile (or, with
 * `sendfile` false, read into its buffers and written, as a user-space server must), on a plain
 * and a TLS port. Blob URLs are <url>/<algorithm>/<2 hex>/<hex>.
 */
export async function startNginx(env: BenchEnv, root: string, sendfile = true): Promise<{ http: Server; https: Server }> {
  const tag = sendfile ? "nginx" : "nginx-copy";
  const dir = join(env.tmp, tag);
  mkdirSync(dir, { recursive: true });
  for (let attempt = 1; ; attempt++) {
    const [plain, tls] = [await freePort(), await freePort()];
    // Running as root, nginx's workers would switch to "nobody", who cannot read mcr's 0700 folders.
    const user = process.getuid?.() === 0 ? "user root;" : "";
    const conf = join(dir, "nginx.conf");
    writeFileSync(
      conf,
      `daemon off;
master_process on;
worker_processes auto;
${user}
pid ${dir}/nginx.pid;
error_log ${dir}/error.log warn;
events { worker_connections 1024; }
http {
  access_log off;
  sendfile ${sendfile ? "on" : "off"};
  tcp_nopush on;
  keepalive_timeout 60s;
  client_body_temp_path ${dir}/body;
  proxy_temp_path ${dir}/proxy;
  fastcgi_temp_path ${dir}/fastcgi;
  uwsgi_temp_path ${dir}/uwsgi;
  scgi_temp_path ${dir}/scgi;
  default_type application/octet-stream;
  server {
    listen 127.0.0.1:${plain};
    root ${root};
  }
  server {
    listen 127.0.0.1:${tls} ssl;
    ssl_certificate ${env.certPath};
    ssl_certificate_key ${env.keyPath};
    ssl_protocols TLSv1.3;
    root ${root};
  }
}
`,
    );
    const child = spawn("nginx", ["-p", dir, "-c", conf, "-e", join(dir, "error.log")], { stdio: ["ignore", "pipe", "pipe"] });
    const proc = new Managed(child, env, tag);
    try {
      await waitHttp(`http://127.0.0.1:${plain}/`, env.caPath, proc);
      await waitHttp(`https://127.0.0.1:${tls}/`, env.caPath, proc);
      const stop = () => proc.stop();
      return {
        http: { name: "nginx", proto: "http", url: `http://127.0.0.1:${plain}`, pid: child.pid!, logs: () => proc.log, stop },
        https: { name: "nginx", proto: "https", url: `https://127.0.0.1:${tls}`, pid: child.pid!, logs: () => proc.log, stop },
      };
    } catch (err) {
      await proc.stop();
      if (attempt >= 3 || !/Address already in use/i.test(proc.log)) throw err;
    }
  }
}
