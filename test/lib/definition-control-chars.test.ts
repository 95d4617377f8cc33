// Control characters (U+0000-U+001F, U+007F) in the names and paths of a definition are
// refused by the shared validation, so the console and the agent both refuse them; command
// arguments may hold tabs and newlines (sh -c scripts) but never NUL.
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { DefinitionError, validateDefinition } from "../../lib/services/definition.ts";
import { PlacementError, formatMachineRegistry } from "../../lib/smep/smep.ts";

const valid = () => ({
  name: "shop",
  node: "node1",
  version: "v1",
  storage: { nfs: "nas:/volume1/shop" },
  components: [
    {
      name: "api",
      image: "reg.local/shop",
      volumes: ["/srv/shop/data:/data"],
      cmd: ["sh", "-c", "echo a\n\techo b"],
      env: { LOG: "x" } as Record<string, string>,
      routes: [{ name: "rest", port: 8443, hostname: "shop.example.net" }],
    },
  ],
});

type Def = ReturnType<typeof valid>;

function refused(edit: (d: Def) => void, field: RegExp, what: RegExp): void {
  const d = valid();
  edit(d);
  assert.throws(
    () => validateDefinition(d),
    (e: unknown) => e instanceof DefinitionError && field.test(e.message) && what.test(e.message),
  );
}

describe("control characters in definitions", () => {
  test("the control: a definition with a tab and a newline in a cmd argument is valid", () => {
    assert.deepEqual(validateDefinition(valid()).components[0]!.cmd, ["sh", "-c", "echo a\n\techo b"]);
  });

  test("a NUL in a volume is refused, naming the volume, the character and its position", () => {
    refused(
      (d) => (d.components[0]!.volumes = ["/srv/shop/da\0ta:/data"]),
      /shop: components\[0\]\.volumes\[0\]/,
      /"\/srv\/shop\/da\\u0000ta:\/data" contains the control character U\+0000 at position 12/,
    );
  });

  for (const [label, ch] of [
    ["newline", "\n"],
    ["escape", "\x1b"],
    ["DEL", "\x7f"],
    ["carriage return", "\r"],
    ["tab", "\t"],
  ] as const) {
    const code = `U\\+${ch.charCodeAt(0).toString(16).toUpperCase().padStart(4, "0")}`;
    test(`a ${label} is refused in every name and path`, () => {
      refused((d) => (d.name = `sh${ch}op`), /^name: /, new RegExp(code));
      refused((d) => (d.node = `node${ch}1`), /shop: node/, new RegExp(code));
      refused((d) => (d.version = `v1${ch}`), /shop: version/, new RegExp(code));
      refused((d) => (d.storage.nfs = `nas:/volume1${ch}/shop`), /shop: storage\.nfs/, new RegExp(code));
      refused((d) => (d.components[0]!.name = `a${ch}pi`), /components\[0\]\.name/, new RegExp(code));
      refused((d) => (d.components[0]!.image = `reg.local/shop${ch}`), /components\[0\]\.image/, new RegExp(code));
      refused((d) => (d.components[0]!.volumes = [`/srv/shop${ch}/data:/data`]), /components\[0\]\.volumes\[0\]/, new RegExp(code));
      refused((d) => (d.components[0]!.volumes = [`/srv/shop/data:/da${ch}ta`]), /components\[0\]\.volumes\[0\]/, new RegExp(code));
      refused((d) => (d.components[0]!.env = { [`LO${ch}G`]: "x" }), /components\[0\]\.env/, new RegExp(code));
      refused((d) => (d.components[0]!.routes[0]!.name = `re${ch}st`), /routes\[0\]\.name/, new RegExp(code));
      refused((d) => (d.components[0]!.routes[0]!.hostname = `shop${ch}.example.net`), /routes\[0\]\.hostname/, new RegExp(code));
    });
  }

  test("a NUL in a cmd argument or an env value is refused (it cannot reach podman)", () => {
    refused((d) => (d.components[0]!.cmd = ["sh", "-c", "echo\0"]), /components\[0\]\.cmd\[2\]/, /contains a NUL character at position 4/);
    refused((d) => (d.components[0]!.env = { LOG: "a\0b" }), /components\[0\]\.env\.LOG/, /single-line string/);
  });

  test("a huge value with a control character comes back as a short prefix", () => {
    const d = valid();
    d.components[0]!.volumes = [`/srv/${"a".repeat(100_000)}\0:/x`];
    assert.throws(
      () => validateDefinition(d),
      (e: Error) => e.message.length < 300 && /\(100009 characters\) contains the control character U\+0000 at position 100005/.test(e.message),
    );
  });

  test("machine registry names that would not read back as one name=NN line are refused", () => {
    assert.equal(formatMachineRegistry(new Map([["shop", 1]])), "shop=01\n");
    for (const name of ["a=01\nb", "shop\0", "shop#x", "Shop"]) {
      assert.throws(
        () => formatMachineRegistry(new Map([[name, 2]])),
        (e: unknown) => e instanceof PlacementError && e.message.startsWith(`machine registry: ${JSON.stringify(name)} is not a valid service name`),
      );
    }
  });
});
