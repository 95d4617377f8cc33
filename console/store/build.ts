// Images: `podman build` of each `[build.images]` entry from `<workspace>/<path>`, tagged
// `<registry host>/<image>:<version>` and pushed to mcr; and the check sync and deploy
// make first (a manifest HEAD per component image), building what is missing when the
// source tree is there.
import { existsSync } from "node:fs";
import { join } from "node:path";
import type { BuildProgress, BuildSpec } from "../clients/podman.ts";
import type { ComponentDefinition } from "../../lib/services/definition.ts";
import { componentImage, imageReason, unusedImageEntries, type LoadedDefinition } from "../definitions.ts";
import { ConsoleError, toConsoleError } from "../output/errors.ts";
import { splitTarget } from "./services.ts";
import type { BuildActions, GetState, SetState, StoreDeps } from "./state.ts";
import type { ImagePhase } from "./types.ts";

const KEEP_EVENTS = 2000;

/** The version an image is built with: that of the first component running it, else the service's. */
function imageVersion(d: LoadedDefinition, image: string, host: string): string {
  for (const c of d.def.components) {
    const img = componentImage(d.def, c, host);
    if (img.inRegistry && img.repository === image) return img.tag;
  }
  return d.def.version;
}

export function buildSpec(d: LoadedDefinition, image: string, deps: StoreDeps): BuildSpec {
  const context = join(deps.workspace, d.path);
  const version = imageVersion(d, image, deps.registryHost);
  return { image, ref: `${deps.registryHost}/${image}:${version}`, version, containerfile: join(context, d.images[image]!), context };
}

/** Why a spec cannot be built here, or "" when it can. */
function unbuildable(spec: BuildSpec): string {
  if (!existsSync(spec.context)) return `source folder ${spec.context} not found`;
  if (!existsSync(spec.containerfile)) return `${spec.containerfile} not found`;
  return "";
}

export function buildActions(set: SetState, get: GetState, deps: StoreDeps): BuildActions {
  const update = (service: string, image: string, ref: string, phase: ImagePhase, message: string, layer?: BuildProgress["layer"]) =>
    set((s) => {
      const prev = s.images[ref];
      const layers = layer ? { ...(prev?.layers ?? {}), [layer.digest]: layer.status } : (prev?.layers ?? {});
      const seq = s.seq + 1;
      const buildEvents = [...s.buildEvents, { seq, service, image, ref, phase, message, ...(layer ? { layer } : {}) }];
      if (buildEvents.length > KEEP_EVENTS) buildEvents.splice(0, buildEvents.length - KEEP_EVENTS);
      return { seq, buildEvents, images: { ...s.images, [ref]: { service, image, ref, phase, message, layers } } };
    });

  const requireRegistry = () => {
    if (!deps.registryHost) throw new ConsoleError("usage", "no [registry] url in the console config: images are tagged and pushed there");
  };

  const run = async (service: string, spec: BuildSpec, signal?: AbortSignal) => {
    try {
      await deps.builder().buildAndPush(spec, (p) => update(service, spec.image, spec.ref, p.phase, p.message, p.layer), signal);
    } catch (err) {
      const e = toConsoleError(err);
      update(service, spec.image, spec.ref, "failed", e.message);
      throw e;
    }
  };

  return {
    async build(target, signal) {
      requireRegistry();
      const { service, part } = splitTarget(target);
      const d = deps.definitions.get(service);
      const names = Object.keys(d.images);
      if (names.length === 0) throw new ConsoleError("usage", `${d.file} has no [build.images]: nothing to build`);
      if (part && !names.includes(part))
        throw new ConsoleError("not_found", `${d.file} has no image ${JSON.stringify(part)} in [build.images] (${names.join(", ")})`);
      set({ buildWarnings: unusedImageEntries(d, deps.registryHost) });
      const specs = (part ? [part] : names).map((image) => buildSpec(d, image, deps));
      for (const spec of specs) {
        const why = unbuildable(spec);
        if (why) throw new ConsoleError("not_found", `cannot build ${spec.image}: ${why} (workspace ${deps.workspace})`);
      }
      for (const spec of specs) await run(service, spec, signal);
      return specs.map((s) => get().images[s.ref]!);
    },

    async ensureImages(defs, signal, opts = {}) {
      requireRegistry();
      set({ buildWarnings: defs.flatMap((d) => unusedImageEntries(d, deps.registryHost)) });
      const wanted = new Map<string, { d: LoadedDefinition; repository: string; tag: string; ref: string; users: ComponentDefinition[] }>();
      for (const d of defs) {
        for (const c of d.def.components) {
          const img = componentImage(d.def, c, deps.registryHost);
          if (!img.inRegistry) continue;
          const w = wanted.get(img.ref) ?? { d, repository: img.repository, tag: img.tag, ref: img.ref, users: [] };
          w.users.push(c);
          wanted.set(img.ref, w);
        }
      }
      const registry = deps.registry();
      const checks = await Promise.all(
        [...wanted.values()].map(async (w) => {
          update(w.d.def.name, w.repository, w.ref, "checking", `HEAD ${w.ref}`);
          const exists = await registry.manifestExists(w.repository, w.tag);
          if (exists) update(w.d.def.name, w.repository, w.ref, "exists", `${w.ref} is in the registry`);
          return { ...w, exists };
        }),
      );
      // Every missing image is classified before anything is built, so that a deploy that
      // cannot have all its images stops before the first build.
      const builds: { service: string; spec: BuildSpec }[] = [];
      const refused: string[] = [];
      for (const w of checks.filter((c) => !c.exists)) {
        const service = w.d.def.name;
        const who = w.users.map((c) => `component ${c.name} runs image ${JSON.stringify(w.repository)} (${imageReason(w.d.def, c)})`).join("; ");
        let why = "";
        if (!(w.repository in w.d.images)) {
          const entries = Object.keys(w.d.images);
          why = `${w.ref} is not in the registry and cannot be built: ${who}, and ${w.d.file} has no [build.images] entry ${JSON.stringify(w.repository)}${entries.length ? ` (its entries: ${entries.map((e) => JSON.stringify(e)).join(", ")})` : ""}`;
        } else {
          const spec = { ...buildSpec(w.d, w.repository, deps), ref: w.ref, version: w.tag };
          const missing = unbuildable(spec);
          if (!missing) {
            builds.push({ service, spec });
            continue;
          }
          why = `${w.ref} is not in the registry and cannot be built here: ${missing} (${who})`;
        }
        update(service, w.repository, w.ref, "cannot_build", why);
        refused.push(why);
      }
      if (opts.requireAll && refused.length > 0) throw new ConsoleError("not_found", `not deploying: ${refused.join("; ")}`);
      for (const b of builds) await run(b.service, b.spec, signal);
      return [...wanted.keys()].map((ref) => get().images[ref]!);
    },
  };
}
