// A joined node renews its certificate at two thirds of its life from a registry that signs
// with a node signer, writes the new pair, serves it (apply), and never renews in a loop when
// the signer cuts the new certificate short; a renewal cut between its renames is finished.
import "reflect-metadata";
import assert from "node:assert/strict";
import { X509Certificate } from "node:crypto";
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { createServer, type Server } from "node:https";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { silentLogger } from "../../../lib/log/logger.ts";
import { createCA, issueServerCert, type PemPair } from "../../../lib/tls/certs.ts";
import { createNodeRequest, createNodeSigner, issueNodeCert } from "../../../lib/tls/node-certs.ts";
import { CertRenewal, completeRenewal } from "../../../agent/registry/cert-renewal.ts";
import type { McrSession } from "../../../agent/registry/mcr-session.ts";

describe("node certificate renewal", () => {
  let dir: string;
  let ca: PemPair;
  let signer: PemPair;
  let server: Server;
  let url: string;
  let lifetimeMs = 3000;
  let asked = 0;
  const tokens: string[] = [];

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), "renewal-"));
    ca = await createCA("Renewal CA");
    signer = await createNodeSigner(ca, 86_400_000);
    const tls = await issueServerCert(ca, ["127.0.0.1"]);
    server = createServer({ cert: tls.certPem, key: tls.keyPem }, (req, res) => {
      let body = "";
      req.on("data", (c) => (body += c));
      req.on("end", async () => {
        asked++;
        tokens.push(req.headers.authorization ?? "");
        const issued = await issueNodeCert(signer, JSON.parse(body).csr, "orbit", ["127.0.0.1"], lifetimeMs);
        res.writeHead(200, { "content-type": "application/json" });
        res.end(JSON.stringify({ certificate: issued.chainPem, cert_expires_at: issued.notAfter.toISOString() }));
      });
    });
    await new Promise<void>((r) => server.listen(0, "127.0.0.1", () => r()));
    url = `https://127.0.0.1:${(server.address() as { port: number }).port}`;
  });
  after(async () => {
    await new Promise((r) => server.close(r));
    rmSync(dir, { recursive: true, force: true });
  });

  async function firstPair(): Promise<{ certPath: string; keyPath: string }> {
    const req = await createNodeRequest("orbit");
    const issued = await issueNodeCert(signer, req.csrPem, "orbit", ["127.0.0.1"], lifetimeMs);
    const certPath = join(dir, "cert.pem");
    const keyPath = join(dir, "key.pem");
    writeFileSync(certPath, issued.chainPem);
    writeFileSync(keyPath, req.keyPem);
    return { certPath, keyPath };
  }

  const session = { token: async () => "node-token", tokenRefused() {} } as unknown as McrSession;

  test("at two thirds of its life the certificate is renewed, written and served", async () => {
    lifetimeMs = 6000;
    const { certPath, keyPath } = await firstPair();
    const cert = new X509Certificate(readFileSync(certPath));
    const first = cert.serialNumber;
    // As the agent reads them: X.509 times are whole seconds.
    const from = Date.parse(cert.validFrom);
    const to = Date.parse(cert.validTo);
    const due = from + ((to - from) * 2) / 3;
    const applied: string[] = [];
    let appliedAt = 0;
    const r = new CertRenewal({
      certPath,
      keyPath,
      registryUrl: url,
      registryCa: ca.certPem,
      session,
      apply: (c) => {
        applied.push(c.toString());
        appliedAt ||= Date.now();
      },
      log: silentLogger(),
    });
    r.start();
    try {
      while (r.renewals < 1 && Date.now() < to + 2000) await new Promise((res) => setTimeout(res, 50));
      assert.equal(r.renewals, 1);
      assert.ok(
        appliedAt >= due && appliedAt < to,
        `renewed at ${appliedAt - from} ms of a ${to - from} ms validity: at two thirds (${due - from} ms), before it ends`,
      );
      assert.equal(tokens.at(-1), "Bearer node-token", "asked with the node account's registry token");
      const now = readFileSync(certPath, "utf8");
      assert.equal(applied[0], now, "the new certificate is served");
      assert.notEqual(new X509Certificate(now).serialNumber, first);
      assert.ok(
        new X509Certificate(now).checkPrivateKey((await import("node:crypto")).createPrivateKey(readFileSync(keyPath))),
        "the key on disk is the new certificate's",
      );
      assert.ok(!existsSync(`${certPath}.new`) && !existsSync(`${keyPath}.new`));
    } finally {
      r.stop();
    }
  });

  test("a certificate cut short by its signer is not renewed in a loop", async () => {
    lifetimeMs = 3000;
    const { certPath, keyPath } = await firstPair();
    // The registry now answers certificates that expire as soon as the current one.
    lifetimeMs = 1;
    const before = asked;
    const r = new CertRenewal({ certPath, keyPath, registryUrl: url, registryCa: ca.certPem, session, apply: () => {}, log: silentLogger() });
    r.start();
    await new Promise((res) => setTimeout(res, 3500));
    r.stop();
    assert.ok(asked - before <= 4, `asked ${asked - before} times in 3.5 s: at most once a second`);
  });

  test("a renewal cut between its renames is finished at start", () => {
    const certPath = join(dir, "c2.pem");
    const keyPath = join(dir, "k2.pem");
    writeFileSync(certPath, "old cert");
    writeFileSync(keyPath, "new key");
    writeFileSync(`${certPath}.new`, "new cert");
    completeRenewal(certPath, keyPath);
    assert.equal(readFileSync(certPath, "utf8"), "new cert");
    assert.equal(readFileSync(keyPath, "utf8"), "new key");
    assert.ok(!existsSync(`${certPath}.new`));
  });
});
