// The command log: what this console did and how it ended, kept across runs in
// `$XDG_STATE_HOME/mcp/commands.log` (0600, folder 0700, as the credentials are). JSON Lines,
// one record per finished action, appended with O_APPEND in one write each, so that two
// consoles appending at once never interleave within a line. Bounded: past `rewriteAt`
// records the newest `keep` are written to a temporary file that is renamed over the log.
// A line that is not a record (a torn write, an edit by hand) is skipped and counted.
// Records hold no secrets: the callers give the command line (option values named like a
// password or token masked), never passwords, tokens, environment values or exec input/output.
import {
  chmodSync,
  closeSync,
  fstatSync,
  fchmodSync,
  mkdirSync,
  openSync,
  readFileSync,
  renameSync,
  statSync,
  unlinkSync,
  writeSync,
  writeFileSync,
  constants,
} from "node:fs";
import { join } from "node:path";
import { randomBytes } from "node:crypto";

export type CommandOutcome = "ok" | "failed" | "interrupted";

export interface CommandRecord {
  /** When it started, ISO 8601. */
  time: string;
  /** The command line (`mcp …`) or the TUI's action. */
  where: "cli" | "tui";
  command: string;
  /** The service, component, node, repository or rule it acted on; empty when none. */
  target: string;
  outcome: CommandOutcome;
  /** Why it failed or stopped; empty when it did not. */
  error: string;
  durationMs: number;
  /** A dry run (`gc --dry-run`, `prune --dry-run`): nothing was changed. */
  dryRun?: boolean;
}

export interface CommandLogRead {
  /** Oldest first. */
  records: CommandRecord[];
  /** Lines that were not a record. */
  skipped: number;
}

export const KEEP = 1000;
export const REWRITE_AT = 1200;
/** An error message longer than this is cut. */
const MAX_ERROR = 500;

export class CommandLog {
  readonly file: string;
  private readonly keep: number;
  private readonly rewriteAt: number;

  constructor(
    readonly dir: string,
    opts: { keep?: number; rewriteAt?: number } = {},
  ) {
    this.file = join(dir, "commands.log");
    this.keep = opts.keep ?? KEEP;
    this.rewriteAt = opts.rewriteAt ?? REWRITE_AT;
  }

  /** Appends one record (one write, O_APPEND); rewrites the log to the newest `keep` when it has grown past `rewriteAt`. */
  append(record: CommandRecord): void {
    this.ensureDir();
    const line = JSON.stringify(clean(record)) + "\n";
    const fd = openSync(this.file, constants.O_WRONLY | constants.O_APPEND | constants.O_CREAT, 0o600);
    try {
      if ((fstatSync(fd).mode & 0o077) !== 0) fchmodSync(fd, 0o600);
      writeSync(fd, line);
    } finally {
      closeSync(fd);
    }
    if (countLines(this.file) > this.rewriteAt) this.trim();
  }

  /** Every record, oldest first, and how many lines were skipped. A missing log is empty. */
  read(): CommandLogRead {
    let text: string;
    try {
      text = readFileSync(this.file, "utf8");
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === "ENOENT") return { records: [], skipped: 0 };
      throw err;
    }
    return parseLog(text);
  }

  private ensureDir(): void {
    mkdirSync(this.dir, { recursive: true, mode: 0o700 });
    if ((statSync(this.dir).mode & 0o077) !== 0) chmodSync(this.dir, 0o700);
  }

  /**
   * Keeps the newest `keep` records: a temporary file renamed over the log. Another console
   * trimming at the same time is kept out by a lock file (one older than 10 s is stale); an
   * append by another console meanwhile makes it read again, up to three times.
   */
  private trim(): void {
    const lock = `${this.file}.lock`;
    let lockFd: number;
    try {
      lockFd = openSync(lock, "wx", 0o600);
    } catch {
      try {
        if (Date.now() - statSync(lock).mtimeMs > 10_000) unlinkSync(lock);
      } catch {
        // gone meanwhile
      }
      return; // another console is trimming; the next append tries again
    }
    try {
      for (let attempt = 0; attempt < 3; attempt++) {
        const before = readFileSync(this.file);
        const { records } = parseLog(before.toString("utf8"));
        const kept = records.slice(-this.keep);
        const tmp = join(this.dir, `.commands.log.${randomBytes(4).toString("hex")}.tmp`);
        writeFileSync(tmp, kept.map((r) => JSON.stringify(r) + "\n").join(""), { mode: 0o600, flag: "wx" });
        if (statSync(this.file).size !== before.length) {
          unlinkSync(tmp); // appended to meanwhile: read it again
          continue;
        }
        renameSync(tmp, this.file);
        return;
      }
    } finally {
      closeSync(lockFd);
      unlinkSync(lock);
    }
  }
}

/** The records of a log's text, oldest first; lines that are not records are counted. */
export function parseLog(text: string): CommandLogRead {
  const records: CommandRecord[] = [];
  let skipped = 0;
  for (const line of text.split("\n")) {
    if (!line.trim()) continue;
    const r = toRecord(line);
    if (r) records.push(r);
    else skipped++;
  }
  return { records, skipped };
}

function toRecord(line: string): CommandRecord | null {
  let v: unknown;
  try {
    v = JSON.parse(line);
  } catch {
    return null;
  }
  if (typeof v !== "object" || v === null) return null;
  const r = v as Record<string, unknown>;
  const str = (k: string) => typeof r[k] === "string";
  if (!str("time") || !str("command") || (r.where !== "cli" && r.where !== "tui")) return null;
  if (r.outcome !== "ok" && r.outcome !== "failed" && r.outcome !== "interrupted") return null;
  if (typeof r.durationMs !== "number") return null;
  return clean({
    time: r.time as string,
    where: r.where,
    command: r.command as string,
    target: str("target") ? (r.target as string) : "",
    outcome: r.outcome,
    error: str("error") ? (r.error as string) : "",
    durationMs: r.durationMs,
    ...(r.dryRun === true ? { dryRun: true } : {}),
  });
}

/** Only the record's own fields, the error cut to one line of at most 500 characters. */
function clean(r: CommandRecord): CommandRecord {
  const error = r.error.replace(/\s+/g, " ").trim();
  return {
    time: r.time,
    where: r.where,
    command: r.command,
    target: r.target,
    outcome: r.outcome,
    error: error.length > MAX_ERROR ? `${error.slice(0, MAX_ERROR - 1)}…` : error,
    durationMs: Math.max(0, Math.round(r.durationMs)),
    ...(r.dryRun ? { dryRun: true } : {}),
  };
}

function countLines(file: string): number {
  const buf = readFileSync(file);
  let n = 0;
  for (const b of buf) if (b === 10) n++;
  return n;
}
