// Join tokens and node certificate requests: the token's shape, what a wrong one is told, and
// a request that proves its key while the certificate carries only the names it is given.
import assert from "node:assert/strict";
import { test } from "node:test";
import { joinSecretHash, newJoinToken, parseJoinToken } from "../../lib/nodes/join-token.ts";
import { certDigest, splitPem } from "../../lib/tls/node-certs.ts";
import { normalSerial } from "../../lib/tls/serial.ts";
import { createCA } from "../../lib/tls/certs.ts";

test("a join token carries the CA digest and a secret the registry keeps only a hash of", async () => {
  const ca = await createCA("T");
  const digest = certDigest(ca.certPem);
  assert.match(digest, /^[0-9a-f]{64}$/);
  const { token, secretHash } = newJoinToken(digest);
  const parsed = parseJoinToken(` ${token}\n`);
  assert.equal(parsed.caDigest, digest);
  assert.equal(joinSecretHash(parsed.secret), secretHash);
  assert.ok(!token.includes(secretHash));
  assert.notEqual(newJoinToken(digest).token, token, "each token is new");
});

test("what is not a join token is refused, naming what is wrong and never echoing it", () => {
  assert.throws(() => parseJoinToken("SWMTKN-1-abc"), /must start with MCPJOIN-1-/);
  assert.throws(() => parseJoinToken(`MCPJOIN-1-${"g".repeat(64)}-${"0".repeat(64)}`), /64 lower-case hex digits each/);
  assert.throws(
    () => parseJoinToken(`MCPJOIN-1-${"0".repeat(64)}-${"0".repeat(63)}`),
    (e: Error) => !e.message.includes("0".repeat(63)),
  );
});

test("serials compare without case or leading zeros; PEM bundles split", async () => {
  assert.equal(normalSerial("0a:B1"), "AB1");
  assert.equal(normalSerial("00AB1"), "AB1");
  const a = await createCA("A");
  const b = await createCA("B");
  assert.deepEqual(splitPem(`${a.certPem.trim()}\n${b.certPem}`).length, 2);
});
