// Releases over the RPCs: every Deploy is recorded as a release when it ends (deployed or
// failed: who, when, the definition, each component's image and its digest); History lists
// them; Rollback deploys an earlier release's definition with every image pinned to the
// digest it had, through the same deploy path, and is recorded as a release of its own.
import { Code, ConnectError, type HandlerContext } from "@connectrpc/connect";
import type { MessageInitShape } from "@bufbuild/protobuf";
import type { ServiceDefinition } from "../../lib/services/definition.ts";
import type { ReleaseSchema } from "../../proto/gen/mcp/agent/v1/releases_pb.ts";
import type { DeployProgress, ServiceController } from "../controller/controller.ts";
import type { RuntimeProvider } from "../runtime/provider.ts";
import type { ReleaseImage, Release, ReleaseStore } from "../state/releases.ts";
import type { StateStore } from "../state/store.ts";
import { callerKey } from "./interceptor.ts";
import type { Logger } from "../../lib/log/logger.ts";

export interface ReleaseDeps {
  controller: ServiceController;
  store: StateStore;
  releases: ReleaseStore;
  runtimes: RuntimeProvider;
  log: Logger;
}

/** Each component's image (the one its progress last named, else the stored one) and the digest podman has for it. */
async function imagesOf(d: ReleaseDeps, service: string, def: ServiceDefinition, seen: Map<string, string>): Promise<ReleaseImage[]> {
  const stored = await d.store.components(service);
  const runtime = await d.runtimes
    .forService(service)
    .then((r) => r.runtime)
    .catch(() => undefined);
  const out: ReleaseImage[] = [];
  for (const c of def.components) {
    const image = seen.get(c.name) ?? stored.find((s) => s.name === c.name)?.image ?? "";
    const digest = image && runtime ? ((await runtime.imageDigest(image).catch(() => undefined)) ?? "") : "";
    out.push({ component: c.name, image, digest });
  }
  return out;
}

/**
 * Deploys through the controller and records the release when the deploy ends, whether it
 * succeeded or failed (the error goes on to the caller); one that changed nothing is not
 * recorded. `rollbackOf` marks a rollback.
 */
export async function* recordedDeploy(
  d: ReleaseDeps,
  ctx: HandlerContext,
  service: string,
  def: ServiceDefinition | undefined,
  rollbackOf?: number,
): AsyncGenerator<DeployProgress> {
  const seen = new Map<string, string>();
  let failure: unknown;
  let changed = false;
  try {
    for await (const p of d.controller.deploy(service, def)) {
      if (p.image) seen.set(p.component, p.image);
      if (p.component && p.phase !== "unchanged") changed = true;
      yield p;
    }
  } catch (err) {
    failure = err;
  }
  // A deploy that changed nothing (every component unchanged) is not a release.
  if (!failure && !changed && !rollbackOf) return;
  try {
    const deployed = def ?? (await d.store.definition(service));
    if (deployed) {
      await d.releases.record({
        service,
        actor: ctx.values.get(callerKey)?.username ?? "",
        version: deployed.version,
        definition: deployed,
        images: await imagesOf(d, service, deployed, seen),
        result: failure ? "failed" : "deployed",
        message: failure ? (failure as Error).message : rollbackOf ? `rolled back to release ${rollbackOf}` : "",
        ...(rollbackOf ? { rollbackOf } : {}),
      });
    }
  } catch (err) {
    d.log.error({ service, err }, "the release could not be recorded");
  }
  if (failure) throw failure;
}

export function releaseToProto(r: Release): MessageInitShape<typeof ReleaseSchema> {
  return {
    number: r.number,
    time: r.time,
    actor: r.actor,
    version: r.version,
    images: r.images,
    result: r.result,
    message: r.message,
    definitionJson: JSON.stringify(r.definition),
    ...(r.rollbackOf !== undefined ? { rollbackOf: r.rollbackOf } : {}),
  };
}

/** The release a rollback puts back: the one asked for, else the newest deployed one before the newest deployed one. */
export async function rollbackTarget(releases: ReleaseStore, service: string, number: number): Promise<Release> {
  if (number) {
    const r = await releases.get(service, number);
    if (!r) throw new ConnectError(`service ${service} has no release ${number} (mcp history ${service} lists them)`, Code.NotFound);
    if (r.result !== "deployed")
      throw new ConnectError(`release ${number} of ${service} failed when it was deployed; pick one that ran`, Code.FailedPrecondition);
    return r;
  }
  const deployed = (await releases.list(service)).filter((r) => r.result === "deployed");
  const target = deployed[1];
  if (!target) {
    throw new ConnectError(
      deployed.length ? `service ${service} has no release before ${deployed[0]!.number} to roll back to` : `service ${service} has no release to roll back to`,
      Code.FailedPrecondition,
    );
  }
  return target;
}

/** The release's definition with each component's image pinned to the digest it had (where podman knew one). */
export function pinnedDefinition(r: Release): ServiceDefinition {
  const def = structuredClone(r.definition);
  for (const c of def.components) {
    const digest = r.images.find((i) => i.component === c.name)?.digest;
    if (digest) c.image = digest;
  }
  return def;
}
