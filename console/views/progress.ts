// Build and deploy progress as the commands show it: NDJSON records, plain lines, and the
// live TTY view (images with their layers, components with their phases).
import { cell, type Screen, type Section } from "../output/screen.ts";
import type { ConsoleState } from "../store/state.ts";
import type { BuildEvent, DeployEvent } from "../store/types.ts";
import { stateCell } from "./format.ts";
import type { StreamFormat } from "./view.ts";

export type ProgressEvent = ({ type: "build" } & BuildEvent) | ({ type: "deploy" } & DeployEvent);

export const progressEvents = (s: ConsoleState): ProgressEvent[] =>
  [...s.buildEvents.map((e) => ({ type: "build" as const, ...e })), ...s.deployEvents.map((e) => ({ type: "deploy" as const, ...e }))].sort(
    (a, b) => a.seq - b.seq,
  );

export const progressFormat: StreamFormat<ProgressEvent> = {
  select: progressEvents,
  seq: (e) => e.seq,
  record: ({ seq: _seq, ...e }) => e,
  line: (e) =>
    e.type === "build"
      ? `${e.image}  ${e.phase}  ${e.message}`
      : e.phase === "done"
        ? `${e.service}  done  ${e.message}`
        : `${e.component}  ${e.phase}  ${e.message}`,
};

/** Every image the store has checked or built, or those of `refs`. */
export function imagesSection(s: ConsoleState, refs?: string[]): Section {
  const rows = Object.values(s.images)
    .filter((i) => !refs || refs.includes(i.ref))
    .map((i) => {
      const layers = Object.values(i.layers);
      const done = layers.filter((l) => l !== "copying").length;
      return [cell(i.image), cell(i.ref), stateCell(i.phase), cell(layers.length ? `${done}/${layers.length}` : ""), cell(i.message, "dim")];
    });
  return { title: "images", columns: ["image", "ref", "phase", "layers", "last output"], rows, drop: ["ref", "layers"] };
}

/** What the image check found odd in the definitions, as notes. */
export const warningNotes = (s: ConsoleState) => s.buildWarnings.map((w) => cell(`warning: ${w}`, "warn"));

/**
 * The deployment in the store (of `service`, when given: the TUI's screen shows no other).
 * `withError: false` leaves its error out, for `mcp deploy`, whose error is printed once after the view.
 */
export function deployScreen(s: ConsoleState, done: boolean, service?: string, withError = true): Screen {
  const d = s.deployment && (!service || s.deployment.service === service) ? s.deployment : null;
  const sections: Section[] = [];
  const images = imagesSection(s, d?.images ?? []);
  if (images.rows.length) sections.push(images);
  if (d && (d.node || Object.keys(d.components).length)) {
    sections.push({
      title: d.rollbackTo ? `rollback of ${d.service} to release ${d.rollbackTo} on ${d.node}` : `deploy ${d.service} on ${d.node}`,
      columns: ["component", "phase", "image", "message"],
      drop: ["image"],
      rows: Object.entries(d.components).map(([c, p]) => [cell(c), stateCell(p.phase), cell(p.image), cell(p.message, p.phase === "failed" ? "bad" : "dim")]),
    });
  }
  const notes = [...warningNotes(s), ...(d?.error && withError ? [cell(d.error.message, "bad")] : [])];
  return { sections, notes, ...(done ? {} : { pending: d?.state === "building" ? "building missing images" : "deploying" }) };
}
