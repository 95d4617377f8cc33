// Anonymous clients failing logins as fast as they can, against the real mcr: user names
// over 256 bytes are refused before anything is stored, and however many names are tried,
// the audit table and the database grow by a bounded amount (a row per attempt once grew
// mcr.db by 14 MB/s). At shutdown the counted repeats are written, so the counts in the
// audit log add up to every failed attempt.
import assert from "node:assert/strict";
import { existsSync, statSync } from "node:fs";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import Database from "better-sqlite3";
import { RegistryClient, type Response } from "../helpers/https-client.ts";
import { initHome, removeHome, startMcr, type McrHome, type McrProcess } from "../helpers/mcr-process.ts";

const basic = (user: string, password: string) => ({ Authorization: `Basic ${Buffer.from(`${user}:${password}`).toString("base64")}` });

describe("a flood of failed logins", () => {
  let home: McrHome;
  let mcr: McrProcess;
  let client: RegistryClient;
  /** Failed attempts sent so far (every one must be counted in the audit log). */
  let attempts = 0;

  const dbBytes = () => ["mcr.db", "mcr.db-wal"].map((f) => join(home.dir, f)).reduce((n, f) => n + (existsSync(f) ? statSync(f).size : 0), 0);
  const tokenRequest = (user: string) => client.request("GET", "/v2/token?service=mcr", { headers: basic(user, "not-the-password") });
  const apiLogin = (user: string) => client.request("POST", "/v1/auth/login", { body: JSON.stringify({ username: user, password: "not-the-password" }) });

  /** Sends `n` failing requests, 16 at a time; returns the statuses seen and how often. */
  async function flood(n: number, send: (i: number) => Promise<Response>): Promise<Map<number, number>> {
    const statuses = new Map<number, number>();
    for (let i = 0; i < n; i += 16) {
      const batch = await Promise.all(Array.from({ length: Math.min(16, n - i) }, (_, j) => send(i + j)));
      for (const r of batch) statuses.set(r.status, (statuses.get(r.status) ?? 0) + 1);
    }
    attempts += n;
    return statuses;
  }

  before(async () => {
    home = await initHome("", { backend: "embedded" });
    // One failure a minute per name, ten per address: the flood reaches the limit after a
    // few password checks (scrypt) instead of a hundred, and the test stays quick.
    mcr = await startMcr(home, { MCR_AUTH_LOGINS_PER_MINUTE: "1" }, { auth: true });
    client = new RegistryClient(mcr.url, home.caPem);
  });
  after(async () => {
    client.close();
    await mcr.stop();
    removeHome(home);
  });

  test("a user name over 256 bytes is refused with a clear message on both paths; 256 bytes are tried", async () => {
    const token = await tokenRequest("é".repeat(129)); // 258 bytes, 129 characters
    assert.equal(token.status, 401);
    assert.equal(token.json().errors[0].message, "the user name is longer than 256 bytes");
    const api = await apiLogin("a".repeat(257));
    assert.equal(api.status, 400);
    assert.deepEqual(api.json(), { error: "the user name is longer than 256 bytes" });
    const longest = await tokenRequest("b".repeat(256));
    assert.equal(longest.status, 401);
    assert.equal(longest.json().errors[0].message, "invalid username or password");
    attempts += 3;
  });

  test("thousands of long and of varied names: audit rows and database growth stay bounded", async () => {
    const before = dbBytes();
    const long = await flood(3000, (i) => tokenRequest(`${i}-${"x".repeat(11_000)}`));
    assert.deepEqual([...long], [[401, 3000]], "every 11 KB name is refused");
    const varied = await flood(3000, (i) => tokenRequest(`user-${i}-${"y".repeat(200)}`));
    const api = await flood(1000, (i) => apiLogin(`api-${i}-${"z".repeat(200)}`));
    for (const s of [varied, api])
      assert.deepEqual(
        [...s.keys()].filter((c) => c !== 401 && c !== 429),
        [],
        JSON.stringify([...s]),
      );
    assert.ok((varied.get(429) ?? 0) > 2900, "past the per-address limit the attempts are rate-limited");
    await new Promise((r) => setTimeout(r, 500)); // the audit log writes every 200 ms
    const growth = dbBytes() - before;
    assert.ok(growth < 1024 * 1024, `mcr.db and its WAL grew by ${growth} bytes for ${attempts} failed logins`);
  });

  test("at shutdown the counts are written: few rows, no long name stored, and every attempt counted", async () => {
    assert.equal(await mcr.stop(), 0);
    const db = new Database(join(home.dir, "mcr.db"), { readonly: true });
    try {
      const rows = db.prepare("SELECT actor_id, ip_address, details FROM audit_log WHERE event_type = 'login_fail'").all() as {
        actor_id: string | null;
        ip_address: string;
        details: string;
      }[];
      assert.ok(rows.length < 200, `${rows.length} login_fail rows for ${attempts} attempts`);
      assert.ok(rows.every((r) => r.actor_id === null || Buffer.byteLength(r.actor_id) <= 256));
      const counted = rows.reduce((n, r) => n + Number(JSON.parse(r.details).count), 0);
      assert.equal(counted, attempts, "the counts add up to the attempts");
      const tooLong = rows.filter((r) => JSON.parse(r.details).reason === "the user name is longer than 256 bytes");
      assert.ok(tooLong.length > 0 && tooLong.every((r) => r.actor_id === null && r.ip_address), "refused names are counted per address, without the name");
      const named = new Set(rows.map((r) => r.actor_id).filter((a) => a !== null));
      assert.ok(named.size >= 20 && named.size <= 60, `the first names per address and path have rows of their own: ${named.size}`);
    } finally {
      db.close();
    }
  });
});
