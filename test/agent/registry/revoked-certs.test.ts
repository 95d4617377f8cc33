// The agent's list of removed nodes' certificates (agent/registry/revoked-certs.ts): fetched
// from mcr's NodeService with the agent's own token, kept while mcr cannot be asked, and a token
// that mcr refuses is dropped so that the next refresh logs in again.
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { Code, ConnectError, createRouterTransport } from "@connectrpc/connect";
import { silentLogger } from "../../../lib/log/logger.ts";
import { RevokedCerts } from "../../../agent/registry/revoked-certs.ts";
import { NodeService } from "../../../proto/gen/mcr/v1/node_pb.ts";

function registry() {
  const state = { revoked: ["0A1B"], valid: new Set(["t1"]), down: false, seen: [] as string[] };
  const transport = createRouterTransport(({ service }) =>
    service(NodeService, {
      listNodes: (_req, ctx) => {
        const token = ctx.requestHeader.get("authorization")?.replace(/^Bearer /, "") ?? "";
        state.seen.push(token);
        if (state.down) throw new ConnectError("connect ECONNREFUSED", Code.Unavailable);
        if (!state.valid.has(token)) throw new ConnectError("invalid token", Code.Unauthenticated);
        return { nodes: [], revokedSerials: state.revoked };
      },
    }),
  );
  return { state, transport };
}

function session() {
  let n = 1;
  let current: string | undefined;
  const refused: string[] = [];
  return {
    refused,
    token: async () => (current ??= `t${n++}`),
    tokenRefused: (t: string) => {
      refused.push(t);
      if (current === t) current = undefined;
    },
  };
}

describe("RevokedCerts", () => {
  test("the serials listed are refused, normalized; a list that cannot be fetched keeps the last one", async () => {
    const { state, transport } = registry();
    const certs = new RevokedCerts(session(), "https://mcr.test", undefined, silentLogger(), transport);
    await certs.refresh();
    assert.ok(certs.has("00:0a:1b"));
    assert.ok(!certs.has("0C3"));
    state.down = true;
    await certs.refresh();
    assert.ok(certs.has("0A1B"), "kept while mcr is down");
  });

  test("a token mcr refuses is dropped: the next refresh logs in again and gets the list", async () => {
    const { state, transport } = registry();
    const s = session();
    const certs = new RevokedCerts(s, "https://mcr.test", undefined, silentLogger(), transport);
    await certs.refresh();
    assert.ok(certs.has("0A1B"));
    // mcr no longer takes t1 (revoked behind the agent's back); t2 is what a new login gets.
    state.valid = new Set(["t2"]);
    state.revoked = ["0A1B", "C3"];
    await certs.refresh();
    assert.deepEqual(s.refused, ["t1"]);
    assert.ok(!certs.has("C3"), "that refresh failed");
    await certs.refresh();
    assert.ok(certs.has("C3"), "the next one logged in again");
    assert.deepEqual(state.seen, ["t1", "t1", "t2"]);
  });
});
