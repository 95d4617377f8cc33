// HAProxy as the agent drives it: `haproxy -c` on a candidate file, then the master CLI
// (the -S socket of master-worker mode): `reload` re-executes HAProxy with the same
// arguments, which reads the new file; the old worker hands its listening sockets to the
// new one (-x sockpair@, automatic in 2.6) and finishes its connections, so nothing is
// dropped. A reload that fails (a port already in use) leaves the old worker serving.
import { execFile } from "node:child_process";
import { createConnection } from "node:net";
import { promisify } from "node:util";
import { MARKER_PREFIX } from "./haproxy-config.ts";

const run = promisify(execFile);

export class HaproxyError extends Error {
  override name = "HaproxyError";
}

export interface HaproxyProcs {
  reloads: number;
  /** Failed reloads since the last good one. */
  failed: number;
  workers: number;
}

export interface HaproxyOptions {
  masterSocket: string;
  binary: string;
  /** Per CLI command. */
  timeoutMs?: number;
  /** How long a reload may take to show up in `show proc`. */
  reloadTimeoutMs?: number;
}

export class Haproxy {
  constructor(private readonly o: HaproxyOptions) {}

  get socket(): string {
    return this.o.masterSocket;
  }

  /**
   * One command on the master CLI (prefix "@1 " for the current worker); its whole answer.
   * While the master re-executes itself (a reload, ours or anyone's) its socket is gone for
   * a moment: a refused connection is tried again for up to two seconds.
   */
  async command(cmd: string): Promise<string> {
    const deadline = Date.now() + 2000;
    for (;;) {
      try {
        return await this.once(cmd);
      } catch (err) {
        const code = ((err as HaproxyError).cause as NodeJS.ErrnoException | undefined)?.code;
        if (!(code === "ECONNREFUSED" || code === "ENOENT" || code === "ECONNRESET") || Date.now() > deadline) throw err;
        await new Promise((r) => setTimeout(r, 100));
      }
    }
  }

  private once(cmd: string): Promise<string> {
    const timeoutMs = this.o.timeoutMs ?? 3000;
    return new Promise((resolve, reject) => {
      const sock = createConnection(this.o.masterSocket);
      let out = "";
      const timer = setTimeout(() => sock.destroy(new Error(`no answer to "${cmd}" within ${timeoutMs} ms`)), timeoutMs);
      sock.setEncoding("utf8");
      sock.on("connect", () => sock.end(`${cmd}\n`));
      sock.on("data", (d: string) => (out += d));
      sock.on("error", (err) => {
        clearTimeout(timer);
        reject(new HaproxyError(`HAProxy's master socket ${this.o.masterSocket} does not answer: ${err.message}`, { cause: err }));
      });
      sock.on("close", (hadError) => {
        clearTimeout(timer);
        if (!hadError) resolve(out);
      });
    });
  }

  /** The master's reload counters; a master busy re-executing (it answers with its help) is asked again for up to two seconds. */
  async procs(): Promise<HaproxyProcs> {
    const deadline = Date.now() + 2000;
    for (;;) {
      const text = await this.command("show proc");
      const m = /^\d+\s+master\s+(\d+)\s+\[failed:\s*(\d+)\]/m.exec(text);
      if (m) return { reloads: Number(m[1]), failed: Number(m[2]), workers: (text.match(/^\d+\s+worker\s/gm) ?? []).length };
      if (Date.now() > deadline)
        throw new HaproxyError(`HAProxy's master socket ${this.o.masterSocket} answered "show proc" with ${JSON.stringify(text.slice(0, 120))}`);
      await new Promise((r) => setTimeout(r, 100));
    }
  }

  /** The digest of the route table the current worker has loaded (undefined: none of ours). */
  async loadedDigest(): Promise<string | undefined> {
    const text = await this.command("@1 show backend");
    return text
      .split("\n")
      .find((l) => l.startsWith(MARKER_PREFIX))
      ?.slice(MARKER_PREFIX.length)
      .trim();
  }

  /** `haproxy -c` of a file on its own; throws with HAProxy's alerts. */
  async check(file: string): Promise<void> {
    try {
      await run(this.o.binary, ["-c", "-f", file], { timeout: 30_000 });
    } catch (err) {
      const e = err as { stderr?: string; stdout?: string; message: string; code?: string | number };
      if (e.code === 2) return; // "no error but will not start (no listener)": an empty table on its own
      if (e.code === "ENOENT") throw new HaproxyError(`cannot run ${this.o.binary} to check the route table: is HAProxy installed? ([proxy] haproxy)`);
      // The alerts that say what is wrong, not the summary lines after them.
      const alerts = `${e.stdout ?? ""}${e.stderr ?? ""}`
        .split("\n")
        .filter((l) => l.includes("[ALERT]") && !/Error\(s\) found|Fatal errors found/.test(l))
        .map((l) => l.replace(/^\[ALERT\]\s*\(\d+\)\s*:\s*(config\s*:\s*)?/, "").trim());
      throw new HaproxyError(`HAProxy refuses the route table: ${alerts.join("; ").slice(0, 2000) || e.message}`);
    }
  }

  /** Reloads and waits until the new worker runs `digest`; throws when the reload failed. */
  async reload(digest: string): Promise<void> {
    const before = await this.procs();
    await this.command("reload");
    const deadline = Date.now() + (this.o.reloadTimeoutMs ?? 15_000);
    for (;;) {
      await new Promise((r) => setTimeout(r, 50));
      // The master re-executes itself: its socket is briefly gone or answers in wait mode.
      const now = await this.procs().catch(() => undefined);
      if (now && now.reloads > before.reloads) {
        if (now.failed > 0)
          throw new HaproxyError("HAProxy could not load the new route table (a port already in use? see HAProxy's log); it keeps serving the previous one");
        const loaded = await this.loadedDigest().catch(() => undefined);
        if (loaded === digest) return;
      }
      if (Date.now() > deadline) throw new HaproxyError(`HAProxy did not load the new route table within ${this.o.reloadTimeoutMs ?? 15_000} ms`);
    }
  }
}
