// The console's config (mcp.toml), its credentials file and its service definitions.
import assert from "node:assert/strict";
import { mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, test } from "node:test";
import { Credentials } from "../../console/clients/credentials.ts";
import { defaultConfigPath, identityUrl, loadConsoleConfig, registryHost, stateHome } from "../../console/config.ts";
import { componentImage, Definitions, findLine } from "../../console/definitions.ts";
import type { ConsoleError } from "../../console/output/errors.ts";

const dirs: string[] = [];
after(() => dirs.forEach((d) => rmSync(d, { recursive: true, force: true })));
function tempDir(): string {
  const d = mkdtempSync(join(tmpdir(), "mcp-cfg-"));
  dirs.push(d);
  return d;
}

const FULL = `
ca_cert = "ca.pem"
node_timeout = "2s"
[[nodes]]
name = "rift"
url = "https://rift.example:9444/"
[[nodes]]
name = "vade"
url = "https://vade.example:9444"
[registry]
url = "https://mcr.example:8443"
[build]
workspace = "~/src/metacircular"
[placement]
sheet = "dynamicalsystem"
`;

describe("mcp.toml", () => {
  test("reads nodes, registry, identity (defaulting to the registry), CA, workspace and placement", () => {
    const dir = tempDir();
    writeFileSync(join(dir, "mcp.toml"), FULL);
    const cfg = loadConsoleConfig(join(dir, "mcp.toml"), {});
    assert.deepEqual(cfg.nodes, [
      { name: "rift", url: "https://rift.example:9444" },
      { name: "vade", url: "https://vade.example:9444" },
    ]);
    assert.equal(cfg.ca_cert, join(dir, "ca.pem"));
    assert.equal(cfg.node_timeout, 2000);
    assert.equal(registryHost(cfg), "mcr.example:8443");
    assert.equal(identityUrl(cfg), "https://mcr.example:8443");
    assert.match(cfg.build.workspace, /\/src\/metacircular$/);
    assert.ok(!cfg.build.workspace.includes("~"));
    assert.equal(cfg.services.dir, join(dir, "services"));
  });

  test("$MCP_<SECTION>_<KEY> and $MCP_CA_CERT override the file", () => {
    const dir = tempDir();
    writeFileSync(join(dir, "mcp.toml"), FULL);
    const cfg = loadConsoleConfig(join(dir, "mcp.toml"), {
      MCP_BUILD_WORKSPACE: "/ws",
      MCP_CA_CERT: "/etc/ca.pem",
      MCP_IDENTITY_URL: "https://id.example",
      MCP_NODE_TIMEOUT: "500ms",
    });
    assert.equal(cfg.build.workspace, "/ws");
    assert.equal(cfg.ca_cert, "/etc/ca.pem");
    assert.equal(identityUrl(cfg), "https://id.example");
    assert.equal(cfg.node_timeout, 500);
  });

  test("unknown sections and keys are errors naming the key and the file; so are plain-http URLs and duplicate nodes", () => {
    const dir = tempDir();
    const file = join(dir, "mcp.toml");
    const bad = (text: string, re: RegExp) => {
      writeFileSync(file, text);
      assert.throws(
        () => loadConsoleConfig(file, {}),
        (err: Error) => re.test(err.message) && err.message.includes(file),
      );
    };
    bad('[sheet]\nname = "x"\n', /sheet/);
    bad('[build]\nworkspce = "/x"\n', /workspce/);
    bad('[[nodes]]\nname = "a"\nurl = "https://a"\nport = 1\n', /port/);
    bad('[[nodes]]\nname = "a"\nurl = "http://a:9444"\n', /https/);
    bad('[[nodes]]\nname = "a"\nurl = "https://a"\n[[nodes]]\nname = "a"\nurl = "https://b"\n', /duplicate node/);
  });

  test("no file at the default path means defaults beside it; a missing --config file is an error", () => {
    const home = tempDir();
    // Its own data home too: a platform from `mcp up` on this machine must not be found.
    const env = { XDG_CONFIG_HOME: home, XDG_STATE_HOME: join(home, "state"), XDG_DATA_HOME: join(home, "data") };
    assert.equal(defaultConfigPath(env), join(home, "mcp", "mcp.toml"));
    assert.equal(stateHome(env), join(home, "state", "mcp"));
    const cfg = loadConsoleConfig(undefined, env);
    assert.deepEqual(cfg.nodes, []);
    assert.equal(cfg.services.dir, join(home, "mcp", "services"));
    assert.throws(() => loadConsoleConfig(join(home, "nope.toml"), env), /cannot read/);
  });
});

