// What each built binary runs first (registry/entry.ts, agent/entry.ts, console/entry.ts):
// make sure the build is not stale, answer --version without loading commander or anything
// else, then load the binary's main.ts.
//
// A stale build never runs. In a checkout that has the build tools (node_modules/esbuild),
// it is rebuilt, saying so on stderr, and the new bundle runs in this same process (same
// pid, so signals still reach the daemon). Without them (an install of dist/ only), the
// binary exits 1 and says which file is newer and what to run.
import { execFileSync } from "node:child_process";
import { existsSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { version } from "../version.ts";
import { staleReason } from "./build-check.ts";

/** Defined (true) by scripts/build.mjs; absent when the sources run under tsx. */
declare const __MCP_BUILD__: boolean | undefined;

/** Set once a process has rebuilt, so that a build that is still stale fails instead of looping. */
const REBUILT = Symbol.for("metacircular.rebuilt");

export async function launch(name: string, bundleUrl: string, loadMain: () => Promise<unknown>): Promise<void> {
  if (typeof __MCP_BUILD__ !== "undefined" && (await rebuiltInstead(name, bundleUrl))) return;
  const first = process.argv[2];
  if (first === "--version" || first === "-V") {
    process.stdout.write(`${version}\n`);
    return;
  }
  await loadMain();
}

/** True when a fresh build was made and has run in this process in place of this one. */
async function rebuiltInstead(name: string, bundleUrl: string): Promise<boolean> {
  const bundle = fileURLToPath(bundleUrl);
  const dist = dirname(bundle);
  const root = dirname(dist);
  const reason = staleReason(root, dist, name);
  if (!reason) return false;
  const fail = (why: string): never => {
    process.stderr.write(`${name}: the build in ${dist} is out of date: ${why}.\n${name}: run \`npm run build\` in ${root}\n`);
    process.exit(1);
  };
  const g = globalThis as Record<symbol, unknown>;
  const build = join(root, "scripts", "build.mjs");
  if (g[REBUILT] || !existsSync(build) || !existsSync(join(root, "node_modules", "esbuild", "package.json"))) fail(reason);
  process.stderr.write(`${name}: ${reason}: rebuilding ${dist}\n`);
  try {
    execFileSync(process.execPath, [build], { stdio: ["ignore", 2, 2] }); // stdout stays the command's
  } catch {
    fail(`${reason}, and the build failed`);
  }
  g[REBUILT] = true;
  // A new URL is a new module instance: the fresh bundle, checked again, then its main.ts.
  await import(`${pathToFileURL(bundle).href}?rebuilt=${Date.now()}`);
  return true;
}
