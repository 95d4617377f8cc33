// The TUI end to end: `mcp` with no arguments in a real terminal (tmux, its own server
// socket) against a real mcr and mcp-agent. Sort the services, navigate to a service, its
// detail and its logs (scrolled back, the view stays put while lines arrive); a restart
// made elsewhere shows on the events screen; quit; the terminal is restored (the alternate
// screen is left).
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { initAgentHome, removeAgentHome, startAgentProcess, type AgentHome, type AgentProcess } from "../helpers/agent-process.ts";
import { MCP_BIN, mcp } from "../helpers/console.ts";
import { addAccount } from "../helpers/identity.ts";
import { initHome, removeHome, startMcr, type McrHome, type McrProcess } from "../helpers/mcr-process.ts";
import { createPodmanEnv, type PodmanEnv } from "../helpers/podman.ts";
import { skipUnlessTools } from "../helpers/tools.ts";
import { sleep } from "../helpers/wait.ts";

describe("the TUI in tmux against real daemons", { skip: skipUnlessTools("podman", "runc", "busybox", "tmux") }, () => {
  let mcrHome: McrHome;
  let mcr: McrProcess;
  let pm: PodmanEnv;
  let home: AgentHome;
  let agent: AgentProcess;
  let dir: string;
  let env: NodeJS.ProcessEnv;
  const socket = `mcp-tui-${process.pid}`;
  const tmux = (...args: string[]) => execFileSync("tmux", ["-L", socket, ...args], { encoding: "utf8" });
  const screen = () => tmux("capture-pane", "-p", "-t", "tui");

  async function waitScreen(re: RegExp, ms = 20_000): Promise<string> {
    const end = Date.now() + ms;
    for (;;) {
      const s = screen();
      if (re.test(s)) return s;
      if (Date.now() > end) throw new Error(`the screen never matched ${re}:\n${s}`);
      await sleep(100);
    }
  }

  before(async () => {
    mcrHome = await initHome();
    const agentPassword = await addAccount(mcrHome, "agent-node1", "human", ["user"]);
    mcr = await startMcr(mcrHome, {}, { auth: true });
    pm = createPodmanEnv();
    await pm.importBusybox("localhost/tui-test/busybox:1");
    home = await initAgentHome({ mcr, mcrHome, podmanDir: pm.dir, registryUser: { username: "agent-node1", password: agentPassword } });
    agent = await startAgentProcess(home);
    dir = mkdtempSync(join(tmpdir(), "mcp-tui-it-"));
    const cfg = join(dir, "config", "mcp");
    mkdirSync(join(cfg, "services"), { recursive: true });
    mkdirSync(join(dir, "src", "hello"), { recursive: true });
    writeFileSync(join(dir, "src", "hello", "Containerfile"), "FROM localhost/tui-test/busybox:1\n");
    writeFileSync(
      join(cfg, "mcp.toml"),
      `ca_cert = "${mcrHome.caPath}"\n[[nodes]]\nname = "node1"\nurl = "${agent.url}"\n[registry]\nurl = "${mcr.url}"\n[build]\nworkspace = "${join(dir, "src")}"\n`,
    );
    const loop = 'i=0; while true; do i=$((i+1)); echo "$NAME tick $i"; sleep 0.2; done';
    writeFileSync(
      join(cfg, "services", "hello.toml"),
      `name = "hello"\nnode = "node1"\nversion = "v1"\n[build.images]\nhello = "Containerfile"\n[[components]]\nname = "api"\ncmd = ["sh", "-c", ${JSON.stringify(loop)}]\nenv = { NAME = "api" }\n[[components]]\nname = "worker"\nimage = "${mcr.host}/hello"\ncmd = ["sh", "-c", ${JSON.stringify(loop)}]\nenv = { NAME = "worker" }\n`,
    );
    env = { ...pm.env, XDG_CONFIG_HOME: join(dir, "config"), XDG_STATE_HOME: join(dir, "state") };
    const login = await mcp(["login", "-u", "admin", "--password-stdin"], env, mcrHome.adminPassword);
    assert.equal(login.code, 0, login.stderr);
    const deploy = await mcp(["deploy", "hello", "--json"], env);
    assert.equal(deploy.code, 0, deploy.stderr);
  });

  after(async () => {
    try {
      tmux("kill-server");
    } catch {
      /* already gone */
    }
    await agent?.stop();
    await pm?.cleanup();
    await mcr?.stop();
    if (mcrHome) removeHome(mcrHome);
    if (home) removeAgentHome(home);
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  test("services (sorted) → detail → logs, a restart on :events, a rollback from the history, then q restores the terminal", async () => {
    const vars = Object.entries({
      CONTAINERS_CONF: env.CONTAINERS_CONF!,
      CONTAINERS_STORAGE_CONF: env.CONTAINERS_STORAGE_CONF!,
      XDG_CONFIG_HOME: env.XDG_CONFIG_HOME!,
      XDG_STATE_HOME: env.XDG_STATE_HOME!,
      NO_COLOR: "1",
    }).flatMap(([k, v]) => ["-e", `${k}=${v}`]);
    tmux("new-session", "-d", "-s", "tui", "-x", "100", "-y", "30", ...vars, `echo before-mcp; ${MCP_BIN}; echo "mcp exited $?"; sleep 60`);
    let s = await waitScreen(/hello +worker +node1 +v1 +running/);
    assert.match(s, /^mcp services +● node1/m);
    assert.match(s, /hello +api +node1 +v1 +running/);
    assert.doesNotMatch(s, /before-mcp/, "the TUI is on the alternate screen");

    // Sorted by the component column (> twice: service, then component), then the other way (I).
    const rowsOrder = (t: string) => [...t.matchAll(/^hello +(api|worker) +node1/gm)].map((m) => m[1]).join(" ");
    tmux("send-keys", "-t", "tui", ">", ">");
    s = await waitScreen(/COMPONENT▲/);
    assert.equal(rowsOrder(s), "api worker");
    tmux("send-keys", "-t", "tui", "I");
    s = await waitScreen(/COMPONENT▼/);
    assert.equal(rowsOrder(s), "worker api");

    tmux("send-keys", "-t", "tui", "Enter");
    s = await waitScreen(/hello v1 on node1/);
    assert.match(s, /COMPONENT +DESIRED +OBSERVED +CPU +MEM +DRIFT/);
    assert.match(s, /worker +running +running/);

    tmux("send-keys", "-t", "tui", "l");
    // Both components, merged (each stream's first lines may come a moment apart).
    s = await waitScreen(/(?=[\s\S]*worker +\| worker tick \d+)(?=[\s\S]*api +\| api tick \d+)/);
    assert.match(s, /^mcp logs hello/m);
    // Lines keep coming while we watch.
    const last = (t: string) => Math.max(...[...t.matchAll(/api tick (\d+)/g)].map((m) => Number(m[1])));
    const n = last(s);
    await waitScreen(new RegExp(`api tick ${n + 5}\\b`));
    // Scrolled to the top, the view stays put while they keep coming; G follows again.
    tmux("send-keys", "-t", "tui", "g");
    s = await waitScreen(/scrolled, \d+ lines below/);
    const top = s.split("\n")[2];
    const below = Number(/scrolled, (\d+) lines below/.exec(s)![1]);
    await waitScreen(new RegExp(`scrolled, (?!${below}\\b)\\d+ lines below`));
    assert.equal(screen().split("\n")[2], top, "the top line stays while lines arrive below");
    tmux("send-keys", "-t", "tui", "G");
    await waitScreen(/hello {2}· {2}following/);

    // A restart made elsewhere is on the events screen (the TUI follows the node's Events stream).
    const restart = await mcp(["restart", "hello/api"], env);
    assert.equal(restart.code, 0, restart.stderr);
    tmux("send-keys", "-t", "tui", ":events", "Enter");
    s = await waitScreen(/^\S+ +node1 +hello +api +start\b/m);
    assert.match(s, /^mcp events/m);
    assert.match(s, /^TIME +NODE +SERVICE +COMPONENT +ACTION/m);

    // A second release, then the history: R on release 1 asks, and the rollback runs on the deploy screen.
    writeFileSync(
      join(dir, "config", "mcp", "services", "hello.toml"),
      readFileSync(join(dir, "config", "mcp", "services", "hello.toml"), "utf8").replace('version = "v1"', 'version = "v2"'),
    );
    const v2 = await mcp(["deploy", "hello", "--json"], env);
    assert.equal(v2.code, 0, v2.stderr);
    tmux("send-keys", "-t", "tui", ":history hello", "Enter");
    s = await waitScreen(/^2 +\S+ ago +admin +v2 +deployed/m);
    assert.match(s, /^1 +\S+ ago +admin +v1 +deployed/m);
    tmux("send-keys", "-t", "tui", "j", "R");
    await waitScreen(/Roll hello back to release 1 \(v1\)\? \[y\/N\]/);
    tmux("send-keys", "-t", "tui", "y");
    s = await waitScreen(/rollback of hello to release 1 on node1/);
    await waitScreen(/(?=[\s\S]*^api +running)(?=[\s\S]*^worker +running)/m);
    tmux("send-keys", "-t", "tui", "Escape");
    s = await waitScreen(/^3 +\S+ ago +admin +v1 +deployed .*rollback to 1$/m);
    const ps = (await mcp(["ps", "--json"], env)).json();
    assert.ok(
      ps.containers.every(
        (c: { service: string; image: string; version: string }) => c.service !== "hello" || (/@sha256:/.test(c.image) && c.version === "v1"),
      ),
      JSON.stringify(ps.containers),
    );

    tmux("send-keys", "-t", "tui", "q");
    s = await waitScreen(/mcp exited 0/);
    assert.match(s, /before-mcp/, "the normal screen is back");
    assert.doesNotMatch(s, /mcp services|mcp logs|mcp events/);
  });
});
