// The registry's locks as PostgreSQL advisory locks, two sets standing for two replicas on
// one real PostgreSQL: a key held by one waits in the other, shared holders overlap and keep
// GC's exclusive side out (which, waiting, keeps new shared holders out), one GC run at a
// time, and a replica's locks go with its connection.
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { silentLogger } from "../../../lib/log/logger.ts";
import { advisoryLocks } from "../../../registry/locks/advisory.ts";
import type { RegistryLocks } from "../../../registry/locks/types.ts";
import { skipUnlessPostgres, startPostgres, type PgServer } from "../../helpers/postgres.ts";

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Resolves when `release` is called; `entered` resolves once fn runs. */
function holder() {
  let release!: () => void;
  let entered!: () => void;
  const gate = new Promise<void>((r) => (release = r));
  const inside = new Promise<void>((r) => (entered = r));
  return { fn: async () => (entered(), await gate), release, inside };
}

describe("advisory locks across replicas", { skip: skipUnlessPostgres() }, () => {
  let server: PgServer;
  let one: RegistryLocks;
  let two: RegistryLocks;
  let url: string;
  before(async () => {
    server = await startPostgres();
    url = await server.createDatabase();
    one = await advisoryLocks(url, silentLogger());
    two = await advisoryLocks(url, silentLogger());
  });
  after(async () => {
    await one?.close();
    await two?.close();
    await server?.stop();
  });

  test("a key held on one replica waits on the other; other keys do not", async () => {
    const h = holder();
    const first = one.digests.run("sha256:aa", h.fn);
    await h.inside;
    const order: string[] = [];
    const second = two.digests.run("sha256:aa", async () => void order.push("same key"));
    await two.digests.run("sha256:bb", async () => void order.push("other key"));
    await sleep(150);
    assert.deepEqual(order, ["other key"]);
    h.release();
    await first;
    await second;
    assert.deepEqual(order, ["other key", "same key"]);
    // Upload and digest locks are separate classes: the same string does not collide.
    await Promise.all([one.uploads.run("k", () => sleep(50)), two.digests.run("k", () => sleep(50))]);
  });

  test("commits share the lock across replicas; GC's exclusive side waits for them and then keeps new ones out", async () => {
    const a = holder();
    const b = holder();
    const sharedA = one.commits.shared(a.fn);
    const sharedB = two.commits.shared(b.fn);
    await Promise.all([a.inside, b.inside]);
    const events: string[] = [];
    const mark = one.commits.exclusive(async () => {
      events.push("mark start");
      await sleep(200);
      events.push("mark end");
    });
    await sleep(100);
    assert.equal(events.length, 0, "the mark waits for the commits in flight");
    a.release();
    b.release();
    await Promise.all([sharedA, sharedB]);
    await sleep(50);
    const late = two.commits.shared(async () => void events.push("commit"));
    await Promise.all([mark, late]);
    assert.deepEqual(events, ["mark start", "mark end", "commit"]);
  });

  test("one GC run at a time; released, the next may start", async () => {
    const release = await one.gcRun.tryAcquire();
    assert.ok(release);
    assert.equal(await two.gcRun.tryAcquire(), undefined);
    await release();
    const again = await two.gcRun.tryAcquire();
    assert.ok(again);
    await again();
  });

  test("a replica whose connection dies (kill -9, network) loses its locks at once", async () => {
    const doomed = await advisoryLocks(url, silentLogger());
    const h = holder();
    const held = doomed.uploads.run("session-1", h.fn);
    await h.inside;
    const pids = await server.query("select pid from pg_locks where locktype = 'advisory' and granted", url.split("/").pop());
    assert.equal(pids.rows.length, 1);
    await server.query(`select pg_terminate_backend(${pids.rows[0].pid})`, url.split("/").pop());
    await two.uploads.run("session-1", async () => undefined); // would wait for ever otherwise
    h.release();
    await held;
    await doomed.close();
  });
});
