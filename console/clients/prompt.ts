// Asking the operator at the terminal: a line, a secret read in raw mode without echo, or y/N.
import { createInterface } from "node:readline/promises";
import { ConsoleError } from "../output/errors.ts";

type In = NodeJS.ReadStream;

export function canPrompt(stdin: In): boolean {
  return Boolean(stdin.isTTY);
}

/** Reads one line; `secret`: nothing is echoed (raw mode), Ctrl-C and Ctrl-D cancel. */
export function prompt(question: string, stdin: In, stderr: NodeJS.WritableStream, secret = false): Promise<string> {
  if (!stdin.isTTY) return Promise.reject(new ConsoleError("usage", "standard input is not a terminal to ask on"));
  stderr.write(question);
  return new Promise((resolve, reject) => {
    let value = "";
    const wasRaw = stdin.isRaw;
    stdin.setRawMode(true);
    stdin.resume();
    const done = (err?: Error) => {
      stdin.off("data", onData);
      stdin.setRawMode(wasRaw);
      stdin.pause();
      stderr.write("\n");
      if (err) reject(err);
      else resolve(value);
    };
    const onData = (chunk: Buffer) => {
      for (const ch of chunk.toString("utf8")) {
        if (ch === "\r" || ch === "\n") return done();
        if (ch === "\u0003" || ch === "\u0004") return done(new ConsoleError("usage", "canceled"));
        if (ch === "\u007f" || ch === "\b") {
          if (value.length > 0) {
            value = value.slice(0, -1);
            if (!secret) stderr.write("\b \b");
          }
          continue;
        }
        if (ch < " ") continue;
        value += ch;
        if (!secret) stderr.write(ch);
      }
    };
    stdin.on("data", onData);
  });
}

/** Asks `question` with `[y/N]` on `stderr`; only y or yes (any case) is yes. */
export async function confirm(question: string, stdin: In, stderr: NodeJS.WritableStream = process.stderr): Promise<boolean> {
  const rl = createInterface({ input: stdin, output: stderr });
  try {
    return /^y(es)?$/i.test((await rl.question(`${question} [y/N] `)).trim());
  } finally {
    rl.close();
  }
}

/** All of standard input, without the final newline (for --password-stdin). */
export async function readStdin(stdin: NodeJS.ReadableStream): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const c of stdin) chunks.push(Buffer.isBuffer(c) ? c : Buffer.from(c as string));
  return Buffer.concat(chunks)
    .toString("utf8")
    .replace(/\r?\n$/, "");
}
