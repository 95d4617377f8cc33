// `mcr gc [--dry-run] [--untagged] [--reconcile] [--grace DURATION]`: garbage collection.
// With the server running it asks the server (GcService over the local admin socket), so
// the locks that keep GC from racing pushes are held in one process, and follows the run;
// a run already in progress is joined. With the server stopped it collects itself,
// holding the instance lock so that the server cannot start meanwhile.
import { create, toJson } from "@bufbuild/protobuf";
import { Code, ConnectError } from "@connectrpc/connect";
import { silentLogger } from "../../lib/log/logger.ts";
import { GcRunSchema, GcService, type GcRun as GcRunMessage } from "../../proto/gen/mcr/v1/gc_pb.ts";
import { gcOptionsFrom, gcRunMessage } from "../admin/gc-service.ts";
import { AuditLog } from "../audit/audit-log.ts";
import { GarbageCollector } from "../gc/collector.ts";
import { GcManager } from "../gc/manager.ts";
import { loadRegistryConfig, openOffline, runningServer, serverClient } from "./offline.ts";
import { bytes as formatBytes } from "../../lib/text/bytes.ts";

export interface GcCommandOptions {
  config: string;
  dryRun: boolean;
  untagged: boolean;
  reconcile: boolean;
  grace?: string;
  json: boolean;
}

type Say = (line: string) => void;

/** Runs the collection; resolves to the exit code (1 when the run failed). */
export async function gcCommand(
  o: GcCommandOptions,
  out: Say = (l) => process.stdout.write(l + "\n"),
  err: Say = (l) => process.stderr.write(l + "\n"),
): Promise<number> {
  const cfg = loadRegistryConfig(o.config);
  const options = { dryRun: o.dryRun, untagged: o.untagged, reconcile: o.reconcile, grace: o.grace ?? "" };
  gcOptionsFrom(options, cfg.gc.grace); // a bad --grace fails here, before anything starts
  const progress = o.json ? () => undefined : progressPrinter(err);
  const socket = runningServer(cfg);
  let final: GcRunMessage | undefined;
  if (socket) {
    const client = serverClient(GcService, socket);
    let id: string;
    try {
      id = (await client.start({ options })).run!.id;
      err(`gc ${id} started on the running server`);
    } catch (e) {
      if (!(e instanceof ConnectError && e.code === Code.AlreadyExists)) throw e;
      const current = (await client.status({})).current;
      if (!current) throw e;
      id = current.id;
      err(`a collection is already running (${id}); following it instead`);
    }
    for await (const { run } of client.watch({})) {
      if (!run || run.id !== id) continue;
      progress(run);
      if (!run.running) final = run;
    }
    // The run ended between start and watch: its result is the last run.
    final ??= (await client.status({})).last;
    if (!final || final.id !== id) throw new Error(`lost track of gc ${id}: see mcr.v1.GcService/Status`);
  } else {
    const off = await openOffline(cfg, "gc");
    const audit = new AuditLog(off.db, silentLogger());
    try {
      const locks = { digests: off.locks.digests, commits: off.locks.commits };
      const collector = new GarbageCollector({ db: off.db, store: off.store, locks, log: silentLogger() });
      const manager = new GcManager(collector, audit, silentLogger(), off.locks.gcRun);
      const run = await manager.begin(gcOptionsFrom(options, cfg.gc.grace), "cli");
      err(
        `gc ${run.id} started (${cfg.database.url ? "on the shared PostgreSQL database, beside the replicas" : "the server is not running: collecting directly"})`,
      );
      for await (const state of manager.watch()) progress(create(GcRunSchema, gcRunMessage(state)));
      const last = manager.status().last!;
      final = create(GcRunSchema, gcRunMessage(last));
    } finally {
      await audit.flush().catch(() => undefined);
      await off.close();
    }
  }
  if (o.json) out(JSON.stringify(toJson(GcRunSchema, final, { useProtoFieldName: true, alwaysEmitImplicit: true })));
  else summary(final, out);
  return final.phase === "failed" ? 1 : 0;
}

function progressPrinter(err: Say): (run: GcRunMessage) => void {
  let phase = "";
  let last = 0;
  return (run) => {
    const now = Date.now();
    if (run.phase === phase && now - last < 2000) return;
    phase = run.phase;
    last = now;
    if (run.phase === "marking") err("marking…");
    else if (run.phase === "sweeping") err(`sweeping: ${run.blobsSwept}/${run.blobsMarked} blobs, ${formatBytes(Number(run.bytesFreed))} freed`);
    else if (run.phase === "reconciling") err(`reconciling: ${run.orphanFiles} files without a row so far`);
  };
}

function summary(run: GcRunMessage, out: Say): void {
  const dry = run.options?.dryRun;
  if (run.phase === "failed") {
    out(`gc ${run.id} failed: ${run.error}`);
    return;
  }
  for (const item of run.items) {
    const what = item.kind === "manifest" ? `manifest ${item.repository}@${item.digest}` : `${item.kind.replace("_", " ")} ${item.digest}`;
    if (item.kind === "missing_file") out(`missing: ${item.digest} has a row but no file`);
    else if (dry) out(`would remove ${what} (${formatBytes(Number(item.size))})`);
  }
  if (run.itemsOmitted > 0n) out(`… and ${run.itemsOmitted} more`);
  const verb = dry ? "would remove" : "removed";
  out(
    `gc ${run.id} ${dry ? "(dry run) " : ""}done: ${verb} ${run.manifestsRemoved} manifests and ${dry ? run.blobsMarked : run.blobsSwept} blobs, ` +
      `${dry ? "would free" : "freed"} ${formatBytes(Number(dry ? run.bytesMarked + run.orphanBytes : run.bytesFreed))}` +
      (run.blobsKept > 0n ? `; ${run.blobsKept} blobs uploaded again during the sweep were kept` : "") +
      (run.options?.reconcile ? `; reconcile: ${run.orphanFiles} files without a row${dry ? "" : " removed"}, ${run.missingFiles} rows without a file` : ""),
  );
}
