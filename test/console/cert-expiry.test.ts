// The certificate expiry rule of the node rows: a warning when less than a third of the
// lifetime (issued → expires) is left (a healthy agent renews at two thirds), bad once expired,
// nothing for a node without a certificate the registry knows of; the cells and --json.
import assert from "node:assert/strict";
import { test } from "node:test";
import { certCell, certState, certWarning, relative } from "../../console/views/cert.ts";
import { nodeJson } from "../../console/views/format.ts";
import { newNodeState } from "../../console/store/nodes.ts";

const DAY = 86_400_000;
const issued = Date.parse("2026-01-01T00:00:00Z");
const cert = { certIssuedAt: "2026-01-01T00:00:00Z", certExpiresAt: "2026-01-31T00:00:00Z" }; // 30 days
const at = (days: number) => issued + days * DAY;

test("a third of the lifetime left is the line: more is fine, less warns, past expiry is bad", () => {
  assert.equal(certState(cert, at(1)), "ok");
  assert.equal(certState(cert, at(19)), "ok", "renewed at two thirds (day 20): before it, nothing to say");
  assert.equal(certState(cert, at(20)), "ok", "exactly a third left");
  assert.equal(certState(cert, at(20) + 1000), "renew", "a second less than a third left");
  assert.equal(certState(cert, at(29.9)), "renew");
  assert.equal(certState(cert, at(30)), "expired");
  assert.equal(certState(cert, at(400)), "expired");
  assert.equal(certWarning(cert, at(10)), false);
  assert.equal(certWarning(cert, at(25)), true);
  assert.equal(certWarning(cert, at(31)), true);
});

test("no certificate (a config node the registry does not know, a pending node): no cell, no warning", () => {
  const none = { certIssuedAt: "", certExpiresAt: "" };
  assert.equal(certState(none, at(1)), "none");
  assert.equal(certWarning(none, at(1)), false);
  assert.deepEqual(certCell(none, at(1)), { text: "-", tone: "" });
  // An expiry without a known start warns only once expired.
  assert.equal(certState({ certIssuedAt: "", certExpiresAt: cert.certExpiresAt }, at(29)), "ok");
  assert.equal(certState({ certIssuedAt: "", certExpiresAt: cert.certExpiresAt }, at(30)), "expired");
});

test("the cell: when it expires, warn with a third left, bad once expired; with the day for mcp node list", () => {
  assert.deepEqual(certCell(cert, at(10)), { text: "in 20d0h", tone: "" });
  assert.deepEqual(certCell(cert, at(25)), { text: "in 5d0h", tone: "warn" });
  assert.deepEqual(certCell(cert, at(30) + 2 * 3_600_000), { text: "expired 2h0m ago", tone: "bad" });
  assert.deepEqual(certCell(cert, at(10), true), { text: "in 20d0h (2026-01-31)", tone: "" });
  assert.equal(relative("2026-01-01T00:00:45Z", issued), "in 45s");
  assert.equal(relative("", issued), "");
});

test("--json of a node row: source, certExpiresAt and certWarning", () => {
  const n = { ...newNodeState({ name: "orbit", url: "https://orbit:9444" }, "platform"), ...cert, certExpiresAt: new Date(Date.now() + DAY).toISOString() };
  n.certIssuedAt = new Date(Date.now() - 29 * DAY).toISOString();
  const doc = nodeJson(n);
  assert.equal(doc.source, "platform");
  assert.equal(doc.certExpiresAt, n.certExpiresAt);
  assert.equal(doc.certWarning, true);
  assert.equal(nodeJson(newNodeState({ name: "rift", url: "https://rift:9444" }, "config")).certWarning, false);
});
