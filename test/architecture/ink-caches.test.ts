// The bundles' Ink text caches are bounded (scripts/ink-caches.mjs): measureText and wrapText
// keep at most a few thousand strings, where Ink 6 keeps every string it ever laid out.
import assert from "node:assert/strict";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, test } from "node:test";
import { setFlagsFromString } from "node:v8";
import { runInNewContext } from "node:vm";
import { boundedInkCaches } from "../../scripts/ink-caches.mjs";
import { bundleWith } from "../helpers/esbuild-bundle.ts";

const dirs: string[] = [];
after(() => dirs.forEach((d) => rmSync(d, { recursive: true, force: true })));

/** Bundles `entry` (in `dir`) with the plugin and loads it as a module. */
async function load(dir: string, entry: string): Promise<Record<string, (...a: unknown[]) => unknown>> {
  return import(await bundleWith([boundedInkCaches], dir, entry));
}

test("Ink's measureText and wrapText, as bundled, keep answering the same while their caches stay bounded", async () => {
  const dir = mkdtempSync(join(tmpdir(), "ink-caches-"));
  dirs.push(dir);
  const ink = join(import.meta.dirname, "..", "..", "node_modules", "ink", "build");
  const m = await load(
    dir,
    `export { default as measureText } from ${JSON.stringify(join(ink, "measure-text.js"))}; export { default as wrapText } from ${JSON.stringify(join(ink, "wrap-text.js"))};`,
  );
  setFlagsFromString("--expose-gc");
  const gc = runInNewContext("gc") as () => void;
  gc();
  const before = process.memoryUsage().heapUsed;
  for (let i = 0; i < 200_000; i++) {
    const line = `log line number ${i} ${"x".repeat(60)}`;
    assert.equal((m.measureText!(line) as { width: number }).width, line.length);
    m.wrapText!(line, 40, "truncate-end");
  }
  gc();
  // 200,000 distinct 80-character lines kept would be well over 40 MB; bounded caches keep a few thousand.
  const grown = (process.memoryUsage().heapUsed - before) / 1048576;
  assert.ok(grown < 20, `heap grew ${grown.toFixed(0)} MiB`);
  assert.equal(m.wrapText!("abcdefghij", 5, "truncate-end"), "abcd…");
  assert.deepEqual(m.measureText!("ab\ncde"), { width: 3, height: 2 });
});

test("an Ink whose cache code changed fails the build, naming the file", async () => {
  const dir = mkdtempSync(join(tmpdir(), "ink-caches-"));
  dirs.push(dir);
  mkdirSync(join(dir, "node_modules", "ink", "build"), { recursive: true });
  writeFileSync(join(dir, "node_modules", "ink", "package.json"), '{"name":"ink","type":"module"}');
  writeFileSync(join(dir, "node_modules", "ink", "build", "measure-text.js"), "const cache = new LRU(100);\nexport default (t) => cache.get(t);\n");
  await assert.rejects(
    load(dir, `import ${JSON.stringify(join(dir, "node_modules", "ink", "build", "measure-text.js"))};`),
    /measure-text\.js: "cache\.set\(text, dimensions\);" not found; Ink changed/,
  );
});
