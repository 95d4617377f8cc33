// Exec: a command, or a shell, in the running container of a service's component, over one
// bidirectional stream (proto/mcp/agent/v1/exec.proto). The container is found as Logs finds
// it: this agent's container of the component; another agent's under that name is refused.
// Who may is the policy's `agent:exec`. Every exec is audited in mcr before the process
// starts — no record, no exec — and again when it ends, with the exit code; the agent's own
// log has both lines whatever mcr says (docs/security.md, "Exec").
import { randomBytes } from "node:crypto";
import { Code, ConnectError, type HandlerContext } from "@connectrpc/connect";
import type { MessageInitShape } from "@bufbuild/protobuf";
import type { Logger } from "../../lib/log/logger.ts";
import { NAME_RE } from "../../lib/services/definition.ts";
import { quote } from "../../lib/text/quote.ts";
import { ExecStream, type ExecRequest, type ExecResponseSchema, type ExecStart } from "../../proto/gen/mcp/agent/v1/exec_pb.ts";
import type { ServiceController } from "../controller/controller.ts";
import type { ExecAudit, ExecAuditRecord } from "../registry/exec-audit.ts";
import type { RuntimeProvider } from "../runtime/provider.ts";
import type { ExecSession } from "../runtime/runtime.ts";
import type { Access } from "./access.ts";
import { callerKey } from "./interceptor.ts";
import type { StreamLimits } from "./stream-limits.ts";

/** What runs when the client names no command: the image's bash, else its sh. */
export const DEFAULT_SHELL = ["/bin/sh", "-c", "if [ -x /bin/bash ]; then exec /bin/bash; else exec /bin/sh; fi"];

/** Bounds of a start and of the messages after it (docs/agent.md, "Input the agent refuses"). */
export const EXEC_LIMITS = { args: 256, commandBytes: 65_536, rows: 1000, cols: 1000, chunkBytes: 65_536 } as const;

/** Failed `exec_finished` records are tried again this many times, this far apart (ms). */
const FINISH_RETRIES_MS = [1_000, 5_000, 30_000];

export interface ExecDeps {
  controller: ServiceController;
  runtimes: RuntimeProvider;
  access: Access;
  streams: StreamLimits;
  /** mcr's audit log; absent: an authenticated caller is refused (nothing could record the exec). */
  audit?: ExecAudit;
  node: string;
  log: Logger;
  /** Aborted when the agent shuts down: open execs end then. */
  closing?: AbortSignal;
  /** The agent's errors as Connect codes (agent-service.ts). */
  toConnectError: (err: unknown) => ConnectError;
}

type Response = MessageInitShape<typeof ExecResponseSchema>;

const invalid = (message: string) => new ConnectError(message, Code.InvalidArgument);

function checkName(what: string, name: string): string {
  if (!NAME_RE.test(name)) throw invalid(`invalid ${what} name ${quote(name)}`);
  return name;
}

function checkCommand(command: string[]): string[] {
  if (command.length > EXEC_LIMITS.args) throw invalid(`command: ${command.length} arguments; at most ${EXEC_LIMITS.args}`);
  let bytes = 0;
  for (const [i, arg] of command.entries()) {
    if (arg.includes("\0")) throw invalid(`command[${i}]: ${quote(arg)} contains NUL`);
    bytes += Buffer.byteLength(arg);
  }
  if (bytes > EXEC_LIMITS.commandBytes) throw invalid(`command: ${bytes} bytes; at most ${EXEC_LIMITS.commandBytes}`);
  if (command.length && !command[0]) throw invalid("command: the program name is empty");
  return command.length ? command : DEFAULT_SHELL;
}

/** A window size; 0 (unset) is the terminal's classic 24×80. */
function checkSize(rows: number, cols: number): { rows: number; cols: number } {
  const r = rows || 24;
  const c = cols || 80;
  if (r < 1 || r > EXEC_LIMITS.rows || c < 1 || c > EXEC_LIMITS.cols)
    throw invalid(`window size ${rows}x${cols}: rows must be 1-${EXEC_LIMITS.rows}, columns 1-${EXEC_LIMITS.cols}`);
  return { rows: r, cols: c };
}

