// The node signer: `mcr init` makes it beside the server's files (never the CA key), a CA from
// before signers is re-issued with the same key so that it may sign one (and old clients still
// verify mcr), and `mcr cert signer` renews it only once a third of its life is left.
import "reflect-metadata";
import assert from "node:assert/strict";
import { X509Certificate } from "node:crypto";
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import * as x509 from "@peculiar/x509";
import { renewSigner, SIGNER_LIFETIME_MS } from "../../../registry/commands/signer.ts";
import { initRegistry } from "../../../registry/commands/init.ts";
import { loadRegistryConfig } from "../../../registry/config.ts";
import { caPathLength, createCA, issueServerCert, reissueCA } from "../../../lib/tls/certs.ts";

const DAY = 86_400_000;

describe("the node signer", () => {
  let base: string;
  before(() => {
    base = mkdtempSync(join(tmpdir(), "signer-"));
  });
  after(() => rmSync(base, { recursive: true, force: true }));

  test("mcr init makes a signer from the CA (path length 1), 0600 in the home, named by the config", async () => {
    const r = await initRegistry({ dir: join(base, "a"), listen: "127.0.0.1:0", hostnames: [], force: false });
    const cfg = loadRegistryConfig(r.config);
    assert.equal(cfg.nodes.signer_cert, join(base, "a", "signer", "signer.pem"));
    assert.equal(cfg.nodes.ca_cert, join(base, "a", "certs", "ca.pem"));
    assert.equal(cfg.nodes.cert_lifetime, 30 * DAY);
    assert.equal(statSync(cfg.nodes.signer_key).mode & 0o777, 0o600);
    const signer = new X509Certificate(readFileSync(cfg.nodes.signer_cert));
    const ca = new X509Certificate(readFileSync(r.caCert));
    assert.ok(signer.ca && signer.verify(ca.publicKey));
    assert.equal(caPathLength(readFileSync(r.caCert, "utf8")), 1);
    assert.equal(new x509.X509Certificate(readFileSync(cfg.nodes.signer_cert, "utf8")).getExtension(x509.BasicConstraintsExtension)?.pathLength, 0);
    const life = Date.parse(signer.validTo) - Date.parse(signer.validFrom);
    assert.ok(Math.abs(life - SIGNER_LIFETIME_MS) < 120_000);
    for (const f of ["ca-key.pem"]) assert.throws(() => statSync(join(base, "a", "signer", f)));
  });

  test("mcr cert signer keeps a young signer, renews one with a third of its life left", async () => {
    const config = join(base, "a", "mcr.toml");
    const kept = await renewSigner({ config });
    assert.equal(kept.renewed, false);
    assert.match(kept.reason, /days of its life are left/);
    const old = readFileSync(join(base, "a", "signer", "signer.pem"), "utf8");
    const due = await renewSigner({ config, now: Date.now() + 61 * DAY });
    assert.equal(due.renewed, true);
    assert.match(due.reason, /a third of its life was left/);
    assert.notEqual(readFileSync(join(base, "a", "signer", "signer.pem"), "utf8"), old);
    assert.equal((await renewSigner({ config, force: true })).reason, "--force");
  });

  test("a CA made before signers is re-issued with its key: old clients still verify mcr", async () => {
    const old = await createCA("Old CA");
    // What createCA made before node signers: path length 0.
    const pathLen0 = await x509.X509CertificateGenerator.createSelfSigned({
      serialNumber: "01",
      name: "CN=Old CA",
      notBefore: new Date(Date.now() - 60_000),
      notAfter: new Date(Date.now() + 3650 * DAY),
      signingAlgorithm: { name: "ECDSA", hash: "SHA-256" },
      keys: {
        privateKey: await crypto.subtle.importKey("pkcs8", x509.PemConverter.decodeFirst(old.keyPem), { name: "ECDSA", namedCurve: "P-256" }, true, ["sign"]),
        publicKey: await new x509.X509Certificate(old.certPem).publicKey.export({ name: "ECDSA", namedCurve: "P-256" }, ["verify"]),
      } as CryptoKeyPair,
      extensions: [new x509.BasicConstraintsExtension(true, 0, true), new x509.KeyUsagesExtension(x509.KeyUsageFlags.keyCertSign, true)],
    });
    const legacy = { certPem: pathLen0.toString("pem"), keyPem: old.keyPem };
    assert.equal(caPathLength(legacy.certPem), 0);
    const server = await issueServerCert(legacy, ["localhost"]);
    const upgraded = await reissueCA(legacy);
    assert.equal(caPathLength(upgraded.certPem), 1);
    assert.equal(new X509Certificate(upgraded.certPem).subject, new X509Certificate(legacy.certPem).subject);
    assert.ok(
      new X509Certificate(server.certPem).verify(new X509Certificate(upgraded.certPem).publicKey),
      "a server certificate of the old CA verifies under the new one",
    );

    // mcr init over a CA folder holding the old certificate re-issues it and makes the signer.
    const caDir = join(base, "legacy-ca");
    const { mkdirSync } = await import("node:fs");
    mkdirSync(caDir, { mode: 0o700 });
    writeFileSync(join(caDir, "ca.pem"), legacy.certPem);
    writeFileSync(join(caDir, "ca-key.pem"), legacy.keyPem, { mode: 0o600 });
    const r = await initRegistry({ dir: join(base, "b"), listen: "127.0.0.1:0", hostnames: [], force: false, caDir });
    assert.equal(caPathLength(readFileSync(join(caDir, "ca.pem"), "utf8")), 1);
    assert.equal(readFileSync(r.caCert, "utf8"), readFileSync(join(caDir, "ca.pem"), "utf8"), "the home's ca.pem is the new one");
    assert.ok(new X509Certificate(readFileSync(join(base, "b", "signer", "signer.pem"))).verify(new X509Certificate(readFileSync(r.caCert)).publicKey));
  });
});
