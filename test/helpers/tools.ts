// Integration tests need real tools. Suites and tests declare them through their
// `skip` option, decided before they are declared (a suite's before hook cannot
// skip: Node 20's SuiteContext has no skip()). Locally a missing tool skips for
// real; on CI (CI=true) it fails the file, naming the tool, because .ci/run
// installs every one of them.
import { execFileSync } from "node:child_process";

export function hasTool(name: string): boolean {
  try {
    execFileSync("sh", ["-c", 'command -v "$1"', "sh", name], { stdio: "ignore" });
    return true;
  } catch {
    return false;
  }
}

/** A `skip` option value: false when there is no problem; the problem locally; on CI it throws. */
function skipOrFail(problem: string | undefined): string | false {
  if (problem === undefined) return false;
  if (process.env.CI === "true") throw new Error(`${problem} (required on CI)`);
  return problem;
}

/** `describe(name, { skip: skipUnlessTools("podman") }, …)`: false when every tool is on PATH. */
export function skipUnlessTools(...names: string[]): string | false {
  const missing = names.filter((n) => !hasTool(n));
  return skipOrFail(missing.length ? `missing tools: ${missing.join(", ")}` : undefined);
}

/** Like skipUnlessTools, for tests that must run as root (they create users or touch devices). */
export function skipUnlessRoot(): string | false {
  return skipOrFail(process.getuid?.() === 0 ? undefined : "needs root");
}
