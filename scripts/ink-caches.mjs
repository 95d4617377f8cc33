// An esbuild plugin for the bundles: bounds Ink 6's two text caches. measure-text.js and
// wrap-text.js keep every distinct string ever laid out, keyed by the whole text, for the
// life of the process (Ink issue #986, fixed only in Ink releases that need Node 22). The
// logs screen lays out ~1,000 new lines a second, so the console grew without end. Here
// each cache keeps its last LIMIT entries (the oldest go first; what a screen shows again
// is simply measured again). The patterns are checked: an Ink whose sources differ fails
// the build, naming the file, instead of leaking again unnoticed.
import { readFile } from "node:fs/promises";

const LIMIT = 4000;
const evict = `if (cache.size >= ${LIMIT}) cache.delete(cache.keys().next().value);`;

const EDITS = {
  "measure-text.js": [["cache.set(text, dimensions);", `${evict} cache.set(text, dimensions);`]],
  "wrap-text.js": [
    ["const cache = {};", "const cache = new Map();"],
    ["const cachedText = cache[cacheKey];", "const cachedText = cache.get(cacheKey);"],
    ["cache[cacheKey] = wrappedText;", `${evict} cache.set(cacheKey, wrappedText);`],
  ],
};

export const boundedInkCaches = {
  name: "bounded-ink-caches",
  setup(b) {
    b.onLoad({ filter: /[\\/]node_modules[\\/]ink[\\/]build[\\/](measure-text|wrap-text)\.js$/ }, async (a) => {
      let contents = await readFile(a.path, "utf8");
      const file = a.path.split(/[\\/]/).at(-1);
      for (const [from, to] of EDITS[file]) {
        if (!contents.includes(from))
          throw new Error(`${a.path}: "${from}" not found; Ink changed: check whether its text caches are still unbounded (scripts/ink-caches.mjs)`);
        contents = contents.replace(from, to);
      }
      return { contents, loader: "js" };
    });
  },
};
