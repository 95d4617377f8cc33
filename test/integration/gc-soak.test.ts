// Soak: clients push fresh images in a loop (unique layers, a shared base found by HEAD or
// mounted, temporary tags deleted again) and pull the images they keep, while garbage
// collection (untagged manifests included, [gc] grace = 5s) runs back to back. No push may
// fail, no kept image may miss a blob, and at the end the files on disk are exactly the
// blob rows. SOAK_SECONDS (default 40) bounds the pushing; the file takes about a minute.
import assert from "node:assert/strict";
import { readdirSync } from "node:fs";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { RegistryClient } from "../helpers/https-client.ts";
import { initHome, removeHome, startMcr, type McrHome, type McrProcess } from "../helpers/mcr-process.ts";
import { PushClient } from "../helpers/oci-push.ts";
import { SoakLoad } from "../helpers/soak.ts";

const SECONDS = Number(process.env.SOAK_SECONDS ?? 40);
const PUSHERS = 3;

function filesUnder(dir: string): number {
  let n = 0;
  for (const e of readdirSync(dir, { withFileTypes: true })) n += e.isDirectory() ? filesUnder(join(dir, e.name)) : 1;
  return n;
}

describe("GC soak: pushes and pulls while garbage collection runs back to back", () => {
  let home: McrHome;
  let mcr: McrProcess;
  let client: RegistryClient;

  before(async () => {
    home = await initHome();
    mcr = await startMcr(home, { MCR_GC_GRACE: "5s" });
    client = new RegistryClient(mcr.url, home.caPem);
  });
  after(async () => {
    client.close();
    await mcr.stop();
    removeHome(home);
  });

  test(`${PUSHERS} pushers, a puller and GC for ${SECONDS} s: no failed push, no missing blob, files match rows`, {
    timeout: (SECONDS + 60) * 1000,
  }, async () => {
    const deadline = Date.now() + SECONDS * 1000;
    const load = new SoakLoad({ client, push: new PushClient(client, mcr.url), deadline, layerBytes: 8 * 1024 });
    const { failures, kept } = load;
    const fail = load.fail.bind(load);
    await load.pushBase(64 * 1024);

    let runs = 0;
    let swept = 0;
    let manifests = 0;
    const collector = async () => {
      while (Date.now() < deadline) {
        const started = await client.request("POST", "/v1/gc", { headers: { "Content-Type": "application/json" }, body: '{"untagged":true}' });
        if (started.status !== 202) fail("gc start", started.status, started.text);
        for (;;) {
          const s = (await client.request("GET", "/v1/gc/status")).json();
          if (!s.running) {
            if (s.last_run.phase !== "done") fail("gc run", 0, JSON.stringify(s.last_run));
            swept += Number(s.last_run.blobs_swept);
            manifests += Number(s.last_run.manifests_removed);
            break;
          }
          await new Promise((r) => setTimeout(r, 25));
        }
        runs++;
      }
    };

    await Promise.all([...Array.from({ length: PUSHERS }, (_, p) => load.pusher(p)), load.puller(), collector()]);
    assert.deepEqual(failures, [], `${failures.length} failures`);
    assert.ok(runs >= 3 && swept > 0 && manifests > 0, `GC worked meanwhile: ${runs} runs, ${manifests} manifests and ${swept} blobs removed`);
    for (const k of kept) await load.pullOne(k);
    assert.deepEqual(failures, []);

    // Everything unreferenced goes now; what remains on disk is exactly what the rows say.
    const final = await client.request("POST", "/v1/gc", {
      headers: { "Content-Type": "application/json" },
      body: '{"untagged":true,"reconcile":true,"grace":"0s"}',
    });
    assert.equal(final.status, 202, final.text);
    for (let s = (await client.request("GET", "/v1/gc/status")).json(); s.running; s = (await client.request("GET", "/v1/gc/status")).json())
      await new Promise((r) => setTimeout(r, 25));
    const check = (await client.request("GET", "/v1/check")).json();
    assert.deepEqual([check.ok, check.orphan_files, check.missing_files], [true, [], []]);
    assert.equal(filesUnder(join(home.dir, "layers")), Number(check.blob_rows));
    // Every kept image and the base: 2 blobs per kept image plus the one base.
    assert.equal(Number(check.blob_rows), kept.length * 2 + 1);
    process.stdout.write(
      `# soak: ${load.pushes} pushes, ${load.pulls} pulls, ${runs} GC runs removed ${manifests} manifests and ${swept} blobs; ${kept.length} images kept\n`,
    );
  });
});
