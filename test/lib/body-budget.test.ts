// BodyBudget: reservations fit or are refused, and each is given back once.
import assert from "node:assert/strict";
import { test } from "node:test";
import { BodyBudget, bytesToReserve } from "../../lib/net/body-budget.ts";
import type { NodeRequest } from "../../lib/net/request-limits.ts";

test("reservations up to the limit, refusals past it, releases given back once", () => {
  const b = new BodyBudget(100);
  const r1 = b.tryReserve(60)!;
  assert.ok(r1);
  assert.equal(b.tryReserve(50), null);
  assert.equal(b.refused, 1);
  const r2 = b.tryReserve(40)!;
  assert.equal(b.inUse, 100);
  r1();
  r1();
  assert.equal(b.inUse, 40);
  r2();
  assert.equal(b.inUse, 0);
  assert.ok(b.tryReserve(0), "a request without a body always fits");
});

test("what a request reserves: its declared length capped at the route's largest body, the largest when undeclared, none without a body", () => {
  const req = (headers: Record<string, string>) => ({ headers }) as unknown as NodeRequest;
  assert.equal(bytesToReserve(req({ "content-length": "10" }), 1000), 10);
  assert.equal(bytesToReserve(req({ "content-length": "5000" }), 1000), 1000);
  assert.equal(bytesToReserve(req({ "transfer-encoding": "chunked" }), 1000), 1000);
  assert.equal(bytesToReserve(req({}), 1000), 0);
  assert.equal(bytesToReserve(req({ "content-length": "0" }), 1000), 0);
  const h2 = (endAfterHeaders: boolean) => ({ headers: {}, stream: { endAfterHeaders } }) as unknown as NodeRequest;
  assert.equal(bytesToReserve(h2(true), 1000), 0);
  assert.equal(bytesToReserve(h2(false), 1000), 1000);
});
