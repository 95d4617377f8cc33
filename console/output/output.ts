// Where a command's output goes. `--json`: stdout carries only the JSON document (or
// NDJSON records); plain and TTY: text on stdout, diagnostics on stderr.
import { errorDocument, type ConsoleError } from "./errors.ts";

export type Mode = "tty" | "plain" | "json";

/** Chosen once, from the argument list and stdout: `--json`, else a TTY, else plain text. */
export function pickMode(json: boolean, stdout: { isTTY?: boolean }): Mode {
  return json ? "json" : stdout.isTTY ? "tty" : "plain";
}

export class Output {
  constructor(
    readonly mode: Mode,
    readonly stdout: NodeJS.WritableStream & { columns?: number; rows?: number },
    readonly stderr: NodeJS.WritableStream,
    /** Colours allowed (a TTY and no NO_COLOR). */
    readonly color: boolean,
  ) {}

  /** The one JSON document of a finite command. */
  document(doc: unknown): void {
    this.stdout.write(JSON.stringify(doc) + "\n");
  }

  /** One NDJSON record of a stream. */
  record(obj: unknown): void {
    this.stdout.write(JSON.stringify(obj) + "\n");
  }

  text(s: string): void {
    this.stdout.write(s);
  }

  /** A diagnostic: stderr, never the JSON stream. */
  note(s: string): void {
    this.stderr.write(s.endsWith("\n") ? s : s + "\n");
  }

  error(e: ConsoleError): void {
    if (this.mode === "json") this.document(errorDocument(e));
    this.note(`mcp: ${e.message}`);
  }

  /** Resolves when everything written so far has reached the stream. */
  flush(): Promise<void> {
    return new Promise((resolve) => this.stdout.write("", () => resolve()));
  }
}
