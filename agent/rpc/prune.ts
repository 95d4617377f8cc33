// PruneImages: removes the images of every podman the agent uses that nothing here needs.
// Kept, in this order of reasons:
//   release           an image a stored definition names (what the next deploy runs), or the
//                     one each component last deployed (the components table);
//   previous_release  the image each component ran before that, as its "deployed" events
//                     record it (controller/releases.ts), so that going back needs no pull;
//   in_use            an image a container uses, running or not, whoever's it is (podman
//                     refuses to remove those, and such a refusal is reported the same way);
//   recent            an image created less than `older_than_seconds` ago.
// Everything else is removed (or, in a dry run, listed as what would be), with its size.
// Images are listed before the releases are read, so an image a deploy asks for meanwhile
// is either in the releases or not in the list.
import type { MessageInitShape } from "@bufbuild/protobuf";
import type { Logger } from "../../lib/log/logger.ts";
import type { ServiceDefinition } from "../../lib/services/definition.ts";
import type { PrunedImageSchema, PruneImagesResponseSchema } from "../../proto/gen/mcp/agent/v1/resources_pb.ts";
import { releasesFrom } from "../controller/releases.ts";
import type { RuntimeProvider } from "../runtime/provider.ts";
import type { ImageInfo, Runtime } from "../runtime/runtime.ts";
import type { StateStore } from "../state/store.ts";

export interface PruneDeps {
  runtimes: RuntimeProvider;
  store: StateStore;
  /** The images a definition's components run (ServicePlanner.imagesOf). */
  imagesOf: (def: ServiceDefinition) => string[];
  log: Logger;
  now?: () => number;
}

export interface PruneOptions {
  /** Images younger than this are kept; 0: no age limit. */
  olderThanSeconds: number;
  dryRun: boolean;
}

export type PruneReason = "release" | "previous_release" | "in_use" | "recent";
type Item = MessageInitShape<typeof PrunedImageSchema>;
type Response = MessageInitShape<typeof PruneImagesResponseSchema>;

/** Events read per service to find each component's previous release (the store keeps 500). */
const EVENTS_READ = 500;

/**
 * A reference as podman names what it stores: `docker.io/library/busybox:latest` for
 * `busybox`. `repo` is the reference without tag or digest; `key` the reference itself, or
 * `repo@*` for one pinned by digest (podman names images by tag, so any tag of it matches).
 */
export function refKey(ref: string): { repo: string; key: string } {
  const at = ref.indexOf("@");
  let repo = at >= 0 ? ref.slice(0, at) : ref;
  let tag = "";
  const colon = repo.lastIndexOf(":");
  if (colon > repo.lastIndexOf("/")) {
    tag = repo.slice(colon + 1);
    repo = repo.slice(0, colon);
  }
  const first = repo.split("/")[0]!;
  if (!(repo.includes("/") && (first.includes(".") || first.includes(":") || first === "localhost")))
    repo = `docker.io/${repo.includes("/") ? repo : `library/${repo}`}`;
  return { repo, key: at >= 0 ? `${repo}@*` : `${repo}:${tag || "latest"}` };
}

/** "3d4h", "2h5m", "40s". */
export function span(ms: number): string {
  const s = Math.max(0, Math.floor(ms / 1000));
  const parts: [number, string][] = [
    [Math.floor(s / 86400), "d"],
    [Math.floor(s / 3600) % 24, "h"],
    [Math.floor(s / 60) % 60, "m"],
    [s % 60, "s"],
  ];
  const from = parts.findIndex(([n]) => n > 0);
  if (from < 0) return "0s";
  return parts
    .slice(from, from + 2)
    .filter(([n]) => n > 0)
    .map(([n, u]) => `${n}${u}`)
    .join("");
}

/** Reference key → the components ("shop/api") that need it, for each reason a release gives. */
interface Wanted {
  release: Map<string, Set<string>>;
  previous: Map<string, Set<string>>;
}

function want(map: Map<string, Set<string>>, image: string, who: string): void {
  if (!image) return;
  const { key } = refKey(image);
  let set = map.get(key);
  if (!set) map.set(key, (set = new Set()));
  set.add(who);
}

/** What the releases of every service known here need. A stored definition that no longer validates fails the prune: its images are unknown. */
async function wanted(d: PruneDeps, defs: ServiceDefinition[]): Promise<Wanted> {
  const w: Wanted = { release: new Map(), previous: new Map() };
  for (const def of defs) {
    const images = d.imagesOf(def);
    def.components.forEach((c, i) => want(w.release, images[i]!, `${def.name}/${c.name}`));
  }
  const components = await d.store.components();
  for (const c of components) want(w.release, c.image, `${c.service}/${c.name}`);
  for (const def of defs) {
    for (const r of releasesFrom(await d.store.recentEvents(def.name, EVENTS_READ))) {
      const row = components.find((c) => c.service === r.service && c.name === r.component);
      if (!row) continue; // a component that left the definition: no release of it to go back to
      const current = row.image || r.images[0];
      const previous = r.images.find((i) => i !== current);
      if (previous) want(w.previous, previous, `${r.service}/${r.component}`);
    }
  }
  return w;
}

