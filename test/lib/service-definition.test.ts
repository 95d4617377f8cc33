import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { DefinitionError, validateDefinition } from "../../lib/services/definition.ts";
import { parseDefinitionText } from "../../console/definitions.ts";
import { ConsoleError } from "../../console/output/errors.ts";

// TOML through the console's loader (the one that reads definition files), then validation.
const parse = (text: string) => parseDefinitionText(text, "myservice.toml").def;

const base = `
name = "myservice"
node = "rift"
version = "v1.0.0"

[[components]]
name = "api"
volumes = ["/srv/myservice:/srv/myservice"]
cmd = ["server", "--config", "/srv/myservice/myservice.toml"]
env = { LOG_LEVEL = "debug" }

[[components.routes]]
name = "rest"
port = 8443
mode = "l4"

[[components.routes]]
name = "grpc"
port = 9443

[[components]]
name = "web"

[[components.routes]]
port = 443
mode = "l7"
hostname = "myservice.example.net"
`;

describe("service definitions", () => {
  test("a full example parses with defaults", () => {
    const d = parse(base);
    assert.equal(d.active, true);
    assert.equal(d.components.length, 2);
    const [api, web] = d.components;
    assert.deepEqual(
      api!.routes.map((r) => [r.name, r.port, r.mode]),
      [
        ["rest", 8443, "l4"],
        ["grpc", 9443, "l4"],
      ],
    );
    assert.equal(api!.restart, "unless-stopped");
    assert.deepEqual(api!.env, { LOG_LEVEL: "debug" });
    assert.deepEqual(web!.volumes, []);
    assert.equal(web!.routes[0]!.hostname, "myservice.example.net");
  });

  const bad: [string, string, RegExp][] = [
    ["missing name", base.replace('name = "myservice"', ""), /name: is required/],
    ["bad name", base.replace('name = "myservice"', 'name = "My Service"'), /not a valid name/],
    ["latest", base.replace('"v1.0.0"', '"latest"'), /"latest" is not allowed/],
    ["no components", 'name = "x"\nnode = "n"\nversion = "v1"\n', /at least one \[\[components\]\]/],
    ["duplicate component", base.replace('name = "web"', 'name = "api"'), /duplicate component "api"/],
    ["unnamed routes", base.replace('name = "rest"\n', ""), /name: is required when a component has several routes/],
    ["duplicate route names", base.replace('name = "grpc"', 'name = "rest"'), /duplicate route name "rest"/],
    ["duplicate external routes", base.replace("port = 9443", "port = 8443"), /duplicate route myservice:8443/],
    ["port range", base.replace("port = 443", "port = 70000"), /between 1 and 65535/],
    ["bad mode", base.replace('mode = "l7"', 'mode = "l5"'), /"l4" or "l7"/],
    ["relative volume", base.replace('"/srv/myservice:/srv/myservice"', '"srv:/srv"'), /must be absolute/],
    ["traversal volume", base.replace('"/srv/myservice:/srv/myservice"', '"/srv/../etc:/etc"'), /must be normalised/],
    ["volume options", base.replace('"/srv/myservice:/srv/myservice"', '"/srv/a:/a:rx"'), /not one of ro, rw, z, Z/],
    ["reserved env", base.replace('LOG_LEVEL = "debug"', 'PORT = "1"'), /PORT is set by the agent/],
    ["multi-line env", base.replace('LOG_LEVEL = "debug"', 'X = "a\\nb"'), /single-line string/],
    ["bad restart", base.replace('name = "web"', 'name = "web"\nrestart = "sometimes"'), /must be no, always/],
    ["bad image", base.replace('name = "web"', 'name = "web"\nimage = "Bad Image"'), /not a valid image reference/],
    ["bad TOML", "name = ", /invalid TOML/],
  ];
  for (const [what, text, re] of bad) {
    test(`refuses ${what}`, () =>
      assert.throws(
        () => parse(text),
        (e: unknown) => e instanceof ConsoleError && e.message.startsWith("myservice.toml") && re.test(e.message),
      ));
  }

  test("validateDefinition refuses non-objects and wrong types", () => {
    assert.throws(() => validateDefinition(null), DefinitionError);
    assert.throws(() => validateDefinition({ name: "a", node: "n", version: "v1", components: [{ name: "c", cmd: "ls" }] }), /must be a list of strings/);
    assert.throws(() => validateDefinition({ name: "a", node: "n", version: "v1", active: "yes", components: [{ name: "c" }] }), /true or false/);
  });
});
