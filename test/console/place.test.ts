// `mcp place`, run as the real binary against a console config and definitions on disk.
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { after, before, describe, test } from "node:test";
import { REPO_ROOT } from "../helpers/mcr-process.ts";

const run = promisify(execFile);
const MCP = join(REPO_ROOT, "bin", "mcp");

describe("mcp place", () => {
  let dir: string;
  const config = (sheet: string, extra = "") => {
    const path = join(dir, `${sheet}.toml`);
    writeFileSync(
      path,
      `[placement]\nsheet = "${sheet}"\nmachine_registry = "machine-registry"\n${extra}\n[services]\ndir = "services"\n[storage]\nroot = "/srv"\nmount_root = "/mnt"\n[users]\nhome_root = "/home/svc"\n`,
    );
    return path;
  };
  after(() => rmSync(dir, { recursive: true, force: true }));
  before(() => {
    dir = mkdtempSync(join(tmpdir(), "mcp-console-"));
    mkdirSync(join(dir, "services"));
    writeFileSync(join(dir, "machine-registry"), "station=00\ngazette=01\nlldap=02\n");
    writeFileSync(
      join(dir, "services", "lldap.toml"),
      'name = "lldap"\nnode = "rift"\nversion = "v1"\nenvironment = "test"\n[storage]\nnfs = "nas:/volume1/dynamicalsystem/lldap/test"\n[[components]]\nname = "api"\n[[components.routes]]\nname = "ldap"\nport = 389\n[[components.routes]]\nname = "web"\nport = 443\nindex = 5\n',
    );
    writeFileSync(join(dir, "services", "fresh.toml"), 'name = "fresh"\nnode = "rift"\nversion = "v1"\n[[components]]\nname = "api"\n');
  });

  test("--json prints the placement: numbers, user, ports by route, storage, XDG links", async () => {
    const { stdout } = await run(MCP, ["--config", config("dynamicalsystem"), "place", "lldap", "--json"]);
    const r = JSON.parse(stdout);
    assert.deepEqual([r.sheetNumber, r.machineNumber, r.environment, r.uid, r.user], [1, 2, "test", 10210, "lldap-test"]);
    assert.equal(r.ports.length, 10);
    assert.deepEqual(
      r.ports.filter((p: { route: string }) => p.route).map((p: { port: number; route: string }) => [p.port, p.route]),
      [
        [10210, "api/ldap"],
        [10215, "api/web"],
      ],
    );
    assert.equal(r.storageRoot, "/mnt/lldap-test");
    assert.equal(r.nfs, "nas:/volume1/dynamicalsystem/lldap/test");
    assert.deepEqual(r.xdgLinks[0], { link: "/home/svc/lldap-test/.local/state/dynamicalsystem/@lldap", target: "/mnt/lldap-test/state" });
  });

  test("--env overrides the definition's environment; a new service gets the lowest free number", async () => {
    const r = JSON.parse((await run(MCP, ["--config", config("dynamicalsystem"), "place", "fresh", "--env", "staging", "--json"])).stdout);
    assert.deepEqual([r.machineNumber, r.newMachineNumber, r.uid, r.storageRoot], [3, true, 10330, "/srv/fresh-staging"]);
  });

  test("text output names the user, UID and every port", async () => {
    const { stdout } = await run(MCP, ["--config", config("dynamicalsystem"), "place", "lldap"]);
    assert.match(stdout, /^lldap-test {2}\(sheet dynamicalsystem S=1, machine M=02, environment test E=1\)/);
    assert.match(stdout, /UID\/GID {3}10210/);
    assert.match(stdout, /P=5 {2}10215 {2}api\/web/);
  });

  test("a refused placement exits 1 with the reason; unknown services exit 3, unknown environments 2", async () => {
    const refuse = async (args: string[], code: number, re: RegExp) => {
      const err = await run(MCP, args).then(
        () => assert.fail("should fail"),
        (e: { code: number; stderr: string; stdout: string }) => e,
      );
      assert.equal(err.code, code);
      assert.match(err.stderr, re);
      return err;
    };
    const e = await refuse(["--config", config("mycompany"), "place", "lldap", "--json"], 1, /past the last TCP port 65535.*Set sheet_number/);
    const doc = JSON.parse(e.stdout);
    assert.equal(doc.error.code, "failed");
    assert.match(doc.error.message, /UID 70210/);
    await refuse(["--config", config("dynamicalsystem"), "place", "nope"], 3, /no service definition .*nope\.toml/);
    await refuse(["--config", config("dynamicalsystem"), "place", "lldap", "--env", "prd"], 2, /unknown environment "prd"/);
    // sheet_number brings the sheet into range.
    const ok = JSON.parse((await run(MCP, ["--config", config("mycompany", "sheet_number = 2"), "place", "lldap", "--json"])).stdout);
    assert.equal(ok.uid, 20210);
  });
});
