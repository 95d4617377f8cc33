// A Describe answer as sections, read top to bottom like `kubectl describe`: the service,
// then per component what runs (container, state, image and its id and digest, command,
// restarts, times), its environment (secrets as the agent masked them), mounts, ports and
// labels (`mcp describe` and the TUI's describe screen).
import { cell, type Cell, type Section } from "../output/screen.ts";
import type { ComponentDescriptionRow, ServiceDescription } from "../store/describe-types.ts";
import { stateCell } from "./format.ts";

/** A command line as a shell would take it back: arguments with spaces or quotes in single quotes. */
export function shellWords(args: string[]): string {
  return args.map((a) => (/^[\w@%+=:,./-]+$/.test(a) ? a : `'${a.replace(/'/g, `'\\''`)}'`)).join(" ");
}

/** A two-column table of names and values (no header). */
function fields(title: string, rows: [string, Cell | string][]): Section {
  return { title, columns: ["", ""], rows: rows.map(([k, v]) => [cell(k, "dim"), typeof v === "string" ? cell(v || "-", v ? "" : "dim") : v]) };
}

const yesNo = (b: boolean) => (b ? "yes" : "no");

function stateText(c: ComponentDescriptionRow): Cell {
  const exit = c.exitCode === null ? "" : `exit code ${c.exitCode}, `;
  const s = stateCell(c.state);
  return { ...s, text: `${c.state} (${exit}desired ${c.desiredState})` };
}

const ENV_SOURCE: Record<string, string> = { env_file: "from the agent's env file of the container", definition: "planned from the definition" };

function componentSections(c: ComponentDescriptionRow): Section[] {
  const masked = c.maskedEnv ? `, ${c.maskedEnv} masked` : "";
  const restarts = `${c.restartPolicy || "-"}; restarted ${c.restartCount} ${c.restartCount === 1 ? "time" : "times"}`;
  const rows: [string, Cell | string][] = [
    ["container", c.container],
    ["id", c.containerId],
    ["state", stateText(c)],
    ["image", c.image],
    ["image id", c.imageId],
    ["image digest", c.imageDigest],
    ["entrypoint", shellWords(c.entrypoint)],
    ["command", shellWords(c.command)],
    ["user", c.user],
    ["working dir", c.workingDir],
    ["network", c.network],
    ["restart", restarts],
    ["created", c.createdAt],
    ["started", c.startedAt],
  ];
  if (c.exitCode !== null) rows.push(["finished", c.finishedAt]);
  return [
    fields(`component ${c.component}`, rows),
    {
      title: `${c.component}: environment (${c.env.length}${masked}; ${ENV_SOURCE[c.envSource] ?? c.envSource})`,
      columns: ["name", "value"],
      rows: c.env.map((e) => [cell(e.name), cell(e.value, e.masked ? "dim" : "")]),
      empty: "none",
    },
    {
      title: `${c.component}: mounts`,
      columns: ["source", "destination", "mode", "type", "options"],
      drop: ["options", "type"],
      rows: c.mounts.map((m) => [cell(m.source), cell(m.destination), cell(m.readWrite ? "rw" : "ro"), cell(m.type), cell(m.options.join(",") || "-")]),
      empty: "none",
    },
    {
      title: `${c.component}: ports`,
      columns: ["host", "container", "route"],
      rows: c.ports.map((p) => [cell(`${p.hostIp || "*"}:${p.hostPort}`), cell(`${p.containerPort}/${p.protocol}`), cell(p.route || "-")]),
      empty: "none",
    },
    {
      title: `${c.component}: labels`,
      columns: ["label", "value"],
      rows: Object.keys(c.labels)
        .sort()
        .map((k) => [cell(k), cell(c.labels[k]!)]),
      empty: "none",
    },
  ];
}

/** The service, then each component's sections. */
export function describeSections(d: ServiceDescription): Section[] {
  const p = d.placement;
  const placement = p
    ? `user ${p.user} (uid ${p.uid}), storage ${p.storageRoot}, ${p.isolation}, environment ${p.environment}, ports ${p.ports[0] ?? ""}-${p.ports[p.ports.length - 1] ?? ""}`
    : "none (no SMEP placement on this node)";
  const service = fields(`${d.service} ${d.version} on ${d.node}`, [
    ["service", d.service],
    ["version", d.version],
    ["node", d.node],
    ["active", yesNo(d.active)],
    ["components", d.components.map((c) => c.component).join(", ")],
    ["placement", placement],
  ]);
  return [service, ...d.components.flatMap(componentSections)];
}

/** What the agent could not describe, and why: the service's notes, then each component's. */
export function describeNotes(d: ServiceDescription): Cell[] {
  return [...d.notes.map((n) => cell(n, "warn")), ...d.components.flatMap((c) => c.notes.map((n) => cell(`${c.component}: ${n}`, "warn")))];
}

/** The --json document: the whole description, as the console keeps it. */
export const describeDocument = (d: ServiceDescription) => d;
