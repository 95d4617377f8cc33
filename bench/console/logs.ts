// The logs screen of the real `mcp` on a pseudo-terminal (script -q) while a container writes
// ~1,000 lines a second: the console process's CPU (from /proc) and how long a key press
// (`w`, wrap) takes to show on screen. Lines lost are counted on `mcp logs -f --json`, which
// runs the same store action (followLogs) as the screen: the container numbers its lines.
import { spawn } from "node:child_process";
import { readFileSync } from "node:fs";
import { MCP_BIN } from "../../test/helpers/console.ts";

const ticks = (pid: number) => {
  const f = readFileSync(`/proc/${pid}/stat`, "utf8").split(") ")[1]!.split(" ");
  return Number(f[11]) + Number(f[12]); // utime + stime, in clock ticks (100/s)
};

/** `rowsText`: what the services screen shows once both nodes' rows are there. */
export async function logsBench(config: string, env: NodeJS.ProcessEnv, seconds: number, rowsText: string): Promise<string[]> {
  // Lines lost: a follow with --json for the same window.
  const follow = spawn(MCP_BIN, ["--config", config, "logs", "chatty", "-f", "--json"], { env, stdio: ["ignore", "pipe", "pipe"] });
  // Its notices: a follow that broke and reconnected says so (a line lost is then at a reconnect).
  let notices = "";
  follow.stderr!.on("data", (d: Buffer) => (notices += d.toString()));
  let rest = "";
  let first = -1;
  let prev = -1;
  let received = 0;
  let missing = 0;
  follow.stdout!.on("data", (d: Buffer) => {
    const lines = (rest + d.toString()).split("\n");
    rest = lines.pop() ?? "";
    for (const l of lines) {
      const m = /line (\d+)"/.exec(l);
      if (!m) continue;
      const n = Number(m[1]);
      if (first < 0) first = n;
      else if (n > prev + 1) missing += n - prev - 1;
      prev = n;
      received++;
    }
  });

  const child = spawn("script", ["-qfec", `stty cols 120 rows 40; exec ${MCP_BIN} --config ${config}`, "/dev/null"], {
    env: { ...env, TERM: "xterm-256color" },
    stdio: ["pipe", "pipe", "inherit"],
  });
  child.stdin!.on("error", () => undefined);
  let screen = "";
  const listeners = new Set<() => void>();
  child.stdout!.on("data", (d: Buffer) => {
    screen = (screen + d.toString().replace(/\x1b\[[0-9;?]*[a-zA-Z]/g, "")).slice(-4000);
    for (const l of listeners) l();
  });
  const waitScreen = (re: RegExp, ms = 15_000) =>
    new Promise<void>((res, rej) => {
      const check = () => re.test(screen) && (listeners.delete(check), clearTimeout(t), res());
      const t = setTimeout(() => (listeners.delete(check), rej(new Error(`screen never matched ${re}:\n${screen.slice(-800)}`))), ms);
      listeners.add(check);
      check();
    });
  try {
    await waitScreen(new RegExp(rowsText)); // the rows are there: the first poll has finished
    for (const ch of ":logs chatty\r") {
      child.stdin!.write(ch); // one key at a time, as typed (a chunk is taken for a paste)
      await new Promise((r) => setTimeout(r, 150));
    }
    await waitScreen(/chatty {2}· {2}following/);
    await new Promise((r) => setTimeout(r, 2000));
    const pid = Number(readFileSync(`/proc/${child.pid}/task/${child.pid}/children`, "utf8").trim().split(" ")[0]);
    const t0 = performance.now();
    const c0 = ticks(pid);
    const recv0 = received;
    const latencies: number[] = [];
    let wrap = /following {2}· {2}wrap/.test(screen); // on by default
    while (performance.now() - t0 < seconds * 1000) {
      await new Promise((r) => setTimeout(r, 200));
      wrap = !wrap;
      screen = "";
      const pressed = performance.now();
      child.stdin!.write("w");
      // Wrap off: "following" and then another field or the line's end (until the buffer is
      // full and drops old lines, nothing else follows it).
      await waitScreen(wrap ? /following {2}· {2}wrap/ : /following(?: {2}· {2}(?!wrap)\S| *\r?\n)/);
      latencies.push(performance.now() - pressed);
    }
    const wall = performance.now() - t0;
    const cpu = ((ticks(pid) - c0) * 10) / wall; // ticks are 10 ms
    const rate = ((received - recv0) / wall) * 1000;
    const s = [...latencies].sort((a, b) => a - b);
    const p99 = s[Math.min(s.length - 1, Math.ceil(s.length * 0.99) - 1)]!;
    const rss = Number(/VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, "utf8"))?.[1] ?? Number.NaN) / 1024;
    return [
      `logs screen, ${(wall / 1000).toFixed(1)} s, container writing ${rate.toFixed(0)} lines/s: console CPU ${(cpu * 100).toFixed(0)}% of one core; key press to frame median ${s[Math.floor(s.length / 2)]!.toFixed(0)} ms, p99 ${p99.toFixed(0)} ms ${p99 < 50 ? "PASS" : "MISS"} (< 50 ms), max ${s.at(-1)!.toFixed(0)} ms (${s.length} presses)`,
      `  console RSS after ${(wall / 1000).toFixed(0)} s of it: ${rss.toFixed(0)} MiB ${rss < 150 ? "PASS" : "MISS"} (< 150 MiB after 30 minutes: SECONDS_LOGS=1800)`,
      `  mcp logs -f --json over the same window: lines ${first}..${prev}, ${received} received, ${missing} lost; ${(notices.match(/reconnecting/g) ?? []).length} reconnects${notices.trim() ? ` (${notices.trim().split("\n").slice(0, 3).join("; ")})` : ""}`,
    ];
  } finally {
    child.stdin!.write("q");
    follow.kill("SIGINT");
    setTimeout(() => child.kill("SIGKILL"), 3000).unref();
    await new Promise((r) => child.once("exit", r));
  }
}
