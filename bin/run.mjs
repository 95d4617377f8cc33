// What bin/mcr, bin/mcp-agent and bin/mcp run (it lives beside them, so that an image or an
// install that ships bin/, dist/ and node_modules/ alone has it): the built entry dist/<name>.js, in this same
// process (signals reach the daemon; no shell or helper process is started first). In a
// checkout with the build tools, a missing build is made first; lib/cli/launch.ts rebuilds
// a stale one. Plain JavaScript, so that it runs without tsx.
import { execFileSync } from "node:child_process";
import { existsSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";

const root = dirname(dirname(fileURLToPath(import.meta.url))); // bin/ is one level below the root

export async function run(name) {
  const entry = join(root, "dist", `${name}.js`);
  if (!existsSync(entry)) {
    const build = join(root, "scripts", "build.mjs");
    if (!existsSync(build) || !existsSync(join(root, "node_modules", "esbuild", "package.json"))) {
      process.stderr.write(`${name}: not built: run 'npm run build' in ${root}\n`);
      process.exit(1);
    }
    process.stderr.write(`${name}: not built yet: building ${join(root, "dist")}\n`);
    try {
      execFileSync(process.execPath, [build], { stdio: ["ignore", 2, 2] });
    } catch {
      process.exit(1);
    }
  }
  await import(pathToFileURL(entry).href);
}
