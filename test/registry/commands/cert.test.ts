// `mcr cert renew` reissues the server certificate without touching mcr.toml, and
// init refuses a home whose trusted ca.pem has lost its key.
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { X509Certificate, createPrivateKey, createPublicKey } from "node:crypto";
import { chownSync, existsSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from "node:fs";
import { connect } from "node:tls";
import { join } from "node:path";
import { promisify } from "node:util";
import { after, before, describe, test } from "node:test";
import { initRegistry } from "../../../registry/commands/init.ts";
import { namesOf } from "../../../registry/commands/cert.ts";
import { RegistryClient } from "../../helpers/https-client.ts";
import { MCR_BIN, initHome, removeHome, startMcr, type McrHome } from "../../helpers/mcr-process.ts";

const run = promisify(execFile);

async function mcr(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const { stdout, stderr } = await run(MCR_BIN, args);
    return { code: 0, stdout, stderr };
  } catch (err) {
    const e = err as { code: number; stdout: string; stderr: string };
    return { code: e.code, stdout: e.stdout, stderr: e.stderr };
  }
}

/** The certificate a TLS server presents for `servername`, verified against `ca`. */
function presented(port: number, servername: string, ca: string): Promise<X509Certificate> {
  return new Promise((resolve, reject) => {
    const s = connect({ host: "127.0.0.1", port, servername, ca }, () => {
      const raw = s.getPeerX509Certificate();
      s.end();
      if (raw) resolve(raw);
      else reject(new Error("no certificate"));
    });
    s.on("error", reject);
  });
}

describe("mcr cert renew", () => {
  let home: McrHome;

  before(async () => {
    home = await initHome();
    // What an operator changes in the generated config; init --force used to drop all of it.
    const text = readFileSync(home.config, "utf8")
      .replace(/\n\[mcias\][\s\S]*?(?=\n\[auth\])/, '\n[mcias]\nservice_name = "mcr-prod"\n')
      .replace("delete_enabled = true", "delete_enabled = true\nmax_blob_bytes = 123456789")
      .replace('listen_addr = "127.0.0.1:0"', 'listen_addr = "127.0.0.1:0" # edited');
    writeFileSync(home.config, text);
  });
  after(() => removeHome(home));

  test("keeps the config byte for byte, keeps the names, adds new ones, keeps owner and mode", async () => {
    const certPath = join(home.dir, "certs", "cert.pem");
    const keyPath = join(home.dir, "certs", "key.pem");
    const config = readFileSync(home.config, "utf8");
    const old = new X509Certificate(readFileSync(certPath));
    // As installed: the server's user owns its certificate, root runs the renewal.
    if (process.getuid?.() === 0) for (const f of [certPath, keyPath]) chownSync(f, 65534, 65534);

    const r = await mcr(["cert", "renew", "--config", home.config, "--hostname", "registry.example.net", "10.1.2.3"]);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /restart mcr/);
    assert.equal(readFileSync(home.config, "utf8"), config, "mcr.toml is untouched");

    const renewed = new X509Certificate(readFileSync(certPath));
    assert.notEqual(renewed.serialNumber, old.serialNumber);
    const names = namesOf(renewed);
    for (const n of namesOf(old)) assert.ok(names.includes(n), `keeps ${n}`);
    assert.ok(names.includes("registry.example.net") && names.includes("10.1.2.3"), names.join(","));
    assert.equal(names.length, new Set(names).size, "no name twice");
    assert.ok(renewed.checkIssued(new X509Certificate(home.caPem)) && renewed.verify(new X509Certificate(home.caPem).publicKey), "signed by the platform CA");
    const keyPem = readFileSync(keyPath, "utf8");
    assert.deepEqual(
      createPublicKey(createPrivateKey(keyPem)).export({ type: "spki", format: "der" }),
      renewed.publicKey.export({ type: "spki", format: "der" }),
      "the key matches",
    );
    assert.equal(statSync(keyPath).mode & 0o777, 0o600);
    assert.equal(statSync(certPath).mode & 0o777, 0o644);
    if (process.getuid?.() === 0) for (const f of [certPath, keyPath]) assert.equal(statSync(f).uid, 65534, `${f} keeps its owner`);

    // A second renewal without --hostname keeps the added names.
    assert.equal((await mcr(["cert", "renew", "--config", home.config])).code, 0);
    assert.ok(namesOf(new X509Certificate(readFileSync(certPath))).includes("registry.example.net"));
  });

  test("the restarted server presents the renewed certificate for the new name, with the edited config in force", async () => {
    const server = await startMcr(home, {}, { auth: true });
    const client = new RegistryClient(server.url, home.caPem);
    try {
      const cert = await presented(server.port, "registry.example.net", home.caPem);
      assert.ok(namesOf(cert).includes("registry.example.net"));
      const challenge = await client.request("GET", "/v2/");
      assert.match(String(challenge.headers["www-authenticate"]), /service="mcr-prod"/, "the operator's [mcias] is still there");
    } finally {
      client.close();
      await server.stop();
    }
  });

  test("refuses a CA other than the one that issued the certificate, and a missing CA", async () => {
    const other = await initHome();
    try {
      const wrong = await mcr(["cert", "renew", "--config", home.config, "--ca-dir", other.caDir]);
      assert.equal(wrong.code, 1);
      assert.match(wrong.stderr, /was not issued by the CA in/);
      const missing = await mcr(["cert", "renew", "--config", home.config, "--ca-dir", join(other.dir, "nowhere")]);
      assert.equal(missing.code, 1);
      assert.match(missing.stderr, /ca\.pem exists but its key is neither in .*nowhere/);
      assert.equal(existsSync(join(other.dir, "nowhere")), false, "renew never creates a CA");
    } finally {
      removeHome(other);
    }
  });
});

describe("mcr init with a CA certificate whose key is gone", () => {
  test("refuses instead of replacing the ca.pem clients trust with a new CA", async () => {
    const home = await initHome();
    try {
      const trusted = readFileSync(home.caPath, "utf8");
      renameSync(home.caDir, `${home.caDir}-elsewhere`); // the CA folder is not where init looks
      await assert.rejects(
        initRegistry({ dir: home.dir, listen: "127.0.0.1:0", hostnames: [], force: true }),
        /ca\.pem exists but its key is neither in .* nor in .*: pass --ca-dir/,
      );
      assert.equal(readFileSync(home.caPath, "utf8"), trusted, "the trusted certificate is untouched");
      assert.equal(existsSync(home.caDir), false, "no new CA was made");
      rmSync(`${home.caDir}-elsewhere`, { recursive: true, force: true });
    } finally {
      removeHome(home);
    }
  });
});
