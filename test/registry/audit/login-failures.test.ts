// Failed logins are counted per window: the first of each (address, name, via, reason) is
// written at once, its repeats as one row when the window ends, and names past the quota of
// an address fold into one row without a name. Rows stay bounded whatever the names.
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import type { AuditEvent } from "../../../registry/audit/events.ts";
import { LoginFailureTally } from "../../../registry/audit/login-failures.ts";

function tally(opts: { namesPerAddress?: number; maxTallies?: number; windowMs?: number } = {}) {
  const rows: AuditEvent[] = [];
  let clock = Date.parse("2026-06-01T00:00:00Z");
  const t = new LoginFailureTally((e) => rows.push(e), { windowMs: 60_000, ...opts, now: () => clock });
  return { t, rows, tick: (ms: number) => (clock += ms) };
}

describe("login failure tally", () => {
  test("repeats of one name from one address: one row at once, one row with the count when the window ends", () => {
    const { t, rows, tick } = tally();
    for (let i = 0; i < 50; i++) {
      t.record({ actor: "alice", ip: "10.0.0.1", via: "token", reason: "invalid username or password" });
      tick(100);
    }
    assert.deepEqual(rows, [
      { type: "login_fail", actor: "alice", ip: "10.0.0.1", details: { via: "token", reason: "invalid username or password", count: "1" } },
    ]);
    t.endWindow();
    assert.equal(rows.length, 2);
    assert.deepEqual(rows[1], {
      type: "login_fail",
      actor: "alice",
      ip: "10.0.0.1",
      details: { via: "token", reason: "invalid username or password", count: "49", first: "2026-06-01T00:00:00.100Z", last: "2026-06-01T00:00:04.900Z" },
    });
    t.endWindow();
    assert.equal(rows.length, 2, "an empty window writes nothing");
    t.record({ actor: "alice", ip: "10.0.0.1", via: "token", reason: "invalid username or password" });
    assert.equal(rows.length, 3, "a new window writes its first failure at once again");
  });

  test("address, name, via and reason each make a row of their own", () => {
    const { t, rows } = tally();
    t.record({ actor: "alice", ip: "10.0.0.1", via: "token", reason: "invalid username or password" });
    t.record({ actor: "alice", ip: "10.0.0.2", via: "token", reason: "invalid username or password" });
    t.record({ actor: "bob", ip: "10.0.0.1", via: "token", reason: "invalid username or password" });
    t.record({ actor: "alice", ip: "10.0.0.1", via: "api", reason: "invalid username or password" });
    t.record({ actor: "alice", ip: "10.0.0.1", via: "token", reason: "rate limited" });
    t.record({ ip: "10.0.0.1", via: "token", reason: "the user name is longer than 256 bytes" });
    assert.equal(rows.length, 6);
    assert.equal(rows[5]!.actor, undefined, "a refused over-long name is not stored");
  });

  test("a flood of distinct names from one address stays within its quota plus one folded row", () => {
    const { t, rows, tick } = tally({ namesPerAddress: 20 });
    for (let i = 0; i < 3000; i++) {
      t.record({ actor: `user-${i}-${"x".repeat(200)}`, ip: "10.0.0.9", via: "token", reason: i % 3 ? "rate limited" : "invalid username or password" });
      tick(2);
    }
    t.endWindow();
    const named = rows.filter((r) => r.actor !== undefined);
    const folded = rows.filter((r) => r.actor === undefined);
    assert.equal(named.length, 20, "the first 20 names have rows of their own");
    assert.ok(folded.length <= 4, `at most a first row and a count per reason: ${folded.length}`);
    const total = rows.reduce((n, r) => n + Number(r.details!.count), 0);
    assert.equal(total, 3000, "every attempt is counted");
    assert.ok(folded.every((r) => r.ip === "10.0.0.9" && r.details!.users !== undefined));
    assert.equal(folded.find((r) => r.details!.reason === "rate limited" && r.details!.first)!.details!.users, "1000+");
  });

  test("past maxTallies, new tallies fold into one per via and reason, without an address", () => {
    const { t, rows } = tally({ maxTallies: 10 });
    for (let i = 0; i < 500; i++) t.record({ actor: `u${i}`, ip: `10.1.${i >> 8}.${i & 255}`, via: "api", reason: "invalid username or password" });
    t.endWindow();
    assert.ok(rows.length <= 12, `${rows.length} rows`);
    const overflow = rows.filter((r) => r.ip === undefined);
    assert.ok(overflow.length >= 1);
    assert.equal(
      rows.reduce((n, r) => n + Number(r.details!.count), 0),
      500,
    );
  });

  test("the window ends by itself on a timer", async () => {
    const rows: AuditEvent[] = [];
    const t = new LoginFailureTally((e) => rows.push(e), { windowMs: 20 });
    for (let i = 0; i < 3; i++) t.record({ actor: "carol", ip: "10.0.0.3", via: "api", reason: "invalid username or password" });
    assert.equal(rows.length, 1);
    const deadline = Date.now() + 5000;
    while (rows.length < 2 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 5));
    assert.equal(rows[1]?.details?.count, "2");
  });
});
