// Exec: a command, or the image's shell, in a service's container on its node, over the
// agent's bidirectional Exec stream. The caller feeds stdin, window sizes and the end of
// stdin through `io.input` and gets the output as it comes; the exit code is the result. How
// a terminal is handed over (raw mode, resizes, restoring it) is console/tty/exec-terminal.ts.
import { create } from "@bufbuild/protobuf";
import { ExecRequestSchema, ExecStream, type ExecRequest } from "../../proto/gen/mcp/agent/v1/exec_pb.ts";
import { agentError, ConsoleError } from "../output/errors.ts";
import { probe } from "./nodes.ts";
import type { ExecActions, ExecInput, GetState, SetState, StoreDeps } from "./state.ts";

function message(i: ExecInput): ExecRequest {
  if ("stdin" in i) return create(ExecRequestSchema, { msg: { case: "stdin", value: i.stdin } });
  if ("resize" in i) return create(ExecRequestSchema, { msg: { case: "resize", value: i.resize } });
  return create(ExecRequestSchema, { msg: { case: "stdinEof", value: true } });
}

export function execActions(_set: SetState, get: GetState, deps: StoreDeps): ExecActions {
  return {
    async exec(o, io) {
      const node = await get().nodeOf(o.service);
      await probe(deps, node);
      const start = create(ExecRequestSchema, {
        msg: {
          case: "start",
          value: { service: o.service, component: o.component ?? "", command: o.command, tty: o.tty, stdin: o.stdin, rows: o.rows ?? 0, cols: o.cols ?? 0 },
        },
      });
      // The stream of requests ends with the input, or when the answer has ended (the process is gone).
      let answered = false;
      async function* requests() {
        yield start;
        if (!io.input) return;
        for await (const i of io.input) {
          if (answered) return;
          yield message(i);
        }
      }
      let code: number | undefined;
      try {
        const replies = deps.agents.client(node).exec(requests(), deps.agents.call({ stream: true, ...(io.signal ? { signal: io.signal } : {}) }));
        for await (const r of replies) {
          if (r.msg.case === "output") io.output(r.msg.value.stream === ExecStream.STDERR ? "stderr" : "stdout", r.msg.value.data);
          else if (r.msg.case === "exitCode") code = r.msg.value;
        }
      } catch (err) {
        throw agentError(err, node);
      } finally {
        answered = true;
      }
      if (code === undefined) throw new ConsoleError("failed", `node ${node}: the exec of ${o.service} ended without an exit code`);
      return code;
    },
  };
}
