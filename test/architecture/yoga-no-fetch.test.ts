// The TUI's yoga (Ink's layout engine) decodes its WebAssembly from the bundled base64 string
// instead of fetching its data: URL through undici (scripts/yoga-no-fetch.mjs): as bundled, it
// loads and lays out with fetch() refusing every call, and a yoga whose loader changed fails
// the build.
import assert from "node:assert/strict";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, test } from "node:test";
import { yogaWithoutFetch } from "../../scripts/yoga-no-fetch.mjs";
import { bundleWith } from "../helpers/esbuild-bundle.ts";

const dirs: string[] = [];
after(() => dirs.forEach((d) => rmSync(d, { recursive: true, force: true })));

const bundle = (dir: string, entry: string) => bundleWith([yogaWithoutFetch], dir, entry);

test("yoga, as bundled, loads and lays out a node without calling fetch", async () => {
  const dir = mkdtempSync(join(tmpdir(), "yoga-fetch-"));
  dirs.push(dir);
  const yoga = join(import.meta.dirname, "..", "..", "node_modules", "yoga-layout", "dist", "src", "index.js");
  const file = await bundle(dir, `export { default as Yoga } from ${JSON.stringify(yoga)};`);
  const real = globalThis.fetch;
  let calls = 0;
  globalThis.fetch = (() => (calls++, Promise.reject(new Error("no fetch here")))) as typeof fetch;
  try {
    const { Yoga } = (await import(file)) as { Yoga: typeof import("yoga-layout").default };
    const node = Yoga.Node.create();
    node.setWidth(120);
    node.setHeight(30);
    node.calculateLayout(undefined, undefined);
    assert.deepEqual([node.getComputedWidth(), node.getComputedHeight()], [120, 30]);
    node.free();
  } finally {
    globalThis.fetch = real;
  }
  assert.equal(calls, 0, "fetch was never called");
});

test("a yoga whose loader changed fails the build, naming the file", async () => {
  const dir = mkdtempSync(join(tmpdir(), "yoga-fetch-"));
  dirs.push(dir);
  const bin = join(dir, "node_modules", "yoga-layout", "dist", "binaries");
  mkdirSync(bin, { recursive: true });
  writeFileSync(join(dir, "node_modules", "yoga-layout", "package.json"), '{"name":"yoga-layout","type":"module"}');
  writeFileSync(join(bin, "yoga-wasm-base64-esm.js"), "export default async () => fetch('data:application/wasm;base64,AA==');\n");
  await assert.rejects(
    bundle(dir, `import ${JSON.stringify(join(bin, "yoga-wasm-base64-esm.js"))};`),
    /yoga-wasm-base64-esm\.js: ".*" not found; yoga-layout changed/,
  );
});
