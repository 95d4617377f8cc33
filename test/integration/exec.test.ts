// Exec against the real mcr, agent and podman: a command without a TTY (its output by stream,
// its exit code), a shell with one (a prompt, a resize that `stty size` sees, `exit 3`);
// both ends of each exec in mcr's audit log, as `mcp audit` shows them; `mcp exec` without a
// terminal and with --json; a user without agent:exec refused; and no exec while mcr cannot
// record it.
import assert from "node:assert/strict";
import { rmSync } from "node:fs";
import { after, before, describe, test } from "node:test";
import { create } from "@bufbuild/protobuf";
import { Code, ConnectError, type CallOptions, type Client } from "@connectrpc/connect";
import { Channel } from "../../lib/sync/channel.ts";
import type { AgentService, ServiceDefinition } from "../../proto/gen/mcp/agent/v1/agent_pb.ts";
import { ExecRequestSchema, ExecStream, type ExecRequest, type ExecStart } from "../../proto/gen/mcp/agent/v1/exec_pb.ts";
import { AuditService } from "../../proto/gen/mcr/v1/audit_pb.ts";
import { mcp } from "../helpers/console.ts";
import { RegistryClient } from "../helpers/https-client.ts";
import { addAccount, adminClient, bearer, login } from "../helpers/identity.ts";
import { adminConsole, startPlatform, type TestPlatform } from "../helpers/platform.ts";
import { skipUnlessTools } from "../helpers/tools.ts";
import { until } from "../helpers/wait.ts";

const IMAGE = "localhost/exec-test/busybox:1";

const startMsg = (s: Partial<Omit<ExecStart, "$typeName" | "$unknown">>) =>
  create(ExecRequestSchema, { msg: { case: "start", value: { service: "box", ...s } } });
const stdin = (text: string) => create(ExecRequestSchema, { msg: { case: "stdin", value: Buffer.from(text) } });
const resize = (rows: number, cols: number) => create(ExecRequestSchema, { msg: { case: "resize", value: { rows, cols } } });

/** An exec kept open: its output so far, a wait for a pattern in it, and its exit code. */
function openExec(client: Client<typeof AgentService>, opts: CallOptions, start: ExecRequest) {
  const input = new Channel<ExecRequest>();
  input.push(start);
  const out = { stdout: "", stderr: "" };
  const done = (async () => {
    let code: number | undefined;
    for await (const r of client.exec(input, opts)) {
      if (r.msg.case === "output") out[r.msg.value.stream === ExecStream.STDERR ? "stderr" : "stdout"] += Buffer.from(r.msg.value.data).toString();
      else if (r.msg.case === "exitCode") code = r.msg.value;
    }
    input.close();
    return code;
  })();
  done.catch(() => undefined);
  return {
    out,
    send: (m: ExecRequest) => input.push(m),
    end: () => input.close(),
    done,
    seen: (re: RegExp, what: string) => until(what, async () => (re.test(out.stdout) ? true : undefined), 20_000, 50),
  };
}

