// Service definitions refuse keys they do not know, at every level, naming the key; the
// console reports them with the file and the line, and keeps its own `path` and `[build]`.
import assert from "node:assert/strict";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, test } from "node:test";
import { parseDefinitionFile } from "../../console/definitions.ts";
import { DefinitionError, validateDefinition } from "../../lib/services/definition.ts";

const base = { name: "shop", node: "rift", version: "v1", components: [{ name: "api", routes: [{ port: 443 }] }] };
const dir = mkdtempSync(join(tmpdir(), "def-keys-"));
after(() => rmSync(dir, { recursive: true, force: true }));

test("an unknown key is an error naming it, at the top, in a component, a route and storage", () => {
  const cases: [unknown, RegExp][] = [
    [{ ...base, replicas: 3 }, /^shop: replicas: unknown key "replicas"/],
    [{ ...base, components: [{ name: "api", imgae: "x" }] }, /^shop: components\[0\]\.imgae: unknown key "imgae" \(known: name, image,/],
    [{ ...base, components: [{ name: "api", routes: [{ port: 443, prot: "tcp" }] }] }, /^shop: components\[0\]\.routes\[0\]\.prot: unknown key "prot"/],
    [{ ...base, storage: { nfs: "srv:/x", nsf_options: "ro" } }, /^shop: storage\.nsf_options: unknown key "nsf_options"/],
  ];
  for (const [raw, re] of cases)
    assert.throws(
      () => validateDefinition(raw),
      (e: Error) => e instanceof DefinitionError && re.test(e.message),
      String(re),
    );
  assert.equal(validateDefinition(base).name, "shop");
});

test("the console names the file and the line of an unknown key; path and [build.images] still work", () => {
  const file = join(dir, "shop.toml");
  const ok = 'name = "shop"\nnode = "rift"\nversion = "v1"\npath = "shop-src"\n\n[build.images]\nshop = "Containerfile"\n\n[[components]]\nname = "api"\n';
  writeFileSync(file, ok);
  const loaded = parseDefinitionFile(file);
  assert.equal(loaded.path, "shop-src");
  assert.deepEqual(Object.keys(loaded.images), ["shop"]);

  writeFileSync(file, ok + 'imgae = "mcr/shop:v1"\n');
  assert.throws(
    () => parseDefinitionFile(file),
    (e: Error) =>
      e.message === `${file}:11: components[0].imgae: unknown key "imgae" (known: name, image, version, volumes, cmd, network, user, restart, env, routes)`,
  );
  writeFileSync(file, "replicas = 2\n" + ok);
  assert.throws(() => parseDefinitionFile(file), new RegExp(`${file}:1: replicas: unknown key "replicas"`));
  writeFileSync(file, ok.replace("[[components]]", '[sheet]\nname = "x"\n\n[[components]]'));
  assert.throws(() => parseDefinitionFile(file), new RegExp(`${file}:9: sheet: unknown key "sheet"`));
  writeFileSync(file, ok + '\n[[components.routes]]\nport = 443\nprot = "tcp"\n');
  assert.throws(() => parseDefinitionFile(file), new RegExp(`${file}:14: components\\[0\\]\\.routes\\[0\\]\\.prot: unknown key`));
});
