// mcr init and mcp-agent init keep the platform CA's key out of every daemon's home.
import assert from "node:assert/strict";
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, renameSync, rmSync, statSync, unlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { initRegistry } from "../../../registry/commands/init.ts";
import { initAgent } from "../../../agent/commands/init.ts";
import { createCA } from "../../../lib/tls/certs.ts";

const root = mkdtempSync(join(tmpdir(), "init-test-"));
after(() => rmSync(root, { recursive: true, force: true }));

/** Every file below `dir`, relative. */
function files(dir: string, prefix = ""): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => (e.isDirectory() ? files(join(dir, e.name), `${prefix}${e.name}/`) : [`${prefix}${e.name}`]));
}

/** Every file and folder (with a trailing /) below `dir`, relative. */
function entries(dir: string, prefix = ""): string[] {
  return readdirSync(dir, { withFileTypes: true })
    .flatMap((e) => (e.isDirectory() ? [`${prefix}${e.name}/`, ...entries(join(dir, e.name), `${prefix}${e.name}/`)] : [`${prefix}${e.name}`]))
    .sort();
}

const opts = (dir: string) => ({ dir, listen: "127.0.0.1:0", hostnames: [], force: false });

describe("init and the platform CA", () => {
  test("mcr init writes the CA key beside the home, never in it; the home gets only the CA certificate", async () => {
    const dir = join(root, "mcr");
    const r = await initRegistry(opts(dir));
    assert.equal(r.caDir, `${dir}-ca`);
    assert.deepEqual(
      files(dir).filter((f) => /key/.test(f)),
      ["certs/key.pem", "signer/signer-key.pem"],
      "only the server's own key and the node signer's are in the home",
    );
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
    assert.deepEqual(
      files(agent).filter((f) => /key/.test(f)),
      ["certs/key.pem"],
    );
    assert.equal(existsSync(`${agent}-ca`), false, "no second CA");
  });
});

describe("a refused mcr init leaves nothing behind", () => {
  const caA = join(root, "ca-a");
  const caB = join(root, "ca-b");
  before(async () => {
    for (const d of [caA, caB]) {
      const ca = await createCA("test CA");
      mkdirSync(d);
      writeFileSync(join(d, "ca.pem"), ca.certPem);
      writeFileSync(join(d, "ca-key.pem"), ca.keyPem);
    }
  });

  test("a ca.pem without its key is refused before the home or its folders exist", async () => {
    const dir = join(root, "refused-key");
    mkdirSync(`${dir}-ca`);
    copyFileSync(join(caA, "ca.pem"), join(`${dir}-ca`, "ca.pem"));
    await assert.rejects(initRegistry(opts(dir)), /ca\.pem exists but its key .*ca-key\.pem does not/);
    assert.equal(existsSync(dir), false, "no home, no backups/ certs/ layers/");
    assert.deepEqual(readdirSync(`${dir}-ca`), ["ca.pem"], "the CA folder is left as it was");
  });

  test("an empty home given beforehand stays empty; a legacy ca.pem without a key is refused too", async () => {
    const dir = join(root, "refused-legacy");
    mkdirSync(join(dir, "certs"), { recursive: true });
    copyFileSync(join(caA, "ca.pem"), join(dir, "certs", "ca.pem"));
    await assert.rejects(initRegistry(opts(dir)), /its key is neither in/);
    assert.deepEqual(entries(dir), ["certs/", "certs/ca.pem"]);
    assert.equal(existsSync(`${dir}-ca`), false);
  });

  test("a CA whose files do not parse, or whose key belongs to another CA, is refused before anything is made", async () => {
    const garbled = join(root, "refused-garbled");
    mkdirSync(`${garbled}-ca`);
    writeFileSync(join(`${garbled}-ca`, "ca.pem"), "not a certificate\n");
    writeFileSync(join(`${garbled}-ca`, "ca-key.pem"), "not a key\n");
    await assert.rejects(initRegistry(opts(garbled)), /are not a usable CA/);
    assert.equal(existsSync(garbled), false);

    const mixed = join(root, "refused-mixed");
    mkdirSync(`${mixed}-ca`);
    copyFileSync(join(caA, "ca.pem"), join(`${mixed}-ca`, "ca.pem"));
    copyFileSync(join(caB, "ca-key.pem"), join(`${mixed}-ca`, "ca-key.pem"));
    await assert.rejects(initRegistry(opts(mixed)), /are not a usable CA \(the key does not belong to the certificate\)/);
    assert.equal(existsSync(mixed), false);
  });

  test("a failure after files were written removes what this run made, and only that", async () => {
    const dir = join(root, "fails-late");
    // A folder where the database file should go: opening the database fails last.
    mkdirSync(join(dir, "mcr.db"), { recursive: true });
    writeFileSync(join(dir, "mcr.db", "keep"), "mine");
    await assert.rejects(initRegistry(opts(dir)));
    assert.deepEqual(entries(dir), ["mcr.db/", "mcr.db/keep"], "certificates, config and folders are gone; what was there stays");
    assert.equal(existsSync(`${dir}-ca`), false, "the CA this run made is gone too (nothing trusts it yet)");
  });

  test("a late failure with an existing CA keeps the CA", async () => {
    const dir = join(root, "fails-late-ca");
    mkdirSync(join(dir, "mcr.db"), { recursive: true });
    await assert.rejects(initRegistry({ ...opts(dir), caDir: caA }));
    assert.deepEqual(entries(dir), ["mcr.db/"]);
    assert.deepEqual(readdirSync(caA).sort(), ["ca-key.pem", "ca.pem"]);
  });
});
