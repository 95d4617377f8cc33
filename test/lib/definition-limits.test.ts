// Service definitions have bounded lists (checked before any entry is), and an error quotes
// at most a short prefix of the offending value.
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { DefinitionError, LIMITS, validateDefinition } from "../../lib/services/definition.ts";
import { parseMachineRegistry } from "../../lib/smep/smep.ts";
import { QUOTE_MAX, quote } from "../../lib/text/quote.ts";

const base = () => ({ name: "web", node: "rift", version: "v1", components: [{ name: "api", image: "registry.test/web" }] as Record<string, unknown>[] });

function refuses(def: unknown, what: RegExp): string {
  let message = "";
  assert.throws(
    () => validateDefinition(def),
    (e: Error) => {
      assert.ok(e instanceof DefinitionError, e.message);
      message = e.message;
      return what.test(e.message);
    },
  );
  return message;
}

describe("definition list bounds", () => {
  test(`at most ${LIMITS.components} components; the count is checked before any component`, () => {
    const d = base();
    // Each of these would fail on its own: the bound must come first.
    d.components = Array.from({ length: 10_000 }, () => ({ name: "NOT A NAME" }));
    refuses(d, /web: components: 10000 components given; at most 64 are allowed/);
    d.components = Array.from({ length: LIMITS.components }, (_, i) => ({ name: `c${i}`, image: "registry.test/web" }));
    assert.equal(validateDefinition(d).components.length, LIMITS.components);
  });

  test("volumes, cmd, env and routes of a component are bounded", () => {
    const many = <T>(n: number, f: (i: number) => T): T[] => Array.from({ length: n }, (_, i) => f(i));
    const d = base();
    d.components[0]!.volumes = many(LIMITS.volumes + 1, (i) => `/srv/web/${i}:/data/${i}`);
    refuses(d, /components\[0\]\.volumes: 65 volumes given; at most 64/);
    d.components[0] = { name: "api", cmd: many(LIMITS.cmd + 1, String) };
    refuses(d, /components\[0\]\.cmd: 257 arguments given; at most 256/);
    d.components[0] = { name: "api", env: Object.fromEntries(many(LIMITS.env + 1, (i) => [`V${i}`, "x"] as const)) };
    refuses(d, /components\[0\]\.env: 257 variables given; at most 256/);
    d.components[0] = { name: "api", routes: many(LIMITS.routes + 1, (i) => ({ name: `r${i}`, port: 1000 + i })) };
    refuses(d, /components\[0\]\.routes: 11 routes given; at most 10/);
  });
});

describe("errors quote a short prefix", () => {
  test("quote: short values whole, long ones cut with their length", () => {
    assert.equal(quote("web"), '"web"');
    const long = "x".repeat(10 * 1024 * 1024);
    assert.equal(quote(long), `"${"x".repeat(QUOTE_MAX)}"… (10485760 characters)`);
  });

  test("a 10 MB invalid name, image, env key or route name comes back as a prefix", () => {
    const huge = "A".repeat(10 * 1024 * 1024);
    const cases: [Record<string, unknown>, RegExp][] = [
      [{ ...base(), name: huge }, /^name: "A{64}"… \(10485760 characters\) is not a valid name/],
      [{ ...base(), components: [{ name: "api", image: huge }] }, /image: "A{64}"… \(10485760 characters\) is not a valid image/],
      [{ ...base(), components: [{ name: "api", env: { [huge]: "x" } }] }, /env: "A{64}"… \(10485760 characters\) is not a valid variable name/],
      [{ ...base(), components: [{ name: "api", routes: [{ name: huge.toLowerCase(), port: 80 }] }] }, /name: "a{64}"… \(10485760 characters\) must be/],
      [{ ...base(), node: huge }, /node: "A{64}"… \(10485760 characters\) is longer than 253 characters/],
    ];
    for (const [def, what] of cases) assert.ok(refuses(def, what).length < 300);
  });

  test("a valid-looking but overlong env key or route name is refused, not echoed later", () => {
    refuses({ ...base(), components: [{ name: "api", env: { ["K".repeat(129)]: "x" } }] }, /is not a valid variable name \(at most 128 characters\)/);
    refuses({ ...base(), components: [{ name: "api", routes: [{ name: "r".repeat(33), port: 80 }] }] }, /at most 32 characters/);
  });

  test("machine registry lines", () => {
    assert.throws(
      () => parseMachineRegistry(`${"x".repeat(100_000)}=1x\n`),
      (e: Error) => e.message.length < 200 && /\(100003 characters\)/.test(e.message),
    );
    assert.throws(() => parseMachineRegistry(`${"a".repeat(64)}=01\n`), /expected name=NN/);
  });
});
