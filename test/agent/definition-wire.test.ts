// A definition survives the wire whole: TOML (the console's loader) → definition → the
// protobuf the console sends (encoded and decoded) → the definition the agent reads back,
// for every example operators copy and for one that sets every field to something other
// than its default, so a field one direction forgets cannot pass unnoticed.
import assert from "node:assert/strict";
import { readdirSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import { create, fromBinary, toBinary } from "@bufbuild/protobuf";
import { definitionFromProto } from "../../agent/rpc/convert.ts";
import { parseDefinitionFile, parseDefinitionText } from "../../console/definitions.ts";
import { validateDefinition, type ServiceDefinition } from "../../lib/services/definition.ts";
import { definitionToProto } from "../../lib/services/to-proto.ts";
import { ServiceDefinitionSchema } from "../../proto/gen/mcp/agent/v1/agent_pb.ts";
import { REPO_ROOT } from "../helpers/mcr-process.ts";

const EXAMPLES = join(REPO_ROOT, "deploy/examples/services");

function overTheWire(def: ServiceDefinition): ServiceDefinition {
  const sent = toBinary(ServiceDefinitionSchema, create(ServiceDefinitionSchema, definitionToProto(def)));
  return definitionFromProto(fromBinary(ServiceDefinitionSchema, sent));
}

const EVERY_FIELD = `
name = "full"
node = "rift.example.net"
version = "v2.3.4"
active = false
environment = "test"
number = 7

[storage]
nfs = "files.example.net:/export/full"
nfs_options = "nfsvers=4.2,ro"

[[components]]
name = "api"
image = "registry.example.net:8443/team/full-api"
version = "v2.3.5"
volumes = ["/srv/full/data:/data:ro", "/srv/full/cache:/cache"]
cmd = ["server", "--flag", "two words"]
network = "backend"
user = "1000:1000"
restart = "on-failure:3"

[components.env]
LOG_LEVEL = "debug"
GREETING = "hello there"

[[components.routes]]
name = "rest"
port = 8443
mode = "l7"
hostname = "full.example.net"
index = 4

[[components.routes]]
name = "grpc"
port = 9443
mode = "l4"
hostname = "grpc.full.example.net"
index = 0

[[components]]
name = "worker"
`;

/** Every leaf of a definition by path (lists of tables: each entry; lists of strings: whole). */
function leaves(v: unknown, path = ""): [string, unknown][] {
  if (Array.isArray(v) && v.some((x) => typeof x === "object")) return v.flatMap((x, i) => leaves(x, `${path}[${i}]`));
  if (typeof v === "object" && v !== null && !Array.isArray(v)) return Object.entries(v).flatMap(([k, x]) => leaves(x, path ? `${path}.${k}` : k));
  return [[path, v]];
}

test("every example service definition comes back from the wire equal", () => {
  const files = readdirSync(EXAMPLES).filter((f) => f.endsWith(".toml"));
  assert.ok(files.length > 0);
  for (const f of files) {
    const { def } = parseDefinitionFile(join(EXAMPLES, f));
    assert.deepEqual(overTheWire(def), def, f);
  }
});

test("a definition that sets every field comes back from the wire equal", () => {
  const { def } = parseDefinitionText(EVERY_FIELD, "full.toml");
  assert.deepEqual(overTheWire(def), def);
});

test("the every-field definition really sets every field of the first component and route", () => {
  // A field added to definitions has its default here until this test's TOML sets it.
  const { def } = parseDefinitionText(EVERY_FIELD, "full.toml");
  const defaults = validateDefinition({ name: "minimal", node: "n", version: "v1", components: [{ name: "x", routes: [{ port: 1 }] }] });
  const atDefault = new Map(leaves(defaults));
  const unset = leaves(def)
    .filter(([path]) => !/^components\[[1-9]/.test(path) && !/routes\[[1-9]/.test(path))
    .filter(([path, value]) => atDefault.has(path) && JSON.stringify(atDefault.get(path)) === JSON.stringify(value))
    .map(([path]) => path);
  assert.deepEqual(unset, []);
  // The optional fields, absent by default: set too.
  assert.equal(def.number, 7);
  assert.equal(def.components[0]!.routes[0]!.index, 4);
});
