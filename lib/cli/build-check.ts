// Is a built binary older than its sources? scripts/build.mjs writes dist/build.json:
// the time the build started and, per binary, every project file bundled into it. A
// file changed (mtime) after that time, or gone, makes the build stale. Costs one small
// read and a stat per source file (about a millisecond for a binary).
import { readFileSync, statSync } from "node:fs";
import { join } from "node:path";

export interface BuildInfo {
  version: string;
  /** Date.now() when the build started: a source written after it may be missing from the bundle. */
  builtAt: number;
  binaries: Record<string, { entry: string; sources: string[] }>;
}

export const BUILD_INFO = "build.json";

/**
 * Why the binary `name` built into `distDir` must not run, or undefined when it is fresh.
 * `root` is the checkout the build came from; without the binary's entry source there (an
 * install that ships only dist/ and node_modules/), there is nothing to compare.
 */
export function staleReason(root: string, distDir: string, name: string): string | undefined {
  let info: BuildInfo;
  try {
    info = JSON.parse(readFileSync(join(distDir, BUILD_INFO), "utf8")) as BuildInfo;
  } catch (err) {
    return `cannot read ${join(distDir, BUILD_INFO)} (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`;
  }
  const bin = info.binaries?.[name];
  if (!bin) return `${join(distDir, BUILD_INFO)} does not list ${name}`;
  if (!statSync(join(root, bin.entry), { throwIfNoEntry: false })) return undefined;
  for (const source of bin.sources) {
    const st = statSync(join(root, source), { throwIfNoEntry: false });
    if (!st) return `${source} was removed after the build`;
    if (st.mtimeMs > info.builtAt) return `${source} changed after the build`;
  }
  return undefined;
}
