#!/usr/bin/env node
// `npm run build`: the bundles in dist/ that bin/<name> runs with plain node. Each binary has a
// small entry, dist/<name>.js (the stale-build check and --version), which imports the rest
// only when a command needs it, so `--version` reads a few kilobytes of JavaScript instead of
// megabytes (docs/performance.md).
// - mcr and mcp-agent: the rest is one bundle, dist/<name>-main.js, loaded before anything
//   else runs. A daemon reads no file of the build after it starts, so a rebuild can never
//   pull one from under it.
// - mcp: the rest is dist/mcp-main.js and chunks beside it (dist/mcp-*-<hash>.js, esbuild's
//   code splitting). A command loads the chunks it reaches; the TUI (React, Ink, yoga: about
//   1.1 MB) has chunks of its own, so `mcp ps` does not make V8 read it. The console imports
//   chunks only as a command starts, and the files of the build before this one are kept, so
//   a console started just before a rebuild still finds them.
// dist/build.json records when the build started, which files it wrote and which project files
// went into each binary; lib/cli/launch.ts never runs a bundle older than any of them. Plain
// JavaScript so that it runs without tsx.
import { mkdirSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync } from "node:fs";
import { basename, dirname, join, relative } from "node:path";
import { fileURLToPath } from "node:url";
import { build } from "esbuild";
import { boundedInkCaches } from "./ink-caches.mjs";
import { yogaWithoutFetch } from "./yoga-no-fetch.mjs";

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
const ALSO = ["package.json", "package-lock.json", "scripts/build.mjs", "scripts/ink-caches.mjs", "scripts/yoga-no-fetch.mjs"];

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

/** Each entry's `import("./main.ts")` stays an import of the main bundle beside it. */
const mainOf = Object.fromEntries(Object.entries(BINARIES).map(([name, entry]) => [entry, `./${name}-main.js`]));
const splitMain = {
  name: "split-main",
  setup(b) {
    b.onResolve({ filter: /^\.\/main\.ts$/ }, (a) => {
      const main = mainOf[relative(root, a.importer)];
      return main ? { path: main, external: true } : undefined;
    });
  },
};

const started = Date.now();
const pkg = JSON.parse(readFileSync(join(root, "package.json"), "utf8"));
// $MCP_VERSION (e.g. `git describe` in an image build, deploy/Containerfile.*) overrides package.json's.
const version = process.env.MCP_VERSION || pkg.version;
const common = {
  absWorkingDir: root,
  outdir: dist,
  bundle: true,
  platform: "node",
  format: "esm",
  target: "node20",
  // Bundled CommonJS packages call require() for Node's built-ins; ESM has no require.
  banner: { js: 'import { createRequire as __mcpCreateRequire } from "node:module";\nconst require = __mcpCreateRequire(import.meta.url);' },
  // React (the TUI) in its production build: the development one checks and times every
  // render (performance.measure per component) and cost the idle TUI most of its CPU.
  define: { __MCP_VERSION__: JSON.stringify(version), __MCP_BUILD__: "true", "process.env.NODE_ENV": '"production"' },
  sourcemap: "linked",
  metafile: true,
  write: false,
  logLevel: "warning",
};
const mainIn = (name) => join(dirname(BINARIES[name]), "main.ts");
const [plain, split] = await Promise.all([
  // The three entries, self-contained (they share no chunk: --version reads one small file),
  // and the daemons' main bundles.
  build({
    ...common,
    entryPoints: [
      ...Object.entries(BINARIES).map(([out, entry]) => ({ in: entry, out })),
      ...["mcr", "mcp-agent"].map((name) => ({ in: mainIn(name), out: `${name}-main` })),
    ],
    plugins: [splitMain, lazyExternals],
  }),
  // The console's main bundle and its chunks.
  build({
    ...common,
    entryPoints: [{ in: mainIn("mcp"), out: "mcp-main" }],
    splitting: true,
    chunkNames: "mcp-[name]-[hash]",
    plugins: [lazyExternals, boundedInkCaches, yogaWithoutFetch],
  }),
]);

mkdirSync(dist, { recursive: true });
// Each file is written beside its place and renamed: a binary started during a build
// reads either the old file or the new one, never half of one.
const writeAtomic = (path, data) => {
  const tmp = `${path}.tmp-${process.pid}`;
  writeFileSync(tmp, data);
  renameSync(tmp, path);
};
const written = new Set();
for (const f of [...plain.outputFiles, ...split.outputFiles]) {
  writeAtomic(f.path, f.contents);
  written.add(basename(f.path));
}

const outputs = { ...plain.metafile.outputs, ...split.metafile.outputs };
/** dist/<file> and every file it imports, statically only or also dynamically (dist-relative names). */
function closure(file, dynamic) {
  const seen = new Set();
  const visit = (f) => {
    const out = outputs[`dist/${f}`];
    if (!out) throw new Error(`esbuild produced no dist/${f}`);
    if (seen.has(f)) return;
    seen.add(f);
    for (const i of out.imports) if (!i.external && (i.kind === "import-statement" || (dynamic && i.kind === "dynamic-import"))) visit(basename(i.path));
  };
  visit(file);
  return [...seen];
}
/** Every file binary `name` may load: its entry, its main bundle and what that imports. */
const filesOf = (name) => [...new Set([...closure(`${name}.js`, true), ...closure(`${name}-main.js`, true)])];
const binaries = {};
for (const [name, entry] of Object.entries(BINARIES)) {
  const files = filesOf(name);
  // Project files only: not node_modules (package-lock.json stands for them), not the plugin's stubs.
  const sources = [...new Set(files.flatMap((f) => Object.keys(outputs[`dist/${f}`].inputs)))].filter(
    (p) => !p.startsWith("node_modules/") && !p.startsWith("lazy-external:"),
  );
  binaries[name] = { entry, sources: [...sources, ...ALSO].sort() };
}
const infoPath = join(dist, "build.json");
let previous = [];
try {
  previous = JSON.parse(readFileSync(infoPath, "utf8")).files ?? [];
} catch {} // no build before this one, or one that did not list its files
// Last, so that a bundle is never paired with the record of an older build.
writeAtomic(infoPath, JSON.stringify({ version, builtAt: started, files: [...written].sort(), binaries }, null, 1) + "\n");
written.add("build.json");
// Files of older builds go, except the last build's (a console that started before this
// build may still import its chunks); another build's temporary files (binaries rebuild
// themselves when stale, possibly several at once) are left to their own rename.
const keep = new Set([...written, ...previous]);
for (const f of readdirSync(dist)) if (!keep.has(f) && !f.includes(".tmp-")) rmSync(join(dist, f), { recursive: true, force: true });

const mb = (files) => `${(files.reduce((n, f) => n + outputs[`dist/${f}`].bytes, 0) / 1e6).toFixed(1)} MB`;
const kb = (f) => `${(outputs[`dist/${f}`].bytes / 1e3).toFixed(0)} kB`;
const sizes = Object.keys(BINARIES).map((n) => {
  const first = closure(`${n}-main.js`, false);
  const lazy = filesOf(n).filter((f) => f !== `${n}.js` && !first.includes(f));
  return `${n}.js ${kb(`${n}.js`)} + ${mb(first)}${lazy.length ? ` (+ ${mb(lazy)} loaded later)` : ""}`;
});
process.stdout.write(`build: dist/ ${sizes.join(", ")} in ${Date.now() - started} ms\n`);
