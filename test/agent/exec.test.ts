// Exec on the fake runtime: output with its stream, stdin and its end, window sizes passed
// through, the exit code; the policy's agent:exec (admins, or a rule that names it); the
// audit records before and after (and no exec when mcr does not take the first); unknown
// services and components, a stopped container and another agent's container refused.
import assert from "node:assert/strict";
import { after, describe, test } from "node:test";
import { create } from "@bufbuild/protobuf";
import { Code, ConnectError, createContextValues, type HandlerContext } from "@connectrpc/connect";
import { silentLogger } from "../../lib/log/logger.ts";
import type { Rule } from "../../lib/policy/rules.ts";
import { ExecRequestSchema, ExecStream, type ExecRequest, type ExecStart } from "../../proto/gen/mcp/agent/v1/exec_pb.ts";
import { agentAccess, AgentPolicy } from "../../agent/rpc/access.ts";
import { agentService } from "../../agent/rpc/agent-service.ts";
import { DEFAULT_SHELL } from "../../agent/rpc/exec.ts";
import type { ExecAuditRecord } from "../../agent/registry/exec-audit.ts";
import { SharedRuntime } from "../../agent/runtime/provider.ts";
import type { ExecOptions } from "../../agent/runtime/runtime.ts";
import { Channel } from "../../lib/sync/channel.ts";
import { agentOn, claims, removeAgents, serviceDef } from "../helpers/agent-service-fixture.ts";
import { FakeRuntime } from "../helpers/fake-runtime.ts";

after(removeAgents);

const admin = claims("root", ["admin"]);
const alice = claims("alice", ["user"]);
const anonymous = { values: createContextValues(), signal: new AbortController().signal } as unknown as HandlerContext;
const EXEC_FOR_USERS: Rule = {
  id: 7,
  priority: 10,
  description: "team execs into shop",
  effect: "allow",
  roles: ["user"],
  actions: ["agent:exec"],
  services: ["shop"],
};

const startMsg = (s: Partial<Omit<ExecStart, "$typeName" | "$unknown">>) =>
  create(ExecRequestSchema, { msg: { case: "start", value: { service: "shop", ...s } } });
const stdin = (text: string) => create(ExecRequestSchema, { msg: { case: "stdin", value: Buffer.from(text) } });
const resize = (rows: number, cols: number) => create(ExecRequestSchema, { msg: { case: "resize", value: { rows, cols } } });
const eof = () => create(ExecRequestSchema, { msg: { case: "stdinEof", value: true } });

interface Setup {
  rules?: Rule[];
  /** Absent: no audit log at all. */
  audit?: "ok" | "down" | "none";
}

/** Agent a on a fake podman with shop deployed (one component, api), its AgentService with an audit log that keeps what it is given. */
async function setup(o: Setup = {}) {
  const rt = new FakeRuntime();
  const a = await agentOn(rt, "aaaaaaaaaaaa", "a-");
  await a.deploy(serviceDef("shop"));
  const records: ExecAuditRecord[] = [];
  const execAudit =
    o.audit === "none"
      ? undefined
      : {
          record: async (e: ExecAuditRecord) => {
            if (o.audit === "down") throw new Error("connect ECONNREFUSED 127.0.0.1:8443");
            records.push(e);
          },
        };
  const log = silentLogger();
  const policy = new AgentPolicy(log, async () => o.rules ?? []);
  await policy.start(0);
  const service = agentService({
    controller: a.controller,
    store: a.store,
    runtimes: new SharedRuntime(rt, {}),
    node: "n1",
    version: "test",
    log,
    access: agentAccess(policy),
    ...(execAudit ? { execAudit } : {}),
  });
  // The sessions the runtime made, with the options they were made with and the sizes they were given.
  const sessions: { opts: ExecOptions; sizes: [number, number][] }[] = [];
  const exec = rt.exec.bind(rt);
  rt.exec = async (name, opts) => {
    const s = await exec(name, opts);
    const seen = { opts, sizes: [] as [number, number][] };
    sessions.push(seen);
    return { ...s, resize: async (rows, cols) => (seen.sizes.push([rows, cols]), s.resize(rows, cols)) };
  };
  return { rt, a, service, records, sessions };
}

/** Runs one exec: its messages (a Channel to keep it open), collected output per stream and the exit code. */
async function run(service: Awaited<ReturnType<typeof setup>>["service"], ctx: HandlerContext, messages: AsyncIterable<ExecRequest> | ExecRequest[]) {
  const requests =
    Symbol.asyncIterator in messages
      ? messages
      : (async function* () {
          yield* messages;
        })();
  const out = { stdout: "", stderr: "", exitCode: undefined as number | undefined, messages: 0 };
  for await (const r of service.exec!(requests, ctx)) {
    out.messages++;
    if (r.msg?.case === "output") {
      const text = Buffer.from(r.msg.value.data as Uint8Array).toString();
      if (r.msg.value.stream === ExecStream.STDERR) out.stderr += text;
      else out.stdout += text;
    } else if (r.msg?.case === "exitCode") out.exitCode = r.msg.value;
  }
  return out;
}

