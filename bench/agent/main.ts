// bench/agent: deploy wall time through mcp-agent vs the equivalent raw
// `podman run`, List latency with 50 managed containers, idle CPU with 10 Events streams
// open, and the agent's (and its podman API service's) RSS.
// Run by hand: `bash bench/agent/run.sh` (root, podman, busybox-static). Prints figures; asserts nothing.
import { execFileSync } from "node:child_process";
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import type { ServiceDefinition } from "../../proto/gen/mcp/agent/v1/agent_pb.ts";
import { agentClient, initAgentHome, startAgentProcess, type AgentProcess } from "../../test/helpers/agent-process.ts";
import { initHome, removeHome, startMcr } from "../../test/helpers/mcr-process.ts";
import { createPodmanEnv } from "../../test/helpers/podman.ts";

const ITERATIONS = Number(process.env.ITERATIONS ?? 7);
const CONTAINERS = Number(process.env.CONTAINERS ?? 50);

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const p95 = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.ceil(xs.length * 0.95) - 1)]!;
const ms = (n: number) => `${n.toFixed(0)} ms`;
const rssMiB = (pid: number) => {
  const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, "utf8"));
  return m ? Number(m[1]) / 1024 : NaN;
};
/** Clock ticks per second of /proc/<pid>/stat's utime and stime. */
const TICKS = Number(execFileSync("getconf", ["CLK_TCK"]).toString().trim());
const cpuTicks = (pid: number) => {
  const fields = readFileSync(`/proc/${pid}/stat`, "utf8").split(") ")[1]!.split(" ");
  return Number(fields[11]) + Number(fields[12]);
};
/** The agent's `podman system service` child. */
const podmanServicePid = (agent: number): number | undefined => {
  const out = execFileSync("sh", ["-c", `pgrep -P ${agent} -f 'system service' || true`])
    .toString()
    .trim();
  return out ? Number(out.split("\n")[0]) : undefined;
};
/** The agent's node process (bin/mcp-agent execs node, so the child's pid is node's). */
const agentPid = (a: AgentProcess) => a.child.pid!;

