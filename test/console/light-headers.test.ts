import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { LightHeaders } from "../../console/clients/light-headers.ts";

// Node's own Headers (undici's) is the reference: each script runs on both, and the results
// (or the kind of error) must be the same.
const Native = globalThis.Headers;
type H = { [k: string]: any; [Symbol.iterator](): Iterator<[string, string]> };

function outcome(make: () => H, steps: (h: H) => unknown): unknown {
  try {
    const h = make();
    const r = steps(h);
    return { r, all: [...h], keys: [...h.keys()], values: [...h.values()], cookies: h.getSetCookie(), tag: Object.prototype.toString.call(h) };
  } catch (err) {
    return { threw: (err as Error).constructor.name };
  }
}

const same = (init: unknown, steps: (h: H) => unknown = () => undefined) =>
  assert.deepEqual(
    outcome(() => new LightHeaders(init as never) as H, steps),
    outcome(() => new Native(init as never) as H, steps),
  );

describe("LightHeaders behaves as Node's Headers", () => {
  test("inits: none, a record, pairs, another Headers of either kind, a Map", () => {
    same(undefined);
    same({ "Content-Type": "application/json", "X-B": "2", "x-a": " 1 " });
    same([
      ["X-A", "1"],
      ["x-a", "2"],
      ["Set-Cookie", "a=1"],
      ["set-cookie", "b=2"],
    ]);
    same(new Native({ A: "1", b: "2" }));
    same(new LightHeaders({ A: "1", b: "2" }));
    same(new Map([["a", "1"]]));
  });

  test("bad inits and bad names or values are TypeErrors", () => {
    same([["a"]]);
    same([["a", "b", "c"]]);
    same("a=b");
    same({ "bad name": "x" });
    same({ "": "x" });
    same({ a: "x\ny" });
    same({ a: "x\0y" });
    same({ é: "x" });
  });

  test("append joins, set replaces, delete and has ignore case; get of a missing name is null", () => {
    same({}, (h) => {
      h.append("Accept", "a");
      h.append("accept", "b");
      h.set("X-One", "1");
      h.set("x-one", "2");
      h.append("Z", "\t padded \r\n");
      h.delete("ABSENT");
      return [h.get("ACCEPT"), h.get("x-one"), h.get("none"), h.has("Z"), h.has("y"), h.get("z")];
    });
  });

  test("Set-Cookie is kept apart in iteration and getSetCookie, joined by get", () => {
    same({}, (h) => {
      h.append("Set-Cookie", "a=1");
      h.append("set-cookie", "b=2");
      h.append("b", "x");
      return [h.get("set-cookie")];
    });
  });

  test("forEach sees sorted names and combined values, with this as its third argument", () => {
    for (const H of [LightHeaders, Native]) {
      const h = new (H as typeof LightHeaders)([
        ["b", "2"],
        ["A", "1"],
        ["b", "3"],
      ]);
      const seen: string[] = [];
      h.forEach((v, k, parent) => seen.push(`${k}=${v}:${parent === h}`));
      assert.deepEqual(seen, ["a=1:true", "b=2, 3:true"]);
    }
  });

  test("bad names in get, has, delete and set throw as Node's do", () => {
    for (const m of ["get", "has", "delete"]) same({}, (h) => h[m]("a b"));
    same({}, (h) => h.set("a", "b\rc"));
  });
});
