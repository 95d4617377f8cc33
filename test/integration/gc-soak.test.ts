// Soak: clients push fresh images in a loop (unique layers, a shared base found by HEAD or
// mounted, temporary tags deleted again) and pull the images they keep, while garbage
// collection (untagged manifests included, [gc] grace = 5s) runs back to back. No push may
// fail, no kept image may miss a blob, and at the end the files on disk are exactly the
// blob rows. SOAK_SECONDS (default 40) bounds the pushing; the file takes about a minute.
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { readdirSync } from "node:fs";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { RegistryClient } from "../helpers/https-client.ts";
import { initHome, removeHome, startMcr, type McrHome, type McrProcess } from "../helpers/mcr-process.ts";
import { OCI_MANIFEST, sha256 } from "../helpers/oci.ts";
import { imageManifest, PushClient } from "../helpers/oci-push.ts";

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

  test(`${PUSHERS} pushers, a puller and GC for ${SECONDS} s: no failed push, no missing blob, files match rows`, { timeout: (SECONDS + 60) * 1000 }, async () => {
    const push = new PushClient(client, mcr.url);
    const failures: string[] = [];
    const kept: { repo: string; tag: string }[] = [];
    const base = randomBytes(64 * 1024);
    await push.pushBlob("soak/base", base);
    const deadline = Date.now() + SECONDS * 1000;
    let pushes = 0;
    let pulls = 0;
    const fail = (what: string, status: number, text: string) => failures.push(`${what}: ${status} ${text.slice(0, 200)}`);

    const pusher = async (p: number) => {
      const repo = `soak/app${p}`;
      let previousTemp: string | undefined;
      for (let i = 0; Date.now() < deadline; i++) {
        const config = Buffer.from(`{"p":${p},"i":${i},"r":"${randomBytes(4).toString("hex")}"}`);
        const layer = randomBytes(8 * 1024 + ((i * 977) % 8192));
        for (const b of [config, layer]) await push.pushBlob(repo, b).catch((e: Error) => failures.push(`upload ${repo}: ${e.message}`));
        // The shared base: already here (HEAD), or mounted from soak/base, or uploaded again.
        const head = await client.request("HEAD", `/v2/${repo}/blobs/${sha256(base)}`);
        if (head.status === 404) {
          const mount = await client.request("POST", `/v2/${repo}/blobs/uploads/?mount=${sha256(base)}&from=soak/base`, { headers: { "Content-Length": 0 } });
          if (mount.status !== 201) await push.pushBlob(repo, base).catch((e: Error) => failures.push(`base ${repo}: ${e.message}`));
        }
        const tag = i % 3 === 0 ? `keep${i}` : `temp${i}`;
        const put = await push.putManifest(repo, tag, imageManifest(config, [base, layer]), OCI_MANIFEST);
        if (put.status !== 201) fail(`push ${repo}:${tag}`, put.status, put.text);
        else pushes++;
        if (tag.startsWith("keep")) kept.push({ repo, tag });
        if (previousTemp) {
          const del = await client.request("DELETE", `/v2/${repo}/manifests/${previousTemp}`);
          if (del.status !== 202) fail(`delete ${repo}:${previousTemp}`, del.status, del.text);
        }
        previousTemp = tag.startsWith("temp") ? tag : undefined;
      }
      if (previousTemp) await client.request("DELETE", `/v2/${repo}/manifests/${previousTemp}`);
    };

    const pullOne = async (k: { repo: string; tag: string }) => {
      const m = await client.request("GET", `/v2/${k.repo}/manifests/${k.tag}`);
      if (m.status !== 200) return fail(`pull ${k.repo}:${k.tag}`, m.status, m.text);
      const doc = m.json();
      for (const d of [doc.config, ...doc.layers]) {
        const b = await client.request("GET", `/v2/${k.repo}/blobs/${d.digest}`);
        if (b.status !== 200 || sha256(b.body) !== d.digest) fail(`blob ${k.repo}:${k.tag} ${d.digest}`, b.status, b.text);
      }
      pulls++;
    };
    const puller = async () => {
      while (Date.now() < deadline) {
        if (kept.length) await pullOne(kept[Math.floor(Math.random() * kept.length)]!);
        await new Promise((r) => setTimeout(r, 10));
      }
    };

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

    await Promise.all([...Array.from({ length: PUSHERS }, (_, p) => pusher(p)), puller(), collector()]);
    assert.deepEqual(failures, [], `${failures.length} failures`);
    assert.ok(runs >= 3 && swept > 0 && manifests > 0, `GC worked meanwhile: ${runs} runs, ${manifests} manifests and ${swept} blobs removed`);
    for (const k of kept) await pullOne(k);
    assert.deepEqual(failures, []);

    // Everything unreferenced goes now; what remains on disk is exactly what the rows say.
    const final = await client.request("POST", "/v1/gc", { headers: { "Content-Type": "application/json" }, body: '{"untagged":true,"reconcile":true,"grace":"0s"}' });
    assert.equal(final.status, 202, final.text);
    for (let s = (await client.request("GET", "/v1/gc/status")).json(); s.running; s = (await client.request("GET", "/v1/gc/status")).json()) await new Promise((r) => setTimeout(r, 25));
    const check = (await client.request("GET", "/v1/check")).json();
    assert.deepEqual([check.ok, check.orphan_files, check.missing_files], [true, [], []]);
    assert.equal(filesUnder(join(home.dir, "layers")), Number(check.blob_rows));
    // Every kept image and the base: 2 blobs per kept image plus the one base.
    assert.equal(Number(check.blob_rows), kept.length * 2 + 1);
    process.stdout.write(`# soak: ${pushes} pushes, ${pulls} pulls, ${runs} GC runs removed ${manifests} manifests and ${swept} blobs; ${kept.length} images kept\n`);
  });
});