async function main() {
  const mcrHome = await initHome();
  const mcr = await startMcr(mcrHome);
  const pm = createPodmanEnv();
  const out: string[] = [];
  try {
    await pm.importBusybox("localhost/bench/busybox:1");
    const image = `${mcr.host}/bench:v1`;
    await pm.podman(["tag", "localhost/bench/busybox:1", image]);
    await pm.podman(["push", "--cert-dir", mcr.certDir, image]);

    // Raw podman: the equivalent container, image already in local storage.
    const envFile = join(pm.dir, "raw.env");
    writeFileSync(envFile, "PORT=39000\n");
    const raw: number[] = [];
    for (let i = 0; i < ITERATIONS; i++) {
      const t0 = performance.now();
      await pm.podman([
        "run",
        "-d",
        "--name",
        `raw-${i}`,
        "--restart",
        "unless-stopped",
        "-p",
        "127.0.0.1:39000:39000",
        "--env-file",
        envFile,
        "--label",
        "bench=raw",
        "-v",
        `${pm.dir}:/srv/bench`,
        image,
        "sleep",
        "3600",
      ]);
      raw.push(performance.now() - t0);
      await pm.podman(["rm", "-f", "-t", "0", `raw-${i}`]);
    }

    const home = await initAgentHome({ mcr, mcrHome, podmanDir: pm.dir });
    const measureDeploys = async (grace: string) => {
      writeFileSync(
        home.config,
        readFileSync(home.config, "utf8")
          .replace(/start_grace = ".*"/, `start_grace = "${grace}"`)
          .replace(/reconcile_interval = ".*"/, 'reconcile_interval = "30s"'),
      );
      const agent = await startAgentProcess(home, { MCP_AGENT_AUTH_DISABLED: "true" });
      const client = agentClient(agent.url, mcrHome.caPem);
      const times: number[] = [];
      for (let i = 0; i < ITERATIONS; i++) {
        const def = {
          name: `bench${i}`,
          node: "node1",
          version: "v1",
          components: [{ name: "api", image, cmd: ["sleep", "3600"], routes: [{ name: "", port: 443, mode: "l4" }] }],
        } as unknown as ServiceDefinition;
        const t0 = performance.now();
        for await (const _ of client.deploy({ service: def.name, definition: def })) void _;
        times.push(performance.now() - t0);
        await client.remove({ service: def.name });
      }
      return { agent, client, times };
    };

    const graceless = await measureDeploys("0s");
    await graceless.agent.stop();
    const { agent, client, times: withGrace } = await measureDeploys("1s");

    // 50 of the agent's own containers (deployed through it, so they carry its labels), then List latency.
    for (let i = 0; i < CONTAINERS; i++) {
      const def = { name: `listed${i}`, node: "node1", version: "v1", components: [{ name: "api", image, cmd: ["sleep", "3600"] }] };
      for await (const _ of client.deploy({ service: def.name, definition: def as unknown as ServiceDefinition })) void _;
    }
    await new Promise((r) => setTimeout(r, 3000));
    const idle = rssMiB(agentPid(agent));
    const list: number[] = [];
    let count = 0;
    for (let i = 0; i < 20; i++) {
      const t0 = performance.now();
      count = (await client.list({})).containers.length;
      list.push(performance.now() - t0);
    }
    const afterList = rssMiB(agentPid(agent));

    // Idle: 10 open Events streams, nothing happening; CPU of the agent and of its podman API service.
    const streams = new AbortController();
    for (let i = 0; i < 10; i++)
      void (async () => {
        for await (const _ of client.events({}, { signal: streams.signal })) void _;
      })().catch(() => undefined);
    await new Promise((r) => setTimeout(r, 3000));
    const service = podmanServicePid(agentPid(agent));
    const before = [cpuTicks(agentPid(agent)), service ? cpuTicks(service) : 0];
    const IDLE_S = Number(process.env.IDLE_SECONDS ?? 30);
    await new Promise((r) => setTimeout(r, IDLE_S * 1000));
    const agentCpu = ((cpuTicks(agentPid(agent)) - before[0]!) / TICKS / IDLE_S) * 100;
    const serviceCpu = service ? ((cpuTicks(service) - before[1]!) / TICKS / IDLE_S) * 100 : NaN;
    streams.abort();
    const serviceRss = service ? rssMiB(service) : NaN;
    await agent.stop();

    const rawMed = median(raw);
    out.push(
      "mcp-agent benchmark",
      `  machine: ${execFileSync("nproc").toString().trim()} cores, podman ${(await pm.podman(["--version"])).trim().split(" ").pop()}, iterations ${ITERATIONS}`,
      "",
      "  deploy of a one-component busybox service (image already local)",
      `    raw podman run -d                 median ${ms(rawMed)}  (min ${ms(Math.min(...raw))})`,
      `    agent Deploy, start_grace 0s      median ${ms(median(graceless.times))}  ratio ${(median(graceless.times) / rawMed).toFixed(2)}x  (target <= 1.3x)`,
      `    agent Deploy, start_grace 1s      median ${ms(median(withGrace))}  ratio ${(median(withGrace) / rawMed).toFixed(2)}x  (the grace period is a deliberate wait)`,
      "",
      `  List with ${count} managed containers   median ${ms(median(list))}  p95 ${ms(p95(list))}  (target < 50 ms median)`,
      `  idle ${IDLE_S} s with ${count} containers, reconcile every 30 s, 10 Events streams open: agent CPU ${agentCpu.toFixed(2)}%, podman API service CPU ${serviceCpu.toFixed(2)}% (of one core)`,
      `  agent RSS: idle ${idle.toFixed(1)} MiB, after 20 Lists ${afterList.toFixed(1)} MiB; podman API service RSS ${serviceRss.toFixed(1)} MiB`,
    );
    process.stdout.write(out.join("\n") + "\n");
  } finally {
    await pm.cleanup();
    await mcr.stop();
    removeHome(mcrHome);
  }
}

main().catch((err) => {
  process.stderr.write(`bench/agent failed: ${(err as Error).stack}\n`);
  process.exit(1);
});
