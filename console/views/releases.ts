// A service's releases as a table (`mcp history`, the TUI's history screen): newest first,
// who deployed what and how it ended; a rollback names the release it put back.
import { cell, type Section } from "../output/screen.ts";
import type { ReleaseRow } from "../store/types.ts";
import { stateCell, uptime } from "./format.ts";

/** The images of a release, one per component: the digest when the agent recorded one (shortened), else the image. */
export function releaseImages(r: ReleaseRow): string {
  return r.images.map((i) => `${i.component}=${i.digest ? i.digest.replace(/@sha256:([0-9a-f]{12})[0-9a-f]+$/, "@$1") : i.image}`).join(" ");
}

export function releasesSection(service: string, rows: ReleaseRow[], now = Date.now()): Section {
  return {
    title: `releases of ${service}`,
    columns: ["release", "age", "by", "version", "result", "images", "note"],
    drop: ["images", "by", "note"],
    empty: `${service} has no releases yet (each deploy makes one)`,
    rows: rows.map((r) => [
      cell(r.number),
      cell(`${uptime(r.time, now)} ago`),
      cell(r.actor || "-"),
      cell(r.version),
      stateCell(r.result),
      cell(releaseImages(r), "dim"),
      cell(r.rollbackOf ? `rollback to ${r.rollbackOf}` : r.result === "failed" ? r.message : "", r.result === "failed" ? "bad" : "dim"),
    ]),
  };
}
