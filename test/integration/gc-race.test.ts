// Garbage collection against pushes, forced into the orderings that lose layers in other
// registries (docs/gc.md): a blob uploaded again between the mark and the sweep keeps its
// file; a blob uploaded (or found by HEAD) just before a collection survives until the
// manifest that references it arrives. The registry runs in process so that a test hook
// can act between the two phases; everything else goes over HTTPS.
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import SQLite from "better-sqlite3";
import { createClient } from "@connectrpc/connect";
import { createConnectTransport } from "@connectrpc/connect-node";
import { silentLogger } from "../../lib/log/logger.ts";
import { GcService } from "../../proto/gen/mcr/v1/gc_pb.ts";
import { loadRegistryConfig } from "../../registry/config.ts";
import type { MarkResult } from "../../registry/gc/mark.ts";
import { startRegistry, type RunningRegistry } from "../../registry/server/registry-server.ts";
import { RegistryClient } from "../helpers/https-client.ts";
import { initHome, removeHome, type McrHome } from "../helpers/mcr-process.ts";
import { OCI_MANIFEST, sha256 } from "../helpers/oci.ts";
import { imageManifest, PushClient } from "../helpers/oci-push.ts";

describe("GC against concurrent pushes", () => {
  let home: McrHome;
  let registry: RunningRegistry;
  let client: RegistryClient;
  let push: PushClient;
  let url: string;
  /** What the test hook does between the mark and the sweep of the next run. */
  let betweenPhases: ((marked: MarkResult) => Promise<void>) | undefined;

  before(async () => {
    home = await initHome();
    const cfg = loadRegistryConfig(home.config, { MCR_AUTH_DISABLED: "true" });
    registry = await startRegistry(cfg, silentLogger(), { gcHooks: { afterMark: async (m) => betweenPhases?.(m) } });
    url = `https://localhost:${registry.address.port}`;
    client = new RegistryClient(url, home.caPem);
    push = new PushClient(client, url);
  });
  after(async () => {
    client.close();
    await registry.shutdown();
    removeHome(home);
  });

  const gcClient = () => createClient(GcService, createConnectTransport({ baseUrl: url, httpVersion: "1.1", nodeOptions: { ca: home.caPem } }));

  /** Starts a run over REST and waits for it to end; returns its final state. */
  async function collect(body: Record<string, unknown>): Promise<Record<string, any>> {
    const started = await client.request("POST", "/v1/gc", { headers: { "Content-Type": "application/json" }, body: JSON.stringify(body) });
    assert.equal(started.status, 202, started.text);
    const id = started.json().id as string;
    for await (const { run } of gcClient().watch({})) if (run && run.id === id && !run.running) break;
    const status = (await client.request("GET", "/v1/gc/status")).json();
    assert.equal(status.last_run.id, id);
    return status.last_run;
  }

  function backdate(digest: string): void {
    const db = new SQLite(join(home.dir, "mcr.db"));
    try {
      db.prepare("update blobs set last_used_at = ? where digest = ?").run("2000-01-01T00:00:00.000Z", digest);
    } finally {
      db.close();
    }
  }

  test("a blob uploaded again between the mark and the sweep keeps its file (the sweep re-checks under the digest's lock)", async () => {
    const data = randomBytes(64 * 1024);
    const digest = sha256(data);
    await push.pushBlob("race/a", data);
    betweenPhases = async (marked) => {
      assert.ok(
        marked.blobs.some((b) => b.digest === digest),
        "the blob's row was removed by the mark",
      );
      assert.equal((await push.getBlob("race/a", digest)).status, 404, "after the mark the blob is gone from the repository");
      await push.pushBlob("race/a", data); // the upload commit takes the digest's lock the sweep will take
    };
    const run = await collect({ grace: "0s" });
    betweenPhases = undefined;
    assert.equal(run.blobs_kept, "1");
    assert.equal(run.blobs_swept, "0");
    const got = await push.getBlob("race/a", digest);
    assert.equal(got.status, 200, got.text);
    assert.ok(got.body.equals(data));
    const check = (await client.request("GET", "/v1/check")).json();
    assert.deepEqual(check.missing_files, []);
  });

  test("a blob uploaded just before a collection is still there for the manifest PUT just after (grace window)", async () => {
    const config = Buffer.from(`{"n":"${randomBytes(8).toString("hex")}"}`);
    const layer = randomBytes(4096);
    await push.pushBlob("race/b", config);
    await push.pushBlob("race/b", layer);
    const run = await collect({});
    assert.equal(run.options.grace, "3600s");
    const put = await push.putManifest("race/b", "v1", imageManifest(config, [layer]), OCI_MANIFEST);
    assert.equal(put.status, 201, put.text);
  });

  test("a HEAD that finds an old blob restarts its grace window, so a push that skips the upload can still reference it", async () => {
    const config = Buffer.from(`{"n":"${randomBytes(8).toString("hex")}"}`);
    const base = randomBytes(4096);
    await push.pushBlob("race/c", config);
    await push.pushBlob("race/c", base);
    backdate(sha256(base)); // as if uploaded long before this push
    backdate(sha256(config));
    const head = await client.request("HEAD", `/v2/race/c/blobs/${sha256(base)}`);
    assert.equal(head.status, 200);
    await client.request("HEAD", `/v2/race/c/blobs/${sha256(config)}`);
    const run = await collect({});
    assert.equal(run.blobs_marked, "0");
    const put = await push.putManifest("race/c", "v1", imageManifest(config, [base]), OCI_MANIFEST);
    assert.equal(put.status, 201, put.text);
  });

  test("one run at a time: a second start answers 409, and a watcher joining mid-run sees it to the end", async () => {
    await push.pushBlob("race/d", randomBytes(1024));
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    let reached!: () => void;
    const atGate = new Promise<void>((r) => (reached = r));
    betweenPhases = async () => {
      reached();
      await gate;
    };
    const started = await client.request("POST", "/v1/gc", { headers: { "Content-Type": "application/json" }, body: JSON.stringify({ grace: "0s" }) });
    assert.equal(started.status, 202);
    await atGate;
    const second = await client.request("POST", "/v1/gc", { body: "" });
    assert.equal(second.status, 409, second.text);
    assert.match(second.json().error, /already running/);
    const status = (await client.request("GET", "/v1/gc/status")).json();
    assert.equal(status.running, true);
    assert.equal(status.current.id, started.json().id);
    const watch = gcClient().watch({})[Symbol.asyncIterator]();
    const first = await watch.next();
    assert.equal(first.value?.run?.phase, "sweeping", "the watcher got the run as it stood");
    assert.equal(first.value?.run?.running, true);
    release();
    let last = first.value!.run!;
    for (let r = await watch.next(); !r.done; r = await watch.next()) last = r.value.run!;
    betweenPhases = undefined;
    assert.equal(last.phase, "done");
    assert.equal(last.running, false);
    assert.equal(last.id, started.json().id);
  });
});
