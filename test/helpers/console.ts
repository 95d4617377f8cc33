// Runs the real `mcp` binary for console tests: finite commands to completion, streams
// as a child whose NDJSON lines are collected as they come.
import { execFile, spawn, type ChildProcess } from "node:child_process";
import { join } from "node:path";
import { REPO_ROOT } from "./mcr-process.ts";

export const MCP_BIN = join(REPO_ROOT, "bin", "mcp");

export interface McpResult {
  code: number;
  stdout: string;
  stderr: string;
  /** stdout parsed as one JSON document (throws when it is not one). */
  json<T = any>(): T;
  /** stdout parsed as NDJSON. */
  records<T = any>(): T[];
}

const parseRecords = (text: string) =>
  text
    .split("\n")
    .filter((l) => l.trim())
    .map((l) => JSON.parse(l));

/** Runs `mcp args` to its end; never rejects on a non-zero exit. */
export function mcp(args: string[], env: NodeJS.ProcessEnv, input?: string, timeoutMs = 120_000): Promise<McpResult> {
  return new Promise((resolve) => {
    const child = execFile(MCP_BIN, args, { env: { ...process.env, ...env }, maxBuffer: 64 * 1024 * 1024, timeout: timeoutMs }, (err, stdout, stderr) => {
      const code = err ? (typeof (err as { code?: unknown }).code === "number" ? (err as { code: number }).code : 255) : 0;
      resolve({ code, stdout, stderr, json: () => JSON.parse(stdout), records: () => parseRecords(stdout) });
    });
    child.stdin!.end(input ?? "");
  });
}

export interface McpStream {
  child: ChildProcess;
  records: any[];
  stderr(): string;
  /** Resolves with the first record matching `pred` (waits up to `ms`). */
  waitFor(pred: (r: any) => boolean, ms?: number): Promise<any>;
  /** Sends SIGINT (as Ctrl-C does) and resolves to the exit code. */
  stop(): Promise<number>;
  exited: Promise<number>;
}

/** Starts a streaming `mcp` command (logs -f, events) with --json; records collect as they arrive. */
export function mcpStream(args: string[], env: NodeJS.ProcessEnv): McpStream {
  const child = spawn(MCP_BIN, args, { env: { ...process.env, ...env }, stdio: ["ignore", "pipe", "pipe"] });
  const records: any[] = [];
  let rest = "";
  let err = "";
  const waiters: { pred: (r: any) => boolean; resolve: (r: any) => void }[] = [];
  child.stdout!.on("data", (d: Buffer) => {
    const lines = (rest + d.toString()).split("\n");
    rest = lines.pop() ?? "";
    for (const l of lines) {
      if (!l.trim()) continue;
      const r = JSON.parse(l);
      records.push(r);
      for (const w of [...waiters]) if (w.pred(r)) waiters.splice(waiters.indexOf(w), 1), w.resolve(r);
    }
  });
  child.stderr!.on("data", (d: Buffer) => (err += d.toString()));
  const exited = new Promise<number>((r) => child.once("exit", (code, sig) => r(code ?? (sig ? 128 : 255))));
  return {
    child,
    records,
    stderr: () => err,
    exited,
    waitFor(pred, ms = 30_000) {
      const found = records.find(pred);
      if (found) return Promise.resolve(found);
      return new Promise((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`no matching record within ${ms} ms; got ${JSON.stringify(records.slice(-5))}; stderr: ${err}`)), ms);
        waiters.push({ pred, resolve: (r) => (clearTimeout(timer), resolve(r)) });
      });
    },
    async stop() {
      if (child.exitCode === null && child.signalCode === null) child.kill("SIGINT");
      return exited;
    },
  };
}