/** The component an exec goes into: the named one, or the service's only one. */
function pickComponent(service: string, named: string, components: string[]): string {
  if (named) {
    if (!components.includes(checkName("component", named))) throw new ConnectError(`service ${service} has no component ${named}`, Code.NotFound);
    return named;
  }
  if (components.length === 1) return components[0]!;
  throw invalid(`service ${service} has ${components.length} components (${components.join(", ")}): name the one to exec into`);
}

/** Feeds the client's messages after the start to the process; resolves when the client has no more. */
async function pump(requests: AsyncIterator<ExecRequest>, start: ExecStart, session: ExecSession): Promise<void> {
  for (;;) {
    const next = await requests.next();
    if (next.done) break;
    const m = next.value.msg;
    switch (m.case) {
      case "stdin":
        if (!start.stdin) throw invalid("stdin: the start said the client sends none");
        if (m.value.length) session.write(m.value);
        break;
      case "resize": {
        if (!start.tty) break; // no terminal: nothing to size
        const size = checkSize(m.value.rows, m.value.cols);
        await session.resize(size.rows, size.cols);
        break;
      }
      case "stdinEof":
        session.endInput();
        break;
      case "start":
        throw invalid("an Exec has one start, its first message");
      default:
        throw invalid("an Exec message must carry stdin, a resize or stdin_eof");
    }
  }
  session.endInput();
}

/** Resolves to the exit code, or to undefined once `signal` aborts first. */
function exitOrAbort(session: ExecSession, signal: AbortSignal): Promise<number | undefined> {
  if (signal.aborted) return Promise.resolve(undefined);
  return new Promise((resolve, reject) => {
    const stop = () => resolve(undefined);
    signal.addEventListener("abort", stop, { once: true });
    session.exitCode().then(
      (code) => (signal.removeEventListener("abort", stop), resolve(code)),
      (err) => (signal.removeEventListener("abort", stop), reject(err)),
    );
  });
}