const refused = (code: Code, re: RegExp) => (e: unknown) => e instanceof ConnectError && e.code === code && re.test(e.rawMessage);

describe("Exec", () => {
  test("output marked by stream, then the exit code", async () => {
    const { service, sessions } = await setup();
    assert.deepEqual(await run(service, admin, [startMsg({ command: ["echo", "hi", "there"] })]), {
      stdout: "hi there\n",
      stderr: "",
      exitCode: 0,
      messages: 2,
    });
    assert.equal((await run(service, admin, [startMsg({ command: ["exit", "3"] })])).exitCode, 3);
    const missing = await run(service, admin, [startMsg({ component: "api", command: ["nope"] })]);
    assert.deepEqual([missing.stderr, missing.exitCode], ["nope: not found\n", 127]);
    assert.deepEqual(
      sessions.map((s) => [s.opts.cmd, s.opts.tty, s.opts.stdin]),
      [
        [["echo", "hi", "there"], false, false],
        [["exit", "3"], false, false],
        [["nope"], false, false],
      ],
    );
  });

  test("stdin reaches the process, and its end ends it", async () => {
    const { service } = await setup();
    const input = new Channel<ExecRequest>();
    input.push(startMsg({ command: ["cat"], stdin: true }));
    input.push(stdin("one "));
    input.push(stdin("two"));
    input.push(eof());
    const out = await run(service, admin, input);
    assert.deepEqual([out.stdout, out.exitCode], ["one two", 0]);
    // Ending the request stream is the end of stdin too.
    const closed = await run(service, admin, [startMsg({ command: ["cat"], stdin: true }), stdin("x")]);
    assert.deepEqual([closed.stdout, closed.exitCode], ["x", 0]);
    await assert.rejects(
      run(service, admin, [startMsg({ command: ["cat"] }), stdin("x")]),
      refused(Code.InvalidArgument, /the start said the client sends none/),
    );
  });

  test("a TTY: the initial size and every resize reach the runtime; no command is the image's shell", async () => {
    const { service, sessions, rt } = await setup();
    const input = new Channel<ExecRequest>();
    input.push(startMsg({ tty: true, stdin: true, rows: 30, cols: 100, command: ["cat"] }));
    input.push(resize(50, 132));
    input.push(resize(51, 133));
    input.push(stdin("ls\r"));
    input.push(eof());
    const out = await run(service, admin, input);
    assert.deepEqual([out.stdout, out.exitCode], ["ls\r", 0]);
    assert.deepEqual(sessions[0]!.opts.size, { rows: 30, cols: 100 });
    assert.equal(sessions[0]!.opts.tty, true);
    assert.deepEqual(sessions[0]!.sizes, [
      [50, 132],
      [51, 133],
    ]);
    // Unset sizes are 24x80; a size out of bounds is refused.
    await run(service, admin, [startMsg({ tty: true })]);
    assert.deepEqual(sessions[1]!.opts.size, { rows: 24, cols: 80 });
    assert.deepEqual(sessions[1]!.opts.cmd, DEFAULT_SHELL);
    assert.ok(rt.calls.includes(`exec a-shop-api ${DEFAULT_SHELL.join(" ")}`));
    await assert.rejects(run(service, admin, [startMsg({ tty: true, rows: 5000, cols: 80 })]), refused(Code.InvalidArgument, /window size 5000x80/));
  });

  test("agent:exec: admins may; a user only where a rule allows it, not with agent:read alone", async () => {
    const plain = await setup();
    await assert.rejects(
      run(plain.service, alice, [startMsg({ command: ["echo", "hi"] })]),
      refused(Code.PermissionDenied, /alice may not exec into service shop: no policy rule allows agent:exec on it/),
    );
    assert.equal(plain.sessions.length, 0, "nothing ran");
    assert.equal(plain.records.length, 0, "nothing is recorded for a refusal of the policy");
    const ruled = await setup({ rules: [EXEC_FOR_USERS] });
    assert.equal((await run(ruled.service, alice, [startMsg({ command: ["echo", "hi"] })])).stdout, "hi\n");
    const deny: Rule = { id: 8, priority: 1, description: "no shells in prod", effect: "deny", actions: ["agent:exec"], services: ["shop"] };
    const denied = await setup({ rules: [EXEC_FOR_USERS, deny] });
    await assert.rejects(
      run(denied.service, alice, [startMsg({ command: ["echo"] })]),
      refused(Code.PermissionDenied, /policy rule 8 \(no shells in prod\) denies agent:exec/),
    );
  });

  test("audited: exec_started before the process, exec_finished with the exit code", async () => {
    const { service, records } = await setup();
    await run(service, admin, [startMsg({ command: ["sh", "-c", "exit 3"] })]);
    assert.deepEqual(
      records.map((r) => r.type),
      ["exec_started", "exec_finished"],
    );
    const [started, ended] = records as [ExecAuditRecord, ExecAuditRecord];
    assert.deepEqual(
      { ...started, execId: "" },
      {
        type: "exec_started",
        execId: "",
        actor: "uuid-root",
        username: "root",
        node: "n1",
        service: "shop",
        component: "api",
        container: "a-shop-api",
        command: ["sh", "-c", "exit 3"],
        tty: false,
      },
    );
    assert.match(started.execId, /^[0-9a-f]{16}$/);
    assert.equal(ended.execId, started.execId);
    assert.equal(ended.exitCode, 127, "the fake runtime has no sh");
    assert.equal(ended.error, undefined);
    assert.ok(ended.durationMs! >= 0);
  });

  test("no audit, no exec: mcr down refuses it before anything runs; without a registry account only with authentication off", async () => {
    const down = await setup({ audit: "down" });
    await assert.rejects(
      run(down.service, admin, [startMsg({ command: ["echo", "hi"] })]),
      refused(Code.Unavailable, /exec is refused: the platform's audit log \(mcr\) did not record it: connect ECONNREFUSED/),
    );
    assert.equal(down.sessions.length, 0);
    const none = await setup({ audit: "none" });
    await assert.rejects(run(none.service, admin, [startMsg({ command: ["echo", "hi"] })]), refused(Code.FailedPrecondition, /no registry account/));
    assert.equal(none.sessions.length, 0);
    assert.equal((await run(none.service, anonymous, [startMsg({ command: ["echo", "hi"] })])).stdout, "hi\n", "authentication off: logged by the agent only");
  });

  test("the client going away ends the process and is recorded as the end", async () => {
    const { service, records } = await setup();
    const client = new AbortController();
    const ctx = { values: admin.values, signal: client.signal } as HandlerContext;
    const input = new Channel<ExecRequest>();
    input.push(startMsg({ command: ["cat"], stdin: true }));
    input.push(stdin("a"));
    const out = { stdout: "" };
    const done = (async () => {
      for await (const r of service.exec!(input, ctx)) {
        if (r.msg?.case === "output") out.stdout += Buffer.from(r.msg.value.data as Uint8Array).toString();
        if (out.stdout === "a") client.abort();
      }
    })();
    await done;
    assert.equal(out.stdout, "a");
    assert.deepEqual(
      records.map((r) => [r.type, r.exitCode, r.error]),
      [
        ["exec_started", undefined, undefined],
        ["exec_finished", undefined, "the client went away"],
      ],
    );
  });

  test("unknown service or component, several components unnamed, a bad first message, a stopped container", async () => {
    const { service, a } = await setup();
    await assert.rejects(run(service, admin, [startMsg({ service: "nope" })]), refused(Code.NotFound, /service nope is not known on this node/));
    await assert.rejects(run(service, admin, [startMsg({ component: "web" })]), refused(Code.NotFound, /service shop has no component web/));
    await assert.rejects(run(service, admin, [startMsg({ service: "Bad Name" })]), refused(Code.InvalidArgument, /invalid service name/));
    await assert.rejects(run(service, admin, [stdin("x")]), refused(Code.InvalidArgument, /the first message of an Exec must be its start/));
    await assert.rejects(run(service, admin, []), refused(Code.InvalidArgument, /the first message/));
    await a.deploy(serviceDef("blog", "v1", ["api", "web"]));
    await assert.rejects(
      run(service, admin, [startMsg({ service: "blog" })]),
      refused(Code.InvalidArgument, /service blog has 2 components \(api, web\): name the one/),
    );
    assert.equal((await run(service, admin, [startMsg({ service: "blog", component: "web", command: ["echo", "w"] })])).stdout, "w\n");
    await a.controller.stop("blog", "web");
    await assert.rejects(
      run(service, admin, [startMsg({ service: "blog", component: "web" })]),
      refused(Code.FailedPrecondition, /a-blog-web is exited, not running/),
    );
    await assert.rejects(run(service, admin, [startMsg({ command: ["echo", "a\0b"] })]), refused(Code.InvalidArgument, /contains NUL/));
  });

  test("another agent's container under the name is refused, naming its holder", async () => {
    const rt = new FakeRuntime();
    const mine = await agentOn(rt, "aaaaaaaaaaaa", "x-");
    const theirs = await agentOn(rt, "bbbbbbbbbbbb", "x-");
    await theirs.deploy(serviceDef("shop"));
    await mine.store.putDefinition(serviceDef("shop"));
    const service = agentService({
      controller: mine.controller,
      store: mine.store,
      runtimes: new SharedRuntime(rt, {}),
      node: "n1",
      version: "test",
      log: silentLogger(),
      execAudit: { record: async () => undefined },
    });
    await assert.rejects(
      run(service, admin, [startMsg({ command: ["echo", "hi"] })]),
      refused(Code.FailedPrecondition, /container x-shop-api is held by agent bbbbbbbbbbbb \(node n1\), not by this agent \(aaaaaaaaaaaa\); not exec'd into/),
    );
    assert.ok(!rt.calls.some((c) => c.startsWith("exec")), "nothing ran in it");
  });
});
