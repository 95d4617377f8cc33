// The API runtime's exec sessions, stats and images against real podman 4.3 through a
// `podman system service` it starts: exec without a TTY (two streams, stdin, EOF, exit code)
// and with one (a prompt, a resize the shell sees, `exit 3`), stats of a busy container above
// an idle one, and images listed and removed.
import assert from "node:assert/strict";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { podmanNode, type PodmanNode } from "../../../agent/runtime/podman-node.ts";
import { RuntimeError, type ExecOptions, type ExecSession, type Runtime } from "../../../agent/runtime/runtime.ts";
import { silentLogger } from "../../../lib/log/logger.ts";
import { createPodmanEnv, type PodmanEnv } from "../../helpers/podman.ts";
import { skipUnlessTools } from "../../helpers/tools.ts";
import { until } from "../../helpers/wait.ts";

const IMAGE = "localhost/mcp-test/bb-exec:1";
const RUN = `rtx${process.pid}`;

/** Reads a session's output as it comes: both streams so far, and a wait for a pattern. */
function collect(session: ExecSession) {
  const out = { stdout: "", stderr: "" };
  const ended = (async () => {
    for await (const o of session.output) out[o.stream] += Buffer.from(o.data).toString();
  })();
  return {
    out,
    ended,
    seen: (re: RegExp, what: string) => until(what, async () => (re.test(out.stdout) ? true : undefined), 15_000, 25),
  };
}

describe("podman API runtime: exec, stats, images (real podman)", { skip: skipUnlessTools("podman", "runc", "busybox") }, () => {
  let pm: PodmanEnv;
  let node: PodmanNode;
  let rt: Runtime;
  const box = `${RUN}-box`;
  const busy = `${RUN}-busy`;

  before(async () => {
    pm = createPodmanEnv();
    await pm.importBusybox(IMAGE);
    node = podmanNode({ command: "podman", env: pm.env, socketPath: join(pm.dir, "api.sock"), what: "the test's podman", log: silentLogger() });
    rt = node.runtime;
    await rt.run({ name: box, image: IMAGE, ports: [], volumes: [], labels: {}, cmd: ["sleep", "100000"] });
  });

  after(async () => {
    for (const name of [box, busy]) await rt?.remove(name, true).catch(() => undefined);
    await node?.stop();
    await pm?.cleanup();
  });

  const exec = async (cmd: string[], extra: Partial<ExecOptions> = {}) => {
    const session = await rt.exec(box, { cmd, tty: false, stdin: false, ...extra });
    const c = collect(session);
    await c.ended;
    return { ...c.out, exitCode: await session.exitCode() };
  };

  test("without a TTY: stdout and stderr apart, and the exit code", async () => {
    assert.deepEqual(await exec(["echo", "hi"]), { stdout: "hi\n", stderr: "", exitCode: 0 });
    assert.deepEqual(await exec(["sh", "-c", "echo out; echo err >&2; exit 3"]), { stdout: "out\n", stderr: "err\n", exitCode: 3 });
    // Output larger than one frame arrives whole.
    const big = await exec(["sh", "-c", "head -c 300000 /dev/zero | tr '\\0' x"]);
    assert.equal(big.stdout.length, 300000);
  });

  test("stdin reaches the process, and endInput is its EOF", async () => {
    const session = await rt.exec(box, { cmd: ["sh", "-c", "cat; echo done"], tty: false, stdin: true });
    const c = collect(session);
    session.write(Buffer.from("one\n"));
    await c.seen(/one\n/, "the first line echoed");
    session.write(Buffer.from("two\n"));
    session.endInput();
    await c.ended;
    assert.equal(c.out.stdout, "one\ntwo\ndone\n");
    assert.equal(await session.exitCode(), 0);
  });

  test("with a TTY: a prompt, the window size, a resize, and exit 3", async () => {
    const session = await rt.exec(box, { cmd: ["sh"], tty: true, stdin: true, size: { rows: 24, cols: 80 } });
    const c = collect(session);
    // busybox ash asks for the cursor position (ESC [6n) right after its prompt.
    await c.seen(/[#$] (\x1b\[6n)?$/, "the shell's prompt");
    session.write(Buffer.from("stty size\r"));
    await c.seen(/^24 80\r?$/m, "the first size");
    await session.resize(40, 100);
    session.write(Buffer.from("stty size\r"));
    await c.seen(/^40 100\r?$/m, "the new size");
    session.write(Buffer.from("exit 3\r"));
    await c.ended;
    assert.equal(await session.exitCode(), 3);
    assert.equal(c.out.stderr, "");
  });

  test("exec into a missing container fails naming it", async () => {
    await assert.rejects(rt.exec(`${RUN}-missing`, { cmd: ["true"], tty: false, stdin: false }), (e: unknown) => e instanceof RuntimeError);
  });

  test("stats: a busy loop above an idle sleep, with memory", async () => {
    await rt.run({ name: busy, image: IMAGE, ports: [], volumes: [], labels: {}, cmd: ["sh", "-c", "while :; do :; done"] });
    // CPU % is the change between two samples: the first ask primes it.
    await rt.stats();
    await new Promise((r) => setTimeout(r, 1000));
    const stats = await rt.stats();
    const of = (name: string) => stats.find((s) => s.name === name);
    assert.ok(of(busy) && of(box), JSON.stringify(stats));
    assert.ok(of(busy)!.cpuPercent > 20, `busy at ${of(busy)!.cpuPercent}%`);
    assert.ok(of(box)!.cpuPercent < 5, `idle at ${of(box)!.cpuPercent}%`);
    assert.ok(of(box)!.memUsedBytes > 0 && of(box)!.memLimitBytes >= of(box)!.memUsedBytes);
    await rt.remove(busy, true);
  });

  test("images: listed with size and names, removed by id, and a missing one is an error", async () => {
    await pm.podman(["tag", IMAGE, "localhost/mcp-test/bb-extra:1"]);
    const images = await rt.images();
    const extra = images.find((i) => i.names.includes("localhost/mcp-test/bb-extra:1"));
    assert.ok(extra && extra.sizeBytes > 0, JSON.stringify(images));
    // Tagged twice: removing by name untags only that name.
    await rt.removeImage("localhost/mcp-test/bb-extra:1");
    assert.ok(!(await rt.images()).some((i) => i.names.includes("localhost/mcp-test/bb-extra:1")));
    assert.ok(await rt.hasImage(IMAGE));
    await assert.rejects(rt.removeImage("localhost/mcp-test/never:1"), (e: unknown) => e instanceof RuntimeError);
  });
});