export async function* execStream(d: ExecDeps, requests: AsyncIterable<ExecRequest>, ctx: HandlerContext): AsyncGenerator<Response> {
  const guard = async <T>(fn: () => Promise<T>): Promise<T> => {
    try {
      return await fn();
    } catch (err) {
      throw d.toConnectError(err);
    }
  };
  const input = requests[Symbol.asyncIterator]();
  const first = await input.next();
  if (first.done || first.value.msg.case !== "start") throw invalid("the first message of an Exec must be its start (service, component, command)");
  const start = first.value.msg.value;
  const service = checkName("service", start.service);
  d.access.check(ctx, "agent:exec", service);
  const def = await guard(() => d.controller.definitionOf(service));
  const component = pickComponent(
    service,
    start.component,
    def.components.map((c) => c.name),
  );
  const cmd = checkCommand(start.command);
  const size = start.tty ? checkSize(start.rows, start.cols) : undefined;
  const { runtime } = await guard(() => d.runtimes.forService(service));
  const container = d.controller.containerOf(service, component);
  const info = await guard(() => d.controller.ownership.ownNamed(runtime, container, "not exec'd into"));
  if (!info) throw new ConnectError(`component ${component} of ${service} has no container (${container}): deploy it first`, Code.NotFound);
  if (info.state !== "running") throw new ConnectError(`container ${container} is ${info.state}, not running: start it first`, Code.FailedPrecondition);

  const claims = ctx.values.get(callerKey);
  const release = d.streams.acquire(d.access.subjectOf(ctx));
  const began = Date.now();
  const base: Omit<ExecAuditRecord, "type"> = {
    execId: randomBytes(8).toString("hex"),
    actor: claims?.subject ?? "",
    username: claims?.username ?? "",
    node: d.node,
    service,
    component,
    container,
    command: cmd,
    tty: start.tty,
  };
  const fields = { exec_id: base.execId, user: base.username, service, component, container, command: cmd, tty: start.tty };
  const finished: { exitCode?: number; error?: string } = {};
  let session: ExecSession | undefined;
  let audited = false; // exec_started is recorded (or there is nowhere to record it): its end is recorded too
  try {
    if (!d.audit) {
      if (claims) {
        d.log.warn(fields, "exec refused: no registry account to record it in the platform's audit log");
        throw new ConnectError(
          "exec is refused: this agent has no registry account ([registry] username) to record it in the platform's audit log",
          Code.FailedPrecondition,
        );
      }
      d.log.warn(fields, "exec with authentication off: recorded in this log only");
    } else {
      try {
        await d.audit.record({ type: "exec_started", ...base });
      } catch (err) {
        d.log.error({ ...fields, err: (err as Error).message }, "exec refused: the audit log in mcr did not record it");
        throw new ConnectError(`exec is refused: the platform's audit log (mcr) did not record it: ${(err as Error).message}`, Code.Unavailable);
      }
    }
    audited = true;
    d.log.info(fields, "exec started");
    session = await guard(() => runtime.exec(container, { cmd, tty: start.tty, stdin: start.stdin, ...(size ? { size } : {}) }));
    const s = session;
    // The process ends for the client's going away and for the agent's shutdown; its output then ends too.
    const ended = d.closing ? AbortSignal.any([ctx.signal, d.closing]) : ctx.signal;
    const stop = () => s.close();
    ended.addEventListener("abort", stop, { once: true });
    let inputError: unknown;
    pump(input, start, s).catch((err) => {
      if (ended.aborted) return;
      inputError = err;
      s.close();
    });
    try {
      for await (const o of s.output) {
        const stream = o.stream === "stderr" ? ExecStream.STDERR : ExecStream.STDOUT;
        for (let at = 0; at < o.data.length; at += EXEC_LIMITS.chunkBytes)
          yield { msg: { case: "output", value: { stream, data: o.data.subarray(at, at + EXEC_LIMITS.chunkBytes) } } };
      }
      if (inputError) throw inputError;
      const code = await exitOrAbort(s, ended);
      if (code === undefined) {
        finished.error = ctx.signal.aborted ? "the client went away" : "the agent shut down";
        if (!ctx.signal.aborted) throw new ConnectError("the agent is shutting down: the exec was ended", Code.Unavailable);
        return;
      }
      finished.exitCode = code;
      yield { msg: { case: "exitCode", value: code } };
    } finally {
      ended.removeEventListener("abort", stop);
    }
  } catch (err) {
    finished.error ??= err instanceof ConnectError ? err.rawMessage : (err as Error).message;
    throw d.toConnectError(err);
  } finally {
    session?.close();
    release();
    if (audited) {
      if (finished.exitCode === undefined && finished.error === undefined) finished.error = "the client went away";
      const durationMs = Date.now() - began;
      d.log.info({ ...fields, exit_code: finished.exitCode, error: finished.error, duration_ms: durationMs }, "exec finished");
      if (d.audit) await recordFinish(d, { type: "exec_finished", ...base, ...finished, durationMs }, fields);
    }
  }
}

/** Records the end of an exec: waits for the first attempt; failed ones are tried again in the background and logged. */
async function recordFinish(d: ExecDeps, record: ExecAuditRecord, fields: Record<string, unknown>): Promise<void> {
  const attempt = () => d.audit!.record(record);
  try {
    await attempt();
    return;
  } catch (err) {
    d.log.warn({ ...fields, err: (err as Error).message }, "the end of an exec could not be recorded in mcr's audit log; trying again");
  }
  void (async () => {
    for (const ms of FINISH_RETRIES_MS) {
      await new Promise((resolve) => setTimeout(resolve, ms).unref());
      try {
        await attempt();
        return;
      } catch {
        /* the next attempt, or the error below */
      }
    }
    d.log.error({ ...fields, exit_code: record.exitCode }, "the end of an exec was not recorded in mcr's audit log (this log has it)");
  })();
}
