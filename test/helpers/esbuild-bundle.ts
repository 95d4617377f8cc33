// Bundles a small entry with esbuild plugins of the build (scripts/*.mjs), for tests that check
// what those plugins make of a dependency: the bundle is written to `dir` and its path returned.
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { build, type Plugin } from "esbuild";

export async function bundleWith(plugins: Plugin[], dir: string, entry: string): Promise<string> {
  const out = await build({
    stdin: { contents: entry, resolveDir: dir, loader: "js" },
    bundle: true,
    platform: "node",
    format: "esm",
    write: false,
    logLevel: "silent",
    plugins,
  });
  const file = join(dir, "bundle.mjs");
  writeFileSync(file, out.outputFiles[0]!.text);
  return file;
}
