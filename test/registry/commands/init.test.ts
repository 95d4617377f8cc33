// mcr init and mcp-agent init keep the platform CA's key out of every daemon's home.
import assert from "node:assert/strict";
import { existsSync, mkdtempSync, readdirSync, readFileSync, renameSync, rmSync, statSync, unlinkSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, test } from "node:test";
import { initRegistry } from "../../../registry/commands/init.ts";
import { initAgent } from "../../../daemon/commands/init.ts";

const root = mkdtempSync(join(tmpdir(), "init-test-"));
after(() => rmSync(root, { recursive: true, force: true }));

/** Every file below `dir`, relative. */
function files(dir: string, prefix = ""): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => (e.isDirectory() ? files(join(dir, e.name), `${prefix}${e.name}/`) : [`${prefix}${e.name}`]));
}

const opts = (dir: string) => ({ dir, listen: "127.0.0.1:0", hostnames: [], force: false });

describe("init and the platform CA", () => {
  test("mcr init writes the CA key beside the home, never in it; the home gets only the CA certificate", async () => {
    const dir = join(root, "mcr");
    const r = await initRegistry(opts(dir));
    assert.equal(r.caDir, `${dir}-ca`);
    assert.deepEqual(files(dir).filter((f) => /key/.test(f)), ["certs/key.pem"], "only the server's own key is in the home");
    assert.equal(statSync(r.caDir).mode & 0o777, 0o700);
    assert.equal(statSync(join(r.caDir, "ca-key.pem")).mode & 0o777, 0o600);
    assert.equal(readFileSync(join(dir, "certs", "ca.pem"), "utf8"), readFileSync(join(r.caDir, "ca.pem"), "utf8"));
  });

  test("init --force reuses the CA, so clients keep trusting the registry", async () => {
    const dir = join(root, "mcr");
    const before = readFileSync(join(dir, "certs", "ca.pem"), "utf8");
    await initRegistry({ ...opts(dir), force: true });
    assert.equal(readFileSync(join(dir, "certs", "ca.pem"), "utf8"), before);
    assert.equal(existsSync(join(dir, "certs", "ca-key.pem")), false);
  });

  test("a home made before the CA moved out hands its key over to the CA folder", async () => {
    const dir = join(root, "mcr");
    const caDir = `${dir}-ca`;
    const before = readFileSync(join(caDir, "ca.pem"), "utf8");
    // The old layout: ca.pem and ca-key.pem in <home>/certs, no CA folder.
    renameSync(join(caDir, "ca-key.pem"), join(dir, "certs", "ca-key.pem"));
    rmSync(caDir, { recursive: true });
    await initRegistry({ ...opts(dir), force: true });
    assert.equal(existsSync(join(dir, "certs", "ca-key.pem")), false, "the key left the home");
    assert.equal(readFileSync(join(caDir, "ca.pem"), "utf8"), before, "the same CA");
    assert.ok(existsSync(join(caDir, "ca-key.pem")));
  });

  test("a CA certificate whose key is gone is refused instead of signing with a CA nobody trusts", async () => {
    const dir = join(root, "mcr");
    unlinkSync(join(`${dir}-ca`, "ca-key.pem"));
    await assert.rejects(initRegistry({ ...opts(dir), force: true }), /ca\.pem exists but its key .*ca-key\.pem does not/);
  });

  test("mcp-agent init signs with the CA folder it is given and copies only the certificate", async () => {
    const mcr = join(root, "mcr2");
    const r = await initRegistry(opts(mcr));
    const agent = join(root, "agent");
    const a = await initAgent({ dir: agent, listen: "127.0.0.1:0", hostnames: [], caDir: r.caDir, force: false });
    assert.equal(readFileSync(a.caCert, "utf8"), readFileSync(join(r.caDir, "ca.pem"), "utf8"));
    assert.deepEqual(files(agent).filter((f) => /key/.test(f)), ["certs/key.pem"]);
    assert.equal(existsSync(`${agent}-ca`), false, "no second CA");
  });
});
