// HAProxy (master-worker, like Debian's unit) and PowerDNS Authoritative (sqlite backend,
// HTTP API) started by tests on loopback, each in its own temp folder, as docs/routing.md
// tells an operator to run them. Neither can bind port 0, so ports are asked of the OS
// first (bound to 0, read, released; TCP and UDP for DNS).
import { spawn, type ChildProcess } from "node:child_process";
import { createSocket } from "node:dgram";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import SQLite from "better-sqlite3";
import { until } from "./wait.ts";

/** A TCP port on 127.0.0.1 that was free a moment ago (and free for UDP too with `udp`). */
export async function freePort(udp = false): Promise<number> {
  for (;;) {
    const port = await new Promise<number>((resolve, reject) => {
      const s = createServer().listen(0, "127.0.0.1", () => {
        const p = (s.address() as { port: number }).port;
        s.close(() => resolve(p));
      });
      s.on("error", reject);
    });
    if (!udp) return port;
    const ok = await new Promise<boolean>((resolve) => {
      const u = createSocket("udp4");
      u.once("error", () => resolve(false));
      u.bind(port, "127.0.0.1", () => u.close(() => resolve(true)));
    });
    if (ok) return port;
  }
}

interface Child {
  child: ChildProcess;
  logs(): string;
  stop(): Promise<void>;
}

function startChild(cmd: string, args: string[], cwd: string): Child {
  const child = spawn(cmd, args, { cwd, stdio: ["ignore", "pipe", "pipe"] });
  let logs = "";
  child.stdout!.on("data", (d: Buffer) => (logs += d.toString()));
  child.stderr!.on("data", (d: Buffer) => (logs += d.toString()));
  const exited = new Promise<void>((r) => child.once("exit", () => r()));
  return {
    child,
    logs: () => logs,
    async stop() {
      if (child.exitCode === null && child.signalCode === null) child.kill("SIGTERM");
      const timer = setTimeout(() => child.kill("SIGKILL"), 5000);
      await exited;
      clearTimeout(timer);
    },
  };
}

export interface HaproxyServer extends Child {
  dir: string;
  /** The file the agent writes ([proxy] config_file). */
  routesFile: string;
  masterSocket: string;
  /** Stops HAProxy and removes its folder. */
  cleanup(): Promise<void>;
}

/** `haproxy -W -S <socket> -f base.cfg -f routes.cfg`; routes.cfg starts empty, as the operator's `touch` leaves it. */
export async function startHaproxy(dir = mkdtempSync(join(tmpdir(), "haproxy-test-"))): Promise<HaproxyServer> {
  const base = join(dir, "haproxy.cfg");
  const routesFile = join(dir, "mcp-routes.cfg");
  const masterSocket = join(dir, "master.sock");
  writeFileSync(base, "global\n  log stderr format raw local0 notice\n  hard-stop-after 30s\n");
  try {
    readFileSync(routesFile);
  } catch {
    writeFileSync(routesFile, "");
  }
  const c = startChild("haproxy", ["-W", "-S", masterSocket, "-f", base, "-f", routesFile], dir);
  await until("HAProxy's master socket", async () => (/Loading success/.test(c.logs()) ? true : undefined), 10_000, 50);
  return {
    ...c,
    dir,
    routesFile,
    masterSocket,
    async cleanup() {
      await c.stop();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

export interface PowerDnsServer extends Child {
  dir: string;
  dnsPort: number;
  apiUrl: string;
  apiKey: string;
  apiKeyFile: string;
  /** A zone with SOA and NS, as `pdnsutil create-zone` makes one. */
  createZone(zone: string): Promise<void>;
  cleanup(): Promise<void>;
}

export async function startPowerDns(): Promise<PowerDnsServer> {
  const dir = mkdtempSync(join(tmpdir(), "pdns-test-"));
  const db = join(dir, "pdns.sqlite3");
  const schema = readFileSync("/usr/share/doc/pdns-backend-sqlite3/schema.sqlite3.sql", "utf8");
  const sqlite = new SQLite(db);
  sqlite.exec(schema);
  sqlite.close();
  const dnsPort = await freePort(true);
  const apiPort = await freePort();
  const apiKey = `key-${Math.random().toString(36).slice(2)}`;
  const apiKeyFile = join(dir, "api.key");
  writeFileSync(apiKeyFile, `${apiKey}\n`, { mode: 0o600 });
  writeFileSync(
    join(dir, "pdns.conf"),
    [
      "launch=gsqlite3",
      `gsqlite3-database=${db}`,
      "local-address=127.0.0.1",
      `local-port=${dnsPort}`,
      "api=yes",
      `api-key=${apiKey}`,
      "webserver=yes",
      "webserver-address=127.0.0.1",
      `webserver-port=${apiPort}`,
      "webserver-allow-from=127.0.0.0/8",
      `socket-dir=${dir}`,
      "guardian=no",
      "daemon=no",
      "disable-syslog=yes",
      "write-pid=no",
      "",
    ].join("\n"),
  );
  const c = startChild("pdns_server", [`--config-dir=${dir}`], dir);
  await until("PowerDNS ready", async () => (/ready to distribute questions/.test(c.logs()) ? true : undefined), 15_000, 50);
  const apiUrl = `http://127.0.0.1:${apiPort}`;
  return {
    ...c,
    dir,
    dnsPort,
    apiUrl,
    apiKey,
    apiKeyFile,
    async createZone(zone) {
      const res = await fetch(`${apiUrl}/api/v1/servers/localhost/zones`, {
        method: "POST",
        headers: { "X-API-Key": apiKey, "Content-Type": "application/json" },
        body: JSON.stringify({ name: `${zone}.`, kind: "Native", nameservers: [`ns1.${zone}.`] }),
      });
      if (res.status !== 201) throw new Error(`creating zone ${zone}: HTTP ${res.status} ${await res.text()}`);
    },
    async cleanup() {
      await c.stop();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
