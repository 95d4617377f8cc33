// The registry's own state as the console shows it: its readiness (`mcp status`, `mcp nodes`,
// the TUI's header and registry screen) and its integrity check (`mcp registry check`, the
// TUI's check screen), with the value `--verify` (or the screen's prompt) takes.
import { ConsoleError } from "../output/errors.ts";
import { cell, type Cell, type Section } from "../output/screen.ts";
import { bytes } from "../../lib/text/bytes.ts";
import type { CheckRow, RegistryHealth, VerifySample } from "../store/mcr-types.ts";
import { count } from "./format.ts";

/** The largest number of blobs asked for by number, as mcr takes it (more is "all"). */
export const MAX_VERIFY = 1_000_000_000;

/** `--verify`'s value: a whole number of blobs from 1, or "all"; a usage error naming the value otherwise. */
export function parseVerify(text: string, what = "--verify"): VerifySample {
  const t = text.trim();
  if (t === "all") return "all";
  if (/^\d{1,10}$/.test(t)) {
    const n = Number(t);
    if (n >= 1 && n <= MAX_VERIFY) return n;
  }
  throw new ConsoleError("usage", `${what} takes a number of blobs to read back (1 to ${MAX_VERIFY}) or "all", not ${JSON.stringify(text.slice(0, 100))}`);
}

/** The blob store in words: `filesystem /srv/mcr/layers`, `s3 s3://bucket/prefix`. */
const storeText = (h: RegistryHealth) => (h.storage ? `${h.storage.backend} ${h.storage.location}` : "");

/** The registry's state in one line: what is ok, or what does not answer. */
export function healthText(h: RegistryHealth): string {
  if (h.status === "ok") {
    const store = h.storage ? `, blob store ${storeText(h)} ${h.storage.status}` : "";
    return `registry ok: database ${h.database || "ok"}${store}`;
  }
  return h.status === "unavailable" ? `registry not ready: ${h.error}` : `registry unreachable: ${h.error}`;
}

export const healthCell = (h: RegistryHealth): Cell => cell(healthText(h), h.status === "ok" ? "ok" : "bad");

/** `mcp status` and `mcp nodes`: the registry as a table of one row. */
export function healthSection(h: RegistryHealth): Section {
  const tone = h.status === "ok" ? "ok" : "bad";
  return {
    title: "registry",
    columns: ["url", "state", "version", "database", "blob store", "reason"],
    rows: [
      [
        cell(h.url),
        cell(h.status, tone),
        cell(h.version || "-"),
        cell(h.database || "-", h.database ? tone : "dim"),
        cell(storeText(h) || "-", h.storage ? tone : "dim"),
        cell(h.error, "bad"),
      ],
    ],
  };
}

/** What was read back, in words. */
function verifiedText(r: CheckRow): string {
  const v = r.verification;
  if (!v) return "none (--verify N or all reads blobs back and hashes them)";
  return `${count(v.blobs, "blob")}, ${bytes(v.bytes)}`;
}

/** A check's summary as a two-column table. */
export function checkSummary(title: string, r: CheckRow): Section {
  const rows: [string, string, Cell["tone"]][] = [
    ["integrity", r.integrityErrors.length ? count(r.integrityErrors.length, "error") : "ok", r.integrityErrors.length ? "bad" : "ok"],
    ["blob rows", String(r.blobRows), ""],
    ["missing", `${count(r.missingFiles.length, "row")} without a file`, r.missingFiles.length ? "bad" : ""],
    ["orphans", `${count(r.orphanFiles.length, "file")} without a row`, r.orphanFiles.length ? "warn" : ""],
    ["read back", verifiedText(r), ""],
    ["corrupt", r.verification ? String(r.verification.corrupt.length) : "-", r.verification?.corrupt.length ? "bad" : ""],
  ];
  return { title, columns: ["", ""], rows: rows.map(([k, v, tone]) => [cell(k, "dim"), cell(v, tone)]) };
}

/** The verdict, as `mcr check` ends: `ok`, or `PROBLEMS FOUND` (integrity errors, rows without a file or blobs that do not match; files without a row alone are no problem). */
export const checkVerdict = (r: CheckRow): Cell => (r.ok ? cell("ok", "ok") : cell("PROBLEMS FOUND", "bad"));

/** What a check in progress is doing. */
export const checkPending = (verify: VerifySample | null) =>
  verify === null
    ? "checking the registry"
    : verify === "all"
      ? "checking the registry, reading every blob back"
      : `checking the registry, reading ${count(verify, "blob")} back`;

/** A digest cut to its first 12 hex digits (`sha256:0123456789ab`), for a narrow screen. */
export const shortDigest = (d: string) => d.replace(/^([a-z0-9]+:)([0-9a-f]{12})[0-9a-f]+$/, "$1$2");

/**
 * Every problem a check found, worst first: integrity errors, blobs that do not match their
 * digest, rows without a file, files without a row. `digest` shows a digest (whole by default).
 */
export function checkProblems(r: CheckRow, digest: (d: string) => string = (d) => d): Cell[][] {
  return [
    ...r.integrityErrors.map((e) => [cell("integrity", "bad"), cell("-"), cell(e)]),
    ...(r.verification?.corrupt ?? []).map((c) => [cell("corrupt", "bad"), cell(digest(c.digest)), cell(c.problem)]),
    ...r.missingFiles.map((d) => [cell("missing", "bad"), cell(digest(d)), cell("a row without its file: pulls of it fail")]),
    ...r.orphanFiles.map((d) => [cell("orphan", "warn"), cell(digest(d)), cell("a file without a row (mcp gc --reconcile removes it)")]),
  ];
}

/** The problems as a table of at most `limit` rows. */
export function checkProblemsSection(r: CheckRow, limit = Number.POSITIVE_INFINITY, digest?: (d: string) => string): Section {
  return {
    columns: ["problem", "blob", "detail"],
    rows: checkProblems(r, digest).slice(0, Math.max(0, limit)),
    empty: "no problems",
  };
}

/** What is left out of a table cut to `limit` rows. */
export function checkMoreNote(r: CheckRow, limit: number): Cell[] {
  const more = checkProblems(r).length - limit;
  return more > 0 ? [cell(`… and ${more} more (mcp registry check --json lists them all)`, "dim")] : [];
}
