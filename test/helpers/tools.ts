// Integration tests need real tools. Locally a missing tool skips the test;
// on CI (CI=true) it fails, because .ci/run installs every one of them.
import { execFileSync } from "node:child_process";
import type { TestContext } from "node:test";

export function hasTool(name: string): boolean {
  try {
    execFileSync("sh", ["-c", `command -v ${name}`], { stdio: "ignore" });
    return true;
  } catch {
    return false;
  }
}

/** Returns true when the test may go on; on CI a missing tool throws. */
export function requireTools(t: TestContext, ...names: string[]): boolean {
  const missing = names.filter((n) => !hasTool(n));
  if (missing.length === 0) return true;
  if (process.env.CI === "true") throw new Error(`required tools missing on CI: ${missing.join(", ")}`);
  t.skip(`missing tools: ${missing.join(", ")}`);
  return false;
}
