// An esbuild plugin for the console's TUI chunks: yoga-layout (Ink's layout engine) ships its
// WebAssembly as a base64 data: URL, and its emscripten loader reads it back with fetch()
// whenever a global fetch exists. In Node that loads undici and runs the URL through it (about
// 28 ms of every TUI start, before its first frame) to get bytes the same loader decodes
// itself from the string when there is no fetch. This makes it always take that second path.
// The pattern is checked: a yoga whose loader differs fails the build, naming the file.
import { readFile } from "node:fs/promises";

const FROM = '"function"!=typeof fetch?Promise.resolve().then(function(){return wa()})';
const TO = "!0?Promise.resolve().then(function(){return wa()})";

export const yogaWithoutFetch = {
  name: "yoga-without-fetch",
  setup(b) {
    b.onLoad({ filter: /[\\/]node_modules[\\/]yoga-layout[\\/]dist[\\/]binaries[\\/]yoga-wasm-base64-esm\.js$/ }, async (a) => {
      const contents = await readFile(a.path, "utf8");
      if (!contents.includes(FROM))
        throw new Error(`${a.path}: "${FROM}" not found; yoga-layout changed: check how its loader reads the wasm now (scripts/yoga-no-fetch.mjs)`);
      return { contents: contents.replace(FROM, TO), loader: "js" };
    });
  },
};
