// The push-and-pull load of the GC soaks: each pusher pushes fresh images in a loop (unique
// config and layer, a shared base found by HEAD, mounted or uploaded again), keeps every third
// tag and deletes the others again; the puller pulls kept images whole. Failures are collected,
// never thrown, so a soak reports all of them at the end.
import { randomBytes } from "node:crypto";
import type { RegistryClient } from "./https-client.ts";
import { OCI_MANIFEST, sha256 } from "./oci.ts";
import { imageManifest, type PushClient } from "./oci-push.ts";

export interface SoakLoadOptions {
  /** Pushes and pulls go to this registry (client and PushClient on it). */
  client: RegistryClient;
  push: PushClient;
  /** ms since the epoch when the loops stop. */
  deadline: number;
  /** Size of each image's unique layer, roughly (it varies by up to as much again). */
  layerBytes: number;
}

export class SoakLoad {
  readonly failures: string[] = [];
  readonly kept: { repo: string; tag: string }[] = [];
  pushes = 0;
  pulls = 0;
  private base = randomBytes(0);

  constructor(private readonly o: SoakLoadOptions) {}

  fail(what: string, status: number, text: string): void {
    this.failures.push(`${what}: ${status} ${text.slice(0, 200)}`);
  }

  /** Uploads the shared base layer to soak/base. */
  async pushBase(bytes: number): Promise<void> {
    this.base = randomBytes(bytes);
    await this.o.push.pushBlob("soak/base", this.base);
  }

  async pusher(p: number): Promise<void> {
    const { client, push } = this.o;
    const repo = `soak/app${p}`;
    const base = this.base;
    let previousTemp: string | undefined;
    for (let i = 0; Date.now() < this.o.deadline; i++) {
      const config = Buffer.from(`{"p":${p},"i":${i},"r":"${randomBytes(4).toString("hex")}"}`);
      const layer = randomBytes(this.o.layerBytes + ((i * 977) % this.o.layerBytes));
      for (const b of [config, layer]) await push.pushBlob(repo, b).catch((e: Error) => this.failures.push(`upload ${repo}: ${e.message}`));
      // The shared base: already here (HEAD), or mounted from soak/base, or uploaded again.
      const head = await client.request("HEAD", `/v2/${repo}/blobs/${sha256(base)}`);
      if (head.status === 404) {
        const mount = await client.request("POST", `/v2/${repo}/blobs/uploads/?mount=${sha256(base)}&from=soak/base`, { headers: { "Content-Length": 0 } });
        if (mount.status !== 201) await push.pushBlob(repo, base).catch((e: Error) => this.failures.push(`base ${repo}: ${e.message}`));
      }
      const tag = i % 3 === 0 ? `keep${i}` : `temp${i}`;
      const put = await push.putManifest(repo, tag, imageManifest(config, [base, layer]), OCI_MANIFEST);
      if (put.status !== 201) this.fail(`push ${repo}:${tag}`, put.status, put.text);
      else this.pushes++;
      if (tag.startsWith("keep")) this.kept.push({ repo, tag });
      if (previousTemp) {
        const del = await client.request("DELETE", `/v2/${repo}/manifests/${previousTemp}`);
        if (del.status !== 202) this.fail(`delete ${repo}:${previousTemp}`, del.status, del.text);
      }
      previousTemp = tag.startsWith("temp") ? tag : undefined;
    }
    if (previousTemp) await client.request("DELETE", `/v2/${repo}/manifests/${previousTemp}`);
  }

  /** Pulls one image whole, checking every blob's digest. */
  async pullOne(k: { repo: string; tag: string }): Promise<void> {
    const { client } = this.o;
    const m = await client.request("GET", `/v2/${k.repo}/manifests/${k.tag}`);
    if (m.status !== 200) return this.fail(`pull ${k.repo}:${k.tag}`, m.status, m.text);
    const doc = m.json();
    for (const d of [doc.config, ...doc.layers]) {
      const b = await client.request("GET", `/v2/${k.repo}/blobs/${d.digest}`);
      if (b.status !== 200 || sha256(b.body) !== d.digest) this.fail(`blob ${k.repo}:${k.tag} ${d.digest}`, b.status, b.text);
    }
    this.pulls++;
  }

  async puller(): Promise<void> {
    while (Date.now() < this.o.deadline) {
      if (this.kept.length) await this.pullOne(this.kept[Math.floor(Math.random() * this.kept.length)]!);
      await new Promise((r) => setTimeout(r, 10));
    }
  }
}
