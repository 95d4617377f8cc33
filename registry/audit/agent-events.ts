// What the agents report for the audit log (AuditService/RecordAgentEvent): an exec into a
// container, once before it starts and once when it ends. The agent says who asked it; mcr
// adds which account reported it (`reporter`), so a row names both. Every field is checked
// and bounded here, before anything is written.
import { NAME_RE } from "../../lib/services/definition.ts";
import { quote } from "../../lib/text/quote.ts";
import type { AuditEvent } from "./events.ts";

export const AGENT_EVENT_TYPES = ["exec_started", "exec_finished"] as const;
export type AgentEventType = (typeof AGENT_EVENT_TYPES)[number];

/** At most this many command arguments, and characters of the command as stored. */
export const AGENT_EVENT_LIMITS = { args: 256, command: 8192, text: 256, error: 1024 } as const;

export interface AgentEventReport {
  type: string;
  actor: string;
  username: string;
  node: string;
  service: string;
  component: string;
  container: string;
  command: string[];
  tty: boolean;
  execId: string;
  exitCode?: number;
  error: string;
  durationMs: bigint | number;
}

export class AgentEventError extends Error {
  override name = "AgentEventError";
}

// biome-ignore lint/suspicious/noControlCharactersInRegex: control characters are what it finds
const CONTROL = /[\u0000-\u001f\u007f]/;
const PLAIN = /^[A-Za-z0-9_./:=@%+,-]+$/;

/** `argv` as a shell would read it back: plain words as they are, others in single quotes, control characters as \xNN. */
export function shellJoin(argv: string[]): string {
  return argv
    .map((a) => {
      if (PLAIN.test(a)) return a;
      // biome-ignore lint/suspicious/noControlCharactersInRegex: control characters are what it escapes
      const body = a.replace(/'/g, "'\\''").replace(/[\u0000-\u001f\u007f]/g, (c) => `\\x${c.charCodeAt(0).toString(16).padStart(2, "0")}`);
      return `'${body}'`;
    })
    .join(" ");
}

function text(field: string, value: string, max: number, name = false): string {
  if (value.length > max) throw new AgentEventError(`${field}: ${quote(value)} is longer than ${max} characters`);
  if (CONTROL.test(value)) throw new AgentEventError(`${field}: ${quote(value)} contains a control character`);
  if (name && value && !NAME_RE.test(value)) throw new AgentEventError(`${field}: ${quote(value)} is not a valid name`);
  return value;
}

/** The audit event for `r`, reported by `reporter` (the caller's username; "" with authentication off); AgentEventError when a field is wrong. */
export function agentAuditEvent(r: AgentEventReport, reporter: string): AuditEvent {
  if (!(AGENT_EVENT_TYPES as readonly string[]).includes(r.type))
    throw new AgentEventError(`type: ${quote(r.type)} is not one of ${AGENT_EVENT_TYPES.join(", ")}`);
  const type = r.type as AgentEventType;
  const service = text("service", r.service, 63, true);
  if (!service) throw new AgentEventError("service is required");
  if (r.command.length > AGENT_EVENT_LIMITS.args) throw new AgentEventError(`command: ${r.command.length} arguments; at most ${AGENT_EVENT_LIMITS.args}`);
  const command = shellJoin(r.command);
  if (command.length > AGENT_EVENT_LIMITS.command) throw new AgentEventError(`command: longer than ${AGENT_EVENT_LIMITS.command} characters`);
  const details: Record<string, string> = {
    node: text("node", r.node, 253),
    service,
    component: text("component", r.component, 63, true),
    container: text("container", r.container, AGENT_EVENT_LIMITS.text),
    command,
    tty: String(r.tty),
    user: text("username", r.username, AGENT_EVENT_LIMITS.text),
    exec_id: text("exec_id", r.execId, 64),
    reporter,
  };
  if (type === "exec_finished") {
    if (r.exitCode !== undefined) details.exit_code = String(r.exitCode);
    // biome-ignore lint/suspicious/noControlCharactersInRegex: podman's messages may hold newlines
    const error = r.error.slice(0, AGENT_EVENT_LIMITS.error).replace(/[\u0000-\u001f\u007f]+/g, " ");
    if (error) details.error = error;
    details.duration_ms = String(Math.max(0, Number(r.durationMs)));
  }
  const actor = text("actor", r.actor, AGENT_EVENT_LIMITS.text);
  return { type, ...(actor ? { actor } : {}), details };
}