/** Which podman each runtime is, in words: "agent", or the services of a service user's. */
async function podmanNames(d: PruneDeps, defs: ServiceDefinition[]): Promise<Map<Runtime, string>> {
  const services = new Map<Runtime, string[]>();
  for (const def of defs) {
    const rt = await d.runtimes
      .forService(def.name)
      .then((s) => s.runtime)
      .catch(() => undefined);
    if (rt && rt !== d.runtimes.shared) services.set(rt, [...(services.get(rt) ?? []), def.name]);
  }
  return new Map([...services].map(([rt, names]) => [rt, `podman of ${names.join(", ")}`]));
}

const IN_USE_RE = /in use|used by/i;
const ORDER = ["removed", "failed", "kept"];

/** Why `image` is kept, or null when it may go. */
function keepReason(image: ImageInfo, w: Wanted, users: number, o: PruneOptions, now: number): { reason: PruneReason; detail: string } | null {
  const keys = image.names.flatMap((n) => {
    const { repo, key } = refKey(n);
    return [key, `${repo}@*`];
  });
  const who = (map: Map<string, Set<string>>) => [...new Set(keys.flatMap((k) => [...(map.get(k) ?? [])]))].sort();
  const release = who(w.release);
  if (release.length) return { reason: "release", detail: `the release of ${release.join(", ")}` };
  const previous = who(w.previous);
  if (previous.length) return { reason: "previous_release", detail: `the previous release of ${previous.join(", ")}` };
  if (users > 0) return { reason: "in_use", detail: `${users} container${users === 1 ? "" : "s"} use${users === 1 ? "s" : ""} it` };
  const created = Date.parse(image.created);
  const limit = o.olderThanSeconds * 1000;
  if (Number.isNaN(created) && limit > 0) return { reason: "recent", detail: `its creation time is unknown (${JSON.stringify(image.created)})` };
  if (limit > 0 && now - created < limit) return { reason: "recent", detail: `created ${span(now - created)} ago, younger than ${span(limit)}` };
  return null;
}

/** Containers of `rt` (running or not) per image reference key. */
async function containersByImage(rt: Runtime): Promise<Map<string, number>> {
  const counts = new Map<string, number>();
  for (const c of await rt.list()) {
    const { key } = refKey(c.image);
    // By the reference as podman names images, and as given (an image id, say).
    for (const k of new Set([key, c.image])) counts.set(k, (counts.get(k) ?? 0) + 1);
  }
  return counts;
}

export async function pruneImages(d: PruneDeps, o: PruneOptions): Promise<Response> {
  const now = (d.now ?? Date.now)();
  const { runtimes, failed } = await d.runtimes.all();
  const warnings = [...failed].map(([service, err]) => `service ${service}: its podman could not be found (${err.message}); its images were not looked at`);
  // Images first, then what is wanted: an image a deploy asks for meanwhile is wanted or not listed.
  const listed = await Promise.all(runtimes.map(async (rt) => ({ rt, images: await rt.images(), users: await containersByImage(rt) })));
  const defs = await d.store.definitions();
  const w = await wanted(d, defs);
  const names = await podmanNames(d, defs);
  const items: Item[] = [];
  let freed = 0;
  for (const { rt, images, users } of listed) {
    const podman = rt === d.runtimes.shared ? "agent" : (names.get(rt) ?? "a service user's podman");
    for (const image of images) {
      const byName = Math.max(0, ...image.names.map((n) => users.get(refKey(n).key) ?? 0), users.get(image.id) ?? 0);
      const base = { id: image.id, names: image.names, sizeBytes: BigInt(Math.max(0, Math.round(image.sizeBytes))), created: image.created, podman };
      const keep = keepReason(image, w, Math.max(image.containers, byName), o, now);
      if (keep) {
        items.push({ ...base, outcome: "kept", ...keep });
        continue;
      }
      if (o.dryRun) {
        items.push({ ...base, outcome: "removed", reason: "", detail: "would be removed (dry run)" });
        freed += image.sizeBytes;
        continue;
      }
      try {
        await rt.removeImage(image.id);
        d.log.info({ image: image.names[0] ?? image.id, id: image.id, bytes: image.sizeBytes, podman }, "image pruned");
        items.push({ ...base, outcome: "removed", reason: "", detail: "" });
        freed += image.sizeBytes;
      } catch (err) {
        const message = (err as Error).message;
        // A container made since the list: podman refuses, and the image is kept, as it should be.
        if (IN_USE_RE.test(message)) items.push({ ...base, outcome: "kept", reason: "in_use", detail: `podman: ${message}` });
        else {
          d.log.warn({ image: image.names[0] ?? image.id, err: message }, "image not pruned");
          items.push({ ...base, outcome: "failed", reason: "", detail: message });
        }
      }
    }
  }
  const label = (i: Item) => `${ORDER.indexOf(i.outcome!)} ${i.reason} ${i.names?.[0] ?? "~"} ${i.id}`;
  items.sort((a, b) => label(a).localeCompare(label(b)));
  return { images: items, bytesFreed: BigInt(Math.max(0, Math.round(freed))), dryRun: o.dryRun, warnings };
}
