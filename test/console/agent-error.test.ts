// A node whose TLS certificate the console refuses (revoked, untrusted, for another name) is
// unreachable with the reason, never counted as an agent that answered.
import assert from "node:assert/strict";
import { test } from "node:test";
import { Code, ConnectError } from "@connectrpc/connect";
import { agentError } from "../../console/output/errors.ts";

test("a refused certificate makes the node unreachable, saying why", () => {
  const revoked = Object.assign(new Error("its certificate (serial AB) was revoked: the node was removed from the platform"), { code: "ERR_TLS_CERT_REVOKED" });
  const e = agentError(new ConnectError(revoked.message, Code.Internal, undefined, undefined, revoked), "orbit");
  assert.equal(e.code, "unreachable");
  assert.match(e.message, /^node orbit is unreachable: its TLS certificate is refused: its certificate \(serial AB\) was revoked/);
  const untrusted = Object.assign(new Error("unable to verify the first certificate"), { code: "UNABLE_TO_VERIFY_LEAF_SIGNATURE" });
  assert.equal(agentError(untrusted, "orbit").code, "unreachable");
});

test("other failures keep their codes", () => {
  assert.equal(agentError(new ConnectError("boom", Code.Internal), "orbit").code, "failed");
  assert.equal(agentError(new ConnectError("no", Code.Unauthenticated), "orbit").code, "unauthenticated");
  assert.equal(agentError(Object.assign(new Error("x"), { code: "ECONNRESET" }), "orbit").code, "failed");
});
