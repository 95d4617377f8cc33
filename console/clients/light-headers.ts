// A small Headers (the WHATWG Fetch class) for the console's process. Node's own Headers lives
// in undici, which Node loads on first use of the global: about 13 ms of a cold `mcp ps`, spent
// before its first request, for a class the RPC library only uses as a case-insensitive map.
// The console installs this one before any call; it keeps the standard's behaviour for what the
// console and connect-es do (names checked and lower-cased, values trimmed and checked, append
// joins with ", ", iteration sorted by name with each Set-Cookie apart). The console makes no
// fetch() call, so nothing reaches undici with it; the daemons keep Node's.

/** A header name: the standard's token characters. */
const TOKEN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;
/** HTTP whitespace trimmed from both ends of a value. */
const EDGES = /^[\t\n\r ]+|[\t\n\r ]+$/g;
/** Characters no value may hold once trimmed. */
const FORBIDDEN = /[\0\r\n]/;

function headerName(name: string, method: string): string {
  const n = String(name);
  if (!TOKEN.test(n)) throw new TypeError(`Headers.${method}: ${JSON.stringify(n)} is an invalid header name.`);
  return n.toLowerCase();
}

function headerValue(value: string, name: string, method: string): string {
  const v = String(value).replace(EDGES, "");
  if (FORBIDDEN.test(v)) throw new TypeError(`Headers.${method}: ${JSON.stringify(v)} is an invalid header value for ${JSON.stringify(name)}.`);
  return v;
}

type Init = Iterable<readonly [string, string]> | Iterable<readonly string[]> | Record<string, string>;

export class LightHeaders {
  /** Lower-case name → its values, in the order appended. */
  private readonly byName = new Map<string, string[]>();

  constructor(init?: Init | null) {
    if (init === undefined || init === null) return;
    if (typeof init !== "object") throw new TypeError("Headers constructor: the init is neither a sequence nor a record.");
    if (Symbol.iterator in init) {
      for (const pair of init as Iterable<readonly string[]>) {
        if (typeof pair !== "object" || pair === null || pair.length !== 2)
          throw new TypeError("Headers constructor: expected name/value pair to be length 2.");
        this.append(pair[0]!, pair[1]!);
      }
      return;
    }
    for (const [name, value] of Object.entries(init)) this.append(name, value);
  }

  append(name: string, value: string): void {
    const n = headerName(name, "append");
    const v = headerValue(value, n, "append");
    const list = this.byName.get(n);
    if (list) list.push(v);
    else this.byName.set(n, [v]);
  }

  set(name: string, value: string): void {
    const n = headerName(name, "set");
    this.byName.set(n, [headerValue(value, n, "set")]);
  }

  delete(name: string): void {
    this.byName.delete(headerName(name, "delete"));
  }

  get(name: string): string | null {
    return this.byName.get(headerName(name, "get"))?.join(", ") ?? null;
  }

  has(name: string): boolean {
    return this.byName.has(headerName(name, "has"));
  }

  getSetCookie(): string[] {
    return [...(this.byName.get("set-cookie") ?? [])];
  }

  forEach(fn: (value: string, key: string, parent: LightHeaders) => void, thisArg?: unknown): void {
    for (const [k, v] of this.entries()) fn.call(thisArg, v, k, this);
  }

  *entries(): IterableIterator<[string, string]> {
    const names = [...this.byName.keys()].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
    for (const n of names) {
      const list = this.byName.get(n)!;
      if (n === "set-cookie") for (const v of list) yield [n, v];
      else yield [n, list.join(", ")];
    }
  }

  *keys(): IterableIterator<string> {
    for (const [k] of this.entries()) yield k;
  }

  *values(): IterableIterator<string> {
    for (const [, v] of this.entries()) yield v;
  }

  [Symbol.iterator](): IterableIterator<[string, string]> {
    return this.entries();
  }

  get [Symbol.toStringTag](): string {
    return "Headers";
  }
}

/** Makes the global Headers this class, before the console's first call (see the top of this file). */
export function installLightHeaders(): void {
  Object.defineProperty(globalThis, "Headers", { value: LightHeaders, writable: true, configurable: true, enumerable: false });
}
