// The registrar behind node joining: one-time tokens that pin the CA and expire, certificates
// from the node signer for the names the platform registered (not those a request asks for),
// renewals only by a joined node's own account, and removal that revokes, disables and deletes.
import assert from "node:assert/strict";
import { X509Certificate } from "node:crypto";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import type { Kysely } from "kysely";
import type { Claims } from "../../../lib/auth/types.ts";
import { createLogger } from "../../../lib/log/logger.ts";
import { openSqlite } from "../../../lib/db/sqlite.ts";
import { createCA } from "../../../lib/tls/certs.ts";
import { createNodeRequest, createNodeSigner } from "../../../lib/tls/node-certs.ts";
import { normalSerial } from "../../../lib/tls/serial.ts";
import { AuditLog } from "../../../registry/audit/audit-log.ts";
import { registryMigrations } from "../../../registry/db/migrations.ts";
import type { RegistryDatabase } from "../../../registry/db/schema.ts";
import { AccountStore } from "../../../registry/identity/accounts.ts";
import { NodeError, NodeRegistrar } from "../../../registry/nodes/registrar.ts";
import { NodeStore } from "../../../registry/nodes/store.ts";
import { PolicyStore } from "../../../registry/policy/store.ts";

describe("node registrar", () => {
  let dir: string;
  let db: Kysely<RegistryDatabase>;
  let audit: AuditLog;
  let accounts: AccountStore;
  let policies: PolicyStore;
  let reg: NodeRegistrar;
  let caPem: string;
  let signerPem: string;
  let now = Date.parse("2026-12-01T00:00:00Z");
  const log = createLogger("test", "error");

  const make = (o: Partial<ConstructorParameters<typeof NodeRegistrar>[0]> = {}) =>
    new NodeRegistrar({
      store: new NodeStore(db),
      accounts,
      policies,
      audit,
      log,
      signerCert: join(dir, "signer.pem"),
      signerKey: join(dir, "signer-key.pem"),
      caCert: join(dir, "ca.pem"),
      certLifetimeMs: 30 * 86_400_000,
      now: () => new Date(now),
      ...o,
    });

  const refused = (kind: NodeError["kind"], re: RegExp) => (err: unknown) => err instanceof NodeError && err.kind === kind && re.test(err.message);

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), "registrar-"));
    ({ db } = await openSqlite<RegistryDatabase>(join(dir, "mcr.db"), registryMigrations));
    audit = new AuditLog(db, log);
    accounts = new AccountStore(db);
    policies = new PolicyStore(db, audit);
    const ca = await createCA("Test CA");
    const signer = await createNodeSigner(ca, 90 * 86_400_000);
    caPem = ca.certPem;
    signerPem = signer.certPem;
    writeFileSync(join(dir, "ca.pem"), ca.certPem);
    writeFileSync(join(dir, "signer.pem"), signer.certPem);
    writeFileSync(join(dir, "signer-key.pem"), signer.keyPem);
    reg = make();
  });
  after(async () => {
    await audit.close();
    await db.destroy();
    rmSync(dir, { recursive: true, force: true });
  });

  test("a node joins once with its token and gets a certificate for its registered names only", async () => {
    const { node, token } = await reg.add({ name: "orbit", url: "https://orbit.example.net:9444", hostnames: ["10.0.0.7"] }, "admin-id");
    assert.equal(node.state, "pending");
    assert.equal(node.tokenExpiresAt, new Date(now + 3_600_000).toISOString());
    const { csrPem } = await createNodeRequest("mcr.example.net");
    const a = await reg.join({ token, csr: csrPem }, "10.0.0.7");
    assert.equal(a.node.state, "joined");
    assert.equal(a.account.username, "node-orbit");
    assert.equal(a.ca, caPem);
    const [leaf, signer] = a.certificate.match(/-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g)!.map((p) => new X509Certificate(p));
    assert.equal(signer!.toString().trim(), new X509Certificate(signerPem).toString().trim());
    assert.ok(leaf!.verify(signer!.publicKey), "signed by the node signer");
    assert.ok(signer!.verify(new X509Certificate(caPem).publicKey), "the signer is the CA's");
    assert.equal(leaf!.subjectAltName, "DNS:orbit.example.net, IP Address:10.0.0.7", "the request's CN is not a name it gets");
    // The account may pull (its own rule), and logs in with the password it was given.
    assert.ok(await accounts.authenticate("node-orbit", a.account.password));
    const rules = await policies.list();
    assert.ok(rules.some((r) => r.description === "node orbit pulls" && r.subjectUUID === a.node.accountId && r.actions?.includes("registry:pull")));
    await assert.rejects(reg.join({ token, csr: csrPem }, "10.0.0.7"), refused("unauthenticated", /unknown or has been used/));
    await assert.rejects(reg.add({ name: "orbit" }, "admin-id"), refused("exists", /has joined already.*mcp node remove orbit/));
  });

  test("an expired token, one for another CA, a malformed one and a bad request are refused", async () => {
    const { csrPem } = await createNodeRequest("x");
    const { token } = await reg.add({ name: "late", expiresMs: 1000 }, "admin-id");
    now += 2000;
    await assert.rejects(reg.join({ token, csr: csrPem }, "ip"), refused("unauthenticated", /has expired/));
    const fresh = (await reg.add({ name: "late" }, "admin-id")).token;
    const other = fresh.replace(/^(MCPJOIN-1-)[0-9a-f]{64}/, `$1${"0".repeat(64)}`);
    await assert.rejects(reg.join({ token: other, csr: csrPem }, "ip"), refused("unauthenticated", /another platform CA/));
    await assert.rejects(reg.join({ token: "SWMTKN-1-abc", csr: csrPem }, "ip"), refused("invalid", /must start with MCPJOIN-1-/));
    const der = Buffer.from(csrPem.replace(/-----[A-Z ]+-----|\s/g, ""), "base64");
    der[der.length - 1]! ^= 0xff; // the last byte of the signature
    const tampered = `-----BEGIN CERTIFICATE REQUEST-----\n${der.toString("base64")}\n-----END CERTIFICATE REQUEST-----\n`;
    await assert.rejects(reg.join({ token: fresh, csr: tampered }, "ip"), refused("invalid", /signature does not verify/));
    await assert.rejects(reg.join({ token: fresh, csr: "not a request" }, "ip"), refused("invalid", /not a PEM PKCS#10 request/));
    // A refused request does not use the token up.
    assert.equal((await reg.join({ token: fresh, csr: csrPem }, "ip")).node.name, "late");
  });

  test("names, URLs and lifetimes are checked", async () => {
    await assert.rejects(reg.add({ name: "Bad Name" }, "a"), refused("invalid", /node name "Bad Name" must match/));
    await assert.rejects(reg.add({ name: "ok", url: "http://ok:9444" }, "a"), refused("invalid", /must be https:\/\/host:port/));
    await assert.rejects(reg.add({ name: "ok", hostnames: ["not a host"] }, "a"), refused("invalid", /neither a host name nor an IP/));
    await assert.rejects(reg.add({ name: "ok", expiresMs: 8 * 86_400_000 }, "a"), refused("invalid", /1 second to 7 days/));
    assert.equal((await reg.add({ name: "ok" }, "a")).node.url, "https://ok:9444");
  });

  test("only a joined node's own account renews, for that node's names", async () => {
    const orbit = (await reg.list()).nodes.find((n) => n.name === "orbit")!;
    const claims: Claims = { subject: orbit.accountId!, username: "node-orbit", accountType: "system", roles: ["user"], expiresAt: "", audience: "mcr" };
    const before = orbit.cert!.serial;
    const r = await reg.renew(claims, (await createNodeRequest("x")).csrPem);
    assert.equal(r.node, "orbit");
    const after = (await reg.list()).nodes.find((n) => n.name === "orbit")!.cert!;
    assert.notEqual(after.serial, before);
    assert.equal(
      after.serial,
      normalSerial(new X509Certificate(r.certificate.split("-----END CERTIFICATE-----")[0] + "-----END CERTIFICATE-----\n").serialNumber),
    );
    const someone = { ...claims, subject: "someone-else", username: "alice" };
    await assert.rejects(reg.renew(someone, (await createNodeRequest("x")).csrPem), refused("denied", /alice is not a joined node's account/));
  });

  test("removing a node revokes its certificates, disables its account and deletes its rule", async () => {
    const orbit = (await reg.list()).nodes.find((n) => n.name === "orbit")!;
    const r = await reg.remove("orbit", "admin-id");
    assert.equal(r.revoked.length, 2, "the joined and the renewed certificate");
    assert.deepEqual((await reg.list()).revoked.sort(), [...r.revoked].sort());
    assert.equal((await accounts.byUsername("node-orbit"))!.disabled, true);
    assert.ok(!(await policies.list()).some((x) => x.id === orbit.policyRuleId));
    assert.equal(
      (await reg.list()).nodes.some((n) => n.name === "orbit"),
      false,
    );
    await assert.rejects(reg.remove("orbit", "admin-id"), refused("not_found", /no node "orbit"/));
    // Revoked serials are listed until the certificates expire.
    now += 31 * 86_400_000;
    assert.deepEqual((await reg.list()).revoked, []);
    // The upkeep forgets them a day after they expired.
    const store = new NodeStore(db);
    assert.ok((await store.pruneExpiredCerts(new Date(now + 86_400_000))) >= 2);
    assert.equal((await db.selectFrom("node_certs").select("serial").where("node", "=", "orbit").execute()).length, 0);
    // The name can join again: the account comes back with a new password.
    const { token } = await reg.add({ name: "orbit" }, "admin-id");
    const again = await reg.join({ token, csr: (await createNodeRequest("x")).csrPem }, "ip");
    assert.equal((await accounts.byUsername("node-orbit"))!.disabled, false);
    assert.ok(await accounts.authenticate("node-orbit", again.account.password));
  });

  test("without a signer, or with an external identity server, joining is off and says why", async () => {
    await assert.rejects(make({ signerCert: "", signerKey: "" }).add({ name: "x" }, "a"), refused("unavailable", /joining is off.*signer_cert/));
    await assert.rejects(make({ accounts: undefined }).add({ name: "x" }, "a"), refused("unavailable", /external identity server/));
    mkdirSync(join(dir, "empty"));
    await assert.rejects(make({ signerCert: join(dir, "empty", "nope.pem") }).add({ name: "x" }, "a"), refused("unavailable", /node signer cannot be read/));
  });
});
