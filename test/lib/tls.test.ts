import assert from "node:assert/strict";
import { X509Certificate } from "node:crypto";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { createServer, request } from "node:https";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { connect } from "node:tls";
import { describe, test } from "node:test";
import { createCA, issueServerCert } from "../../lib/tls/certs.ts";
import { serverTlsOptions } from "../../lib/tls/server-options.ts";

describe("platform CA and server certificates", () => {
  test("the server certificate is issued by the CA and names every host", async () => {
    const ca = await createCA("Test CA");
    const server = await issueServerCert(ca, ["localhost", "127.0.0.1", "registry.example"]);
    const caCert = new X509Certificate(ca.certPem);
    const cert = new X509Certificate(server.certPem);
    assert.ok(caCert.ca);
    assert.equal(cert.ca, false);
    assert.ok(cert.checkIssued(caCert));
    assert.ok(cert.verify(caCert.publicKey));
    assert.equal(cert.checkHost("registry.example"), "registry.example");
    assert.equal(cert.checkIP("127.0.0.1"), "127.0.0.1");
    assert.equal(cert.checkHost("other.example"), undefined);
  });

  test("refuses to issue a certificate without names", async () => {
    await assert.rejects(issueServerCert(await createCA("CA"), []), /at least one host/);
  });

  test("servers speak TLS 1.3 only, and clients verify against the CA", async (t) => {
    const ca = await createCA("Test CA");
    const pair = await issueServerCert(ca, ["localhost"]);
    const dir = mkdtempSync(join(tmpdir(), "tls-"));
    t.after(() => rmSync(dir, { recursive: true, force: true }));
    writeFileSync(join(dir, "cert.pem"), pair.certPem);
    writeFileSync(join(dir, "key.pem"), pair.keyPem);
    const server = createServer(serverTlsOptions(join(dir, "cert.pem"), join(dir, "key.pem")), (_req, res) => res.end("ok"));
    await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
    const port = (server.address() as { port: number }).port;
    try {
      const body = await new Promise<string>((resolve, reject) => {
        request({ host: "localhost", port, ca: ca.certPem, path: "/" }, (res) => {
          let s = "";
          res.on("data", (d) => (s += d));
          res.on("end", () => resolve(s));
        })
          .on("error", reject)
          .end();
      });
      assert.equal(body, "ok");
      // A TLS 1.2 client is refused.
      await assert.rejects(
        new Promise((resolve, reject) => {
          const s = connect({ host: "localhost", port, ca: ca.certPem, maxVersion: "TLSv1.2" }, () => resolve(s));
          s.on("error", reject);
        }),
        /version|protocol/i,
      );
      // A client that does not trust the CA is refused.
      await assert.rejects(
        new Promise((resolve, reject) => request({ host: "localhost", port, path: "/" }, resolve).on("error", reject).end()),
        /self-signed|unable to verify|issuer/i,
      );
    } finally {
      server.close();
    }
  });

  test("missing certificate files give a clear error", () => {
    assert.throws(() => serverTlsOptions("/nonexistent/cert.pem", "/nonexistent/key.pem"), /cannot read TLS certificate \/nonexistent\/cert\.pem/);
  });
});

describe("the servers' TLS 1.3 suites", () => {
  test("AES-128-GCM is chosen when the client offers every suite; AES-256 and ChaCha20 still serve clients that want only them", async () => {
    const ca = await createCA("Suite CA");
    const pair = await issueServerCert(ca, ["127.0.0.1"]);
    const dir = mkdtempSync(join(tmpdir(), "suites-"));
    writeFileSync(join(dir, "cert.pem"), pair.certPem);
    writeFileSync(join(dir, "key.pem"), pair.keyPem);
    const server = createServer(serverTlsOptions(join(dir, "cert.pem"), join(dir, "key.pem")), (_req, res) => res.end("ok"));
    await new Promise<void>((r) => server.listen(0, "127.0.0.1", () => r()));
    const port = (server.address() as { port: number }).port;
    const suite = (ciphers?: string) =>
      new Promise<string>((resolve, reject) => {
        // The client lists AES-256 first: the server's order decides.
        const s = connect(
          { host: "127.0.0.1", port, ca: ca.certPem, ciphers: ciphers ?? "TLS_AES_256_GCM_SHA384:TLS_CHACHA20_POLY1305_SHA256:TLS_AES_128_GCM_SHA256" },
          () => {
            resolve(s.getCipher().standardName);
            s.end();
          },
        );
        s.on("error", reject);
      });
    try {
      assert.equal(await suite(), "TLS_AES_128_GCM_SHA256");
      assert.equal(await suite("TLS_AES_256_GCM_SHA384"), "TLS_AES_256_GCM_SHA384");
      assert.equal(await suite("TLS_CHACHA20_POLY1305_SHA256"), "TLS_CHACHA20_POLY1305_SHA256");
    } finally {
      server.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
