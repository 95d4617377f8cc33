#!/usr/bin/env node
// `npm run build`: two esbuild bundles per binary in dist/, run by bin/<name> with plain
// node: <name>.js, the small entry (the stale-build check and --version), and
// <name>-main.js, everything else, which the entry imports only when it is needed. So
// `--version` reads a few kilobytes of JavaScript instead of megabytes (docs/performance.md). dist/build.json records when the build started and
// which project files went into each bundle; lib/cli/launch.ts never runs a bundle older
// than any of them. Plain JavaScript so that it runs without tsx.
import { mkdirSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync } from "node:fs";
import { basename, dirname, join, relative } from "node:path";
import { fileURLToPath } from "node:url";
import { build } from "esbuild";
import { boundedInkCaches } from "./ink-caches.mjs";

const root = dirname(dirname(fileURLToPath(import.meta.url)));
const dist = join(root, "dist");
const BINARIES = { mcr: "registry/entry.ts", "mcp-agent": "agent/entry.ts", mcp: "console/entry.ts" };
// Native addons load a .node file next to their own sources: they stay in node_modules.
// react-devtools-core is Ink's optional peer (loaded only with DEV=true), not installed.
// pg and the AWS SDK are loaded only when [database] url or [storage] backend = "s3" is set:
// left out of the bundle they do not add 1.7 MB for V8 to read at every start (docs/performance.md).
// docker-modem (the agent's podman API client) pulls in ssh2, whose optional native addons cannot be bundled.
const EXTERNAL = ["better-sqlite3", "docker-modem", "react-devtools-core", "pg", "@aws-sdk/client-s3", "@aws-sdk/lib-storage", "@aws-sdk/s3-request-presigner"];
const EXTERNAL_RE = new RegExp(`^(${EXTERNAL.join("|")})$`);
// Files that change a bundle without being bundled themselves.
const ALSO = ["package.json", "package-lock.json", "scripts/build.mjs", "scripts/ink-caches.mjs"];

/**
 * An ESM import of an external package is linked when the bundle loads, before any code
 * runs: better-sqlite3 would be loaded for `--version`. This turns each such import into
 * a require() inside the bundle, which runs only when the importing module is first used.
 */
const lazyExternals = {
  name: "lazy-externals",
  setup(b) {
    b.onResolve({ filter: EXTERNAL_RE }, (a) =>
      a.namespace === "lazy-external" ? { path: a.path, external: true } : { path: a.path, namespace: "lazy-external" },
    );
    b.onLoad({ filter: /.*/, namespace: "lazy-external" }, (a) => ({ contents: `module.exports = require(${JSON.stringify(a.path)});`, loader: "js" }));
  },
};

/** The entry's `import("./main.ts")` stays an import of the main bundle beside it. */
const ENTRY_FILES = new Set(Object.values(BINARIES));
const mainOf = Object.fromEntries(Object.entries(BINARIES).map(([name, entry]) => [entry, `./${name}-main.js`]));
const splitMain = {
  name: "split-main",
  setup(b) {
    b.onResolve({ filter: /^\.\/main\.ts$/ }, (a) => {
      const importer = relative(root, a.importer);
      return ENTRY_FILES.has(importer) ? { path: mainOf[importer], external: true } : undefined;
    });
  },
};

const started = Date.now();
const pkg = JSON.parse(readFileSync(join(root, "package.json"), "utf8"));
// $MCP_VERSION (e.g. `git describe` in an image build, deploy/Containerfile.*) overrides package.json's.
const version = process.env.MCP_VERSION || pkg.version;
const result = await build({
  absWorkingDir: root,
  entryPoints: Object.entries(BINARIES).flatMap(([out, entry]) => [
    { in: entry, out },
    { in: join(dirname(entry), "main.ts"), out: `${out}-main` },
  ]),
  outdir: dist,
  bundle: true,
  platform: "node",
  format: "esm",
  target: "node20",
  plugins: [splitMain, lazyExternals, boundedInkCaches],
  // Bundled CommonJS packages call require() for Node's built-ins; ESM has no require.
  banner: { js: 'import { createRequire as __mcpCreateRequire } from "node:module";\nconst require = __mcpCreateRequire(import.meta.url);' },
  // React (the TUI) in its production build: the development one checks and times every
  // render (performance.measure per component) and cost the idle TUI most of its CPU.
  define: { __MCP_VERSION__: JSON.stringify(version), __MCP_BUILD__: "true", "process.env.NODE_ENV": '"production"' },
  sourcemap: "linked",
  metafile: true,
  write: false,
  logLevel: "warning",
});

mkdirSync(dist, { recursive: true });
// Each file is written beside its place and renamed: a binary started during a build
// reads either the old file or the new one, never half of one.
const writeAtomic = (path, data) => {
  const tmp = `${path}.tmp-${process.pid}`;
  writeFileSync(tmp, data);
  renameSync(tmp, path);
};
const written = new Set();
for (const f of result.outputFiles) {
  writeAtomic(f.path, f.contents);
  written.add(basename(f.path));
}

const binaries = {};
for (const [name, entry] of Object.entries(BINARIES)) {
  const outs = [`${name}.js`, `${name}-main.js`].map((f) => result.metafile.outputs[relative(root, join(dist, f))]);
  if (outs.some((o) => !o)) throw new Error(`esbuild produced no dist/${name}.js or dist/${name}-main.js`);
  // Project files only: not node_modules (package-lock.json stands for them), not the plugin's stubs.
  const sources = [...new Set(outs.flatMap((o) => Object.keys(o.inputs)))].filter((p) => !p.startsWith("node_modules/") && !p.startsWith("lazy-external:"));
  binaries[name] = { entry, sources: [...sources, ...ALSO].sort() };
}
// Last, so that a bundle is never paired with the record of an older build.
writeAtomic(join(dist, "build.json"), JSON.stringify({ version, builtAt: started, binaries }, null, 1) + "\n");
written.add("build.json");
// Files of older builds go; another build's temporary files (binaries rebuild themselves
// when stale, possibly several at once) are left to their own rename.
for (const f of readdirSync(dist)) if (!written.has(f) && !f.includes(".tmp-")) rmSync(join(dist, f), { recursive: true, force: true });

const sizes = Object.keys(BINARIES).map(
  (n) =>
    `${n}.js ${(result.metafile.outputs[`dist/${n}.js`].bytes / 1e3).toFixed(0)} kB + ${(result.metafile.outputs[`dist/${n}-main.js`].bytes / 1e6).toFixed(1)} MB`,
);
process.stdout.write(`build: dist/ ${sizes.join(", ")} in ${Date.now() - started} ms\n`);