describe("credentials", () => {
  test("tokens are kept per identity server in a 0600 file in a 0700 folder; never a password", () => {
    const dir = join(tempDir(), "mcp");
    const creds = new Credentials(dir);
    creds.save("https://mcr:8443", {
      username: "ops",
      tokens: {
        mcr: { token: "t-mcr", expires_at: new Date(Date.now() + 60_000).toISOString() },
        "mcp-agent": { token: "t-agent", expires_at: new Date(Date.now() + 60_000).toISOString() },
      },
    });
    assert.equal(statSync(creds.file).mode & 0o777, 0o600);
    assert.equal(statSync(dir).mode & 0o777, 0o700);
    assert.equal(creds.token("https://mcr:8443", "mcp-agent"), "t-agent");
    assert.equal(creds.token("https://mcr:8443", "mcr"), "t-mcr");
    assert.doesNotMatch(readFileSync(creds.file, "utf8"), /password/);
    creds.remove("https://mcr:8443");
    assert.throws(
      () => creds.token("https://mcr:8443", "mcr"),
      (e: ConsoleError) => e.code === "unauthenticated" && /run `mcp login`/.test(e.message),
    );
  });

  test("an expired token says to log in again", () => {
    let now = Date.now();
    const creds = new Credentials(join(tempDir(), "mcp"), () => now);
    creds.save("https://mcr", { username: "ops", tokens: { "mcp-agent": { token: "t", expires_at: new Date(now + 1000).toISOString() } } });
    assert.equal(creds.token("https://mcr", "mcp-agent"), "t");
    now += 2000;
    assert.throws(() => creds.token("https://mcr", "mcp-agent"), /has expired: run `mcp login`/);
  });
});

describe("service definitions", () => {
  const SHOP =
    'name = "shop"\nnode = "rift"\nversion = "v1"\npath = "apps/shop"\n\n[build.images]\nshop = "Containerfile"\n\n[[components]]\nname = "api"\n\n[[components.routes]]\nname = "rest"\nport = 8443\n\n[[components]]\nname = "web"\nimage = "other.example/web"\n';

  test("reads the build fields the console uses and derives component images", () => {
    const dir = tempDir();
    writeFileSync(join(dir, "shop.toml"), SHOP);
    const d = new Definitions(dir).get("shop");
    assert.equal(d.path, "apps/shop");
    assert.deepEqual(d.images, { shop: "Containerfile" });
    assert.deepEqual(componentImage(d.def, d.def.components[0]!, "mcr:8443"), { ref: "mcr:8443/shop:v1", repository: "shop", tag: "v1", inRegistry: true });
    assert.equal(componentImage(d.def, d.def.components[1]!, "mcr:8443").inRegistry, false);
    assert.equal(componentImage(d.def, d.def.components[1]!, "mcr:8443").ref, "other.example/web:v1");
  });

  test("a bad file is reported with its path, the field and the line", () => {
    const dir = tempDir();
    mkdirSync(join(dir, "sub"));
    writeFileSync(join(dir, "shop.toml"), SHOP.replace("port = 8443", "port = 99999"));
    assert.throws(
      () => new Definitions(dir).get("shop"),
      (e: ConsoleError) => e.code === "invalid" && e.message.startsWith(`${join(dir, "shop.toml")}:14: components[0].routes[0].port:`),
    );
    writeFileSync(join(dir, "shop.toml"), SHOP.replace('version = "v1"', 'version = "latest"'));
    assert.throws(() => new Definitions(dir).get("shop"), /shop\.toml:3: version: "latest" is not allowed/);
    writeFileSync(join(dir, "shop.toml"), SHOP.replace('path = "apps/shop"', 'path = "../x"'));
    assert.throws(() => new Definitions(dir).get("shop"), /shop\.toml:4: path: /);
    assert.throws(
      () => new Definitions(dir).get("nope"),
      (e: ConsoleError) => e.code === "not_found",
    );
  });

  test("findLine walks array tables", () => {
    const text =
      '[[components]]\nname = "a"\n[[components.routes]]\nport = 1\n[[components]]\nname = "b"\n[[components.routes]]\nport = 2\n[[components.routes]]\nport = 3\n';
    assert.equal(findLine(text, "components[1].routes[1].port"), 10);
    assert.equal(findLine(text, "components[1].name"), 6);
    assert.equal(findLine(text, "nothing"), 0);
  });
});
