// Go's path.Match semantics for repository and service globs:
// `*` is any run of non-`/` characters, `?` one non-`/` character, `[...]`
// a class (`[^...]` negated, ranges with `-`), `\` escapes.
// A malformed pattern matches nothing, as path.Match returns ErrBadPattern.

const cache = new Map<string, RegExp | null>();

function escapeRe(c: string): string {
  return /[\\^$.*+?()[\]{}|/-]/.test(c) ? `\\${c}` : c;
}

export function compileGlob(pattern: string): RegExp | null {
  let out = "";
  for (let i = 0; i < pattern.length; i++) {
    const c = pattern[i]!;
    if (c === "*") out += "[^/]*";
    else if (c === "?") out += "[^/]";
    else if (c === "\\") {
      if (i + 1 >= pattern.length) return null;
      out += escapeRe(pattern[++i]!);
    } else if (c === "[") {
      // Go: `[^...]` negates; an unescaped '-' or ']' where a character is expected is a bad pattern.
      let j = i + 1;
      let cls = "";
      if (pattern[j] === "^") {
        cls = "^";
        j++;
      }
      const getEsc = (): string | null => {
        let ch = pattern[j];
        if (ch === undefined || ch === "-" || ch === "]") return null;
        if (ch === "\\") {
          ch = pattern[++j];
          if (ch === undefined) return null;
        }
        j++;
        return j < pattern.length ? ch : null; // the class must still be closed
      };
      let ranges = 0;
      for (;;) {
        if (pattern[j] === "]" && ranges > 0) break;
        const lo = getEsc();
        if (lo === null) return null;
        let hi = lo;
        if (pattern[j] === "-") {
          j++;
          const h = getEsc();
          if (h === null || h < lo) return null;
          hi = h;
        }
        cls += hi === lo ? escapeRe(lo) : `${escapeRe(lo)}-${escapeRe(hi)}`;
        ranges++;
      }
      out += `[${cls}]`;
      i = j;
    } else out += escapeRe(c);
  }
  return new RegExp(`^${out}$`);
}

export function globMatch(pattern: string, name: string): boolean {
  let re = cache.get(pattern);
  if (re === undefined) {
    re = compileGlob(pattern);
    if (cache.size > 1000) cache.clear();
    cache.set(pattern, re);
  }
  return re !== null && re.test(name);
}
