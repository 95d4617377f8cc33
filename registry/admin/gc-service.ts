// GcService: start a garbage collection, see how it stands, follow it as it runs.
import { Code, ConnectError, type HandlerContext, type ServiceImpl } from "@connectrpc/connect";
import type { MessageInitShape } from "@bufbuild/protobuf";
import { parseDuration } from "../../lib/config/types.ts";
import type { GcService, GcOptions as GcOptionsMessage, GcRunSchema } from "../../proto/gen/mcr/v1/gc_pb.ts";
import type { GcOptions } from "../gc/collector.ts";
import { GcBusyError, type GcManager, type GcRun } from "../gc/manager.ts";
import { callerKey } from "./interceptor.ts";

/** Items listed in a finished run's state at most. */
export const MAX_ITEMS = 1000;

export function gcOptionsFrom(
  o: Partial<Pick<GcOptionsMessage, "dryRun" | "untagged" | "reconcile" | "grace">> | undefined,
  defaultGraceMs: number,
): GcOptions {
  let graceMs = defaultGraceMs;
  if (o?.grace) {
    const ms = parseDuration(o.grace);
    if (ms === undefined)
      throw new ConnectError(`grace must be a duration like "1h" or "30m", got ${JSON.stringify(o.grace.slice(0, 40))}`, Code.InvalidArgument);
    graceMs = ms;
  }
  return { dryRun: o?.dryRun ?? false, untagged: o?.untagged ?? false, reconcile: o?.reconcile ?? false, graceMs };
}

export function gcRunMessage(run: GcRun): MessageInitShape<typeof GcRunSchema> {
  const r = run.result;
  const items = r
    ? [
        ...r.manifests.map((m) => ({ kind: "manifest", repository: m.repository, digest: m.digest, size: BigInt(m.size) })),
        ...r.blobs.map((b) => ({ kind: "blob", digest: b.digest, size: BigInt(b.size) })),
        ...r.orphans.map((digest) => ({ kind: "orphan_file", digest })),
        ...r.missing.map((digest) => ({ kind: "missing_file", digest })),
      ]
    : [];
  return {
    id: run.id,
    options: {
      dryRun: run.options.dryRun,
      untagged: run.options.untagged,
      reconcile: run.options.reconcile,
      grace: `${Math.round(run.options.graceMs / 1000)}s`,
    },
    actor: run.actor,
    phase: run.phase,
    running: !run.completedAt,
    startedAt: run.startedAt,
    completedAt: run.completedAt ?? "",
    manifestsRemoved: BigInt(run.manifestsRemoved),
    blobsMarked: BigInt(run.blobsMarked),
    bytesMarked: BigInt(run.bytesMarked),
    blobsSwept: BigInt(run.blobsSwept),
    bytesFreed: BigInt(run.bytesFreed),
    blobsKept: BigInt(run.blobsKept),
    orphanFiles: BigInt(run.orphanFiles),
    orphanBytes: BigInt(run.orphanBytes),
    missingFiles: BigInt(run.missingFiles),
    error: run.error ?? "",
    items: items.slice(0, MAX_ITEMS),
    itemsOmitted: BigInt(Math.max(0, items.length - MAX_ITEMS)),
  };
}

export function gcService(gc: GcManager, defaultGraceMs: number): ServiceImpl<typeof GcService> {
  const actor = (ctx: HandlerContext) => ctx.values.get(callerKey)?.subject ?? "anonymous";
  return {
    async start(req, ctx) {
      const options = gcOptionsFrom(req.options, defaultGraceMs);
      try {
        return { run: gcRunMessage(await gc.begin(options, actor(ctx))) };
      } catch (err) {
        if (err instanceof GcBusyError) throw new ConnectError(err.message, Code.AlreadyExists);
        throw err;
      }
    },
    async status() {
      const { current, last } = gc.status();
      return { current: current && gcRunMessage(current), last: last && gcRunMessage(last) };
    },
    async *watch(_req, ctx) {
      for await (const run of gc.watch(ctx.signal)) yield { run: gcRunMessage(run) };
    },
  };
}