describe("Exec with the real agent and podman", { skip: skipUnlessTools("podman", "busybox", "runc") }, () => {
  let platform: TestPlatform;
  let client: Client<typeof AgentService>;
  let admin: CallOptions;
  let alice: CallOptions;
  let dir: string;
  let env: NodeJS.ProcessEnv;

  const run = async (start: Partial<Omit<ExecStart, "$typeName" | "$unknown">>, as: CallOptions = admin) => {
    const e = openExec(client, as, startMsg(start));
    e.end();
    const exitCode = await e.done;
    return { ...e.out, exitCode };
  };

  before(async () => {
    let alicePassword = "";
    platform = await startPlatform({
      // The agent's own account records the execs in mcr's audit log.
      agentAccount: { username: "agent-exec", type: "system", roles: ["user"] },
      beforeMcr: async (home) => void (alicePassword = await addAccount(home, "alice", "human", ["user"])),
    });
    client = platform.agentClient();
    admin = bearer(platform.agentAdminToken);
    alice = bearer(await login(new RegistryClient(platform.mcr.url, platform.mcrHome.caPem), "alice", alicePassword, "mcp-agent"));
    await platform.pm.importBusybox(IMAGE);
    const def = { name: "box", node: "node1", version: "v1", components: [{ name: "api", image: IMAGE, cmd: ["sleep", "100000"] }] };
    for await (const _ of client.deploy({ service: "box", definition: def as unknown as ServiceDefinition }, admin));
    ({ dir, env } = await adminConsole(platform, "mcp-exec-it-"));
  });

  after(async () => {
    await platform?.stop();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  test("without a TTY: the output by stream and the exit code", async () => {
    assert.deepEqual(await run({ command: ["echo", "hi"] }), { stdout: "hi\n", stderr: "", exitCode: 0 });
    assert.equal((await run({ component: "api", command: ["sh", "-c", "exit 3"] })).exitCode, 3);
    assert.deepEqual(await run({ command: ["sh", "-c", "echo out; echo err >&2; exit 4"] }), { stdout: "out\n", stderr: "err\n", exitCode: 4 });
    const e = openExec(client, admin, startMsg({ command: ["cat"], stdin: true }));
    e.send(stdin("piped\n"));
    e.end();
    assert.equal(await e.done, 0);
    assert.equal(e.out.stdout, "piped\n");
  });

  test("with a TTY: a shell prompt, a resize that stty sees, and exit 3", async () => {
    const e = openExec(client, admin, startMsg({ tty: true, stdin: true, rows: 24, cols: 80 }));
    // busybox ash asks for the cursor position (ESC [6n) right after its prompt.
    await e.seen(/[#$] (\x1b\[6n)?$/, "the shell's prompt");
    e.send(stdin("busybox stty size\r"));
    await e.seen(/^24 80\r?$/m, "the first size");
    e.send(resize(40, 100));
    e.send(stdin("busybox stty size\r"));
    await e.seen(/^40 100\r?$/m, "the new size");
    e.send(stdin("exit 3\r"));
    assert.equal(await e.done, 3);
    assert.equal(e.out.stderr, "", "a TTY has one stream");
  });

  test("both ends of every exec are in mcr's audit log, and mcp audit shows them", async () => {
    await run({ command: ["sh", "-c", "exit 3"] });
    const audit = adminClient(AuditService, platform.mcr.url, platform.mcrHome.caPem);
    const { events } = await audit.listEvents({ type: "exec_finished", limit: 100 }, bearer(platform.adminToken));
    const ended = events.find((e) => e.details.command === "sh -c 'exit 3'");
    assert.ok(ended, `no exec_finished for sh -c 'exit 3' among ${events.length} events`);
    assert.deepEqual(
      [
        ended.details.node,
        ended.details.service,
        ended.details.component,
        ended.details.tty,
        ended.details.exit_code,
        ended.details.user,
        ended.details.reporter,
      ],
      ["node1", "box", "api", "false", "3", "admin", "agent-exec"],
    );
    const started = (await audit.listEvents({ type: "exec_started", limit: 100 }, bearer(platform.adminToken))).events.find(
      (e) => e.details.exec_id === ended.details.exec_id,
    );
    assert.ok(started && started.actor === ended.actor && started.actor !== "");
    const shown = await mcp(["audit", "--type", "exec_finished", "--json"], env);
    assert.equal(shown.code, 0, shown.stderr);
    assert.ok(shown.json().events.some((e: { details: Record<string, string> }) => e.details.exec_id === ended.details.exec_id));
    const plain = await mcp(["audit", "--type", "exec_finished"], env);
    assert.match(plain.stdout, /exec_finished +admin .*command=sh -c 'exit 3'.*exit_code=3/);
  });

  test("mcp exec without a terminal, and with --json", async () => {
    const hi = await mcp(["exec", "box", "--", "echo", "hi"], env);
    assert.deepEqual([hi.code, hi.stdout, hi.stderr], [0, "hi\n", ""]);
    const three = await mcp(["exec", "box", "api", "--", "sh", "-c", "echo out; echo err >&2; exit 3"], env);
    assert.deepEqual([three.code, three.stdout, three.stderr], [3, "out\n", "err\n"]);
    const json = await mcp(["exec", "--json", "box", "--", "sh", "-c", "echo out; exit 3"], env);
    assert.deepEqual([json.code, json.json()], [3, { exitCode: 3, stdout: "out\n", stderr: "" }]);
    const piped = await mcp(["exec", "box", "--", "cat"], env, "from the pipe\n");
    assert.deepEqual([piped.code, piped.stdout], [0, "from the pipe\n"]);
    const unknown = await mcp(["exec", "box", "db", "--", "echo"], env);
    assert.equal(unknown.code, 3, unknown.stderr);
    assert.match(unknown.stderr, /service box has no component db/);
  });

  test("a user without agent:exec is refused, and nothing runs", async () => {
    await assert.rejects(
      run({ command: ["touch", "/by-alice"] }, alice),
      (e: unknown) => e instanceof ConnectError && e.code === Code.PermissionDenied && /alice may not exec into service box/.test(e.rawMessage),
    );
    assert.equal((await run({ command: ["ls", "/by-alice"] })).exitCode, 1);
  });

  test("no audit, no exec: with mcr stopped, an exec is refused before anything runs", async () => {
    const container = (await client.list({}, admin)).containers.find((c) => c.service === "box")!.container;
    await platform.mcr.stop();
    await assert.rejects(run({ command: ["touch", "/while-mcr-was-down"] }), (e: unknown) => e instanceof ConnectError && e.code === Code.Unavailable);
    await assert.rejects(platform.pm.podman(["exec", container, "ls", "/while-mcr-was-down"]));
  });
});
