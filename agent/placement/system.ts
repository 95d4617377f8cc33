// Running host commands for placement (useradd, mount, ss): argument arrays,
// errors that carry the command's own stderr.
import { execFile } from "node:child_process";

export class HostCommandError extends Error {
  override name = "HostCommandError";
  constructor(
    message: string,
    readonly exitCode: number | null,
    readonly stderr: string,
  ) {
    super(message);
  }
}

export function runHost(cmd: string, args: string[], input?: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = execFile(cmd, args, { encoding: "utf8", timeout: 120_000 }, (err, stdout, stderr) => {
      if (!err) return resolve(stdout);
      const e = err as NodeJS.ErrnoException;
      const why = e.code === "ENOENT" ? "not installed (ENOENT)" : `exit ${typeof e.code === "number" ? e.code : "?"}`;
      reject(
        new HostCommandError(
          `${cmd} ${args.join(" ")} failed (${why})${stderr.trim() ? `: ${stderr.trim()}` : ""}`,
          typeof e.code === "number" ? e.code : null,
          stderr,
        ),
      );
    });
    child.stdin?.on("error", () => undefined);
    child.stdin?.end(input ?? "");
  });
}
