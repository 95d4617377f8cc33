// Streams from the agents: container logs (a service without a component follows every
// component, merged) and lifecycle events. Lines land in a bounded ring buffer and are
// published in batches (every logFlushMs), not one state change per line.
import { EventsResponseSchema, LogStream } from "../../proto/gen/mcp/agent/v1/agent_pb.ts";
import { agentError, type ConsoleError } from "../output/errors.ts";
import { pickNodes, probe } from "./nodes.ts";
import { splitTarget } from "./services.ts";
import type { GetState, SetState, StoreDeps, StreamActions } from "./state.ts";
import type { AgentEventRow, LogLine } from "./types.ts";
import { reconnectDelay, ResumePoint, splitTimestamp } from "./log-resume.ts";
import { enumName, plain } from "./wire.ts";

/** Errors after which a follow reconnects; the others (session, not found) end it. */
const RETRY = new Set(["unreachable", "failed"]);

/** Resolves true after `ms`, false at once when `signal` aborts. */
function sleep(ms: number, signal?: AbortSignal): Promise<boolean> {
  return new Promise((resolve) => {
    if (signal?.aborted) return resolve(false);
    const t = setTimeout(() => (signal?.removeEventListener("abort", stop), resolve(true)), ms);
    const stop = () => (clearTimeout(t), resolve(false));
    signal?.addEventListener("abort", stop, { once: true });
  });
}

const KEEP_EVENTS = 1000;

export function streamActions(set: SetState, get: GetState, deps: StoreDeps): StreamActions {
  const capacity = deps.logCapacity ?? 5000;
  const flushMs = deps.logFlushMs ?? 50;

  /** The components whose logs `service` (without one named) means: the definition's, else the agent's. */
  const componentsOf = async (node: string, service: string): Promise<string[]> => {
    if (deps.definitions.has(service)) return deps.definitions.get(service).def.components.map((c) => c.name);
    try {
      const st = await deps.agents.client(node).status({ service }, deps.agents.call());
      return st.components.map((c) => c.component);
    } catch (err) {
      throw agentError(err, node);
    }
  };

  return {
    async followLogs(target, opts, signal) {
      const { service, part } = splitTarget(target);
      const node = await get().nodeOf(service);
      await probe(deps, node);
      const components = part ? [part] : await componentsOf(node, service);
      set((s) => ({ logs: { service, streams: Object.fromEntries(components.map((c) => [c, "connecting"])), lines: [], seq: s.logs.seq, dropped: 0 } }));
      let pending: Omit<LogLine, "seq">[] = [];
      const flush = () => {
        if (pending.length === 0) return;
        const batch = pending;
        pending = [];
        set((s) => {
          let seq = s.logs.seq;
          const lines = s.logs.lines.concat(batch.map((l) => ({ ...l, seq: ++seq })));
          const over = Math.max(0, lines.length - capacity);
          return { logs: { ...s.logs, seq, lines: over ? lines.slice(over) : lines, dropped: s.logs.dropped + over } };
        });
      };
      const timer = setInterval(flush, flushMs);
      const setStream = (c: string, state: string) => set((s) => ({ logs: { ...s.logs, streams: { ...s.logs.streams, [c]: state } } }));
      const errors: ConsoleError[] = [];
      try {
        await Promise.all(
          components.map(async (component) => {
            // A follow that breaks (agent restarted, connection dropped) reconnects with backoff
            // and resumes `since` the last line's time (log-resume.ts).
            const resume = new ResumePoint();
            for (let attempt = 0; ; attempt++) {
              try {
                const since = resume.time || opts.since;
                const req = { service, component, follow: opts.follow, tail: resume.time ? 0 : opts.tail, since, timestamps: true };
                const stream = deps.agents.client(node).logs(req, deps.agents.call({ stream: true, ...(signal ? { signal } : {}) }));
                setStream(component, "open");
                for await (const l of stream) {
                  const stamped = splitTimestamp(l.line);
                  if (stamped && resume.seen(stamped)) continue;
                  attempt = 0;
                  pending.push({
                    node,
                    service,
                    component: l.component || component,
                    stream: enumName(LogStream, l.stream, "stdout"),
                    line: stamped && !opts.timestamps ? stamped.text : l.line,
                  });
                  if (pending.length >= 1000) flush();
                }
                // The agent ended it (the container stopped, or a one-off read is done).
                return setStream(component, "ended");
              } catch (err) {
                if (signal?.aborted) return setStream(component, "ended");
                const e = agentError(err, node);
                if (!opts.follow || !RETRY.has(e.code)) {
                  errors.push(e);
                  return setStream(component, `error: ${e.message}`);
                }
                setStream(component, `reconnecting: ${e.message}`);
              }
              if (!(await sleep(reconnectDelay(attempt), signal))) return setStream(component, "ended");
              resume.reconnecting();
              setStream(component, `reconnecting (attempt ${attempt + 1})`);
            }
          }),
        );
      } finally {
        clearInterval(timer);
        flush();
      }
      if (errors.length > 0 && errors.length === components.length) throw errors[0];
    },

    async followEvents(service, signal, only) {
      const nodes = service ? [await get().nodeOf(service)] : await pickNodes(get, deps, only);
      const errors: ConsoleError[] = [];
      await Promise.all(
        nodes.map(async (node) => {
          try {
            await probe(deps, node);
            get().markNode(node, { ok: true });
            const stream = deps.agents.client(node).events({ service: service ?? "" }, deps.agents.call({ stream: true, ...(signal ? { signal } : {}) }));
            for await (const e of stream) {
              set((s) => {
                const row: AgentEventRow = { seq: s.eventSeq + 1, node, ...plain(EventsResponseSchema, e) };
                const events = s.events.length >= KEEP_EVENTS ? [...s.events.slice(1), row] : [...s.events, row];
                return { events, eventSeq: row.seq };
              });
            }
          } catch (err) {
            if (signal?.aborted) return;
            const e = agentError(err, node);
            get().markNode(node, { ok: false, error: e });
            errors.push(e);
          }
        }),
      );
      if (errors.length > 0 && errors.length === nodes.length) throw errors[0];
    },
  };
}
