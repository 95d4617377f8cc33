// `mcp gc [--dry-run] [--untagged] [--reconcile] [--grace D] [--watch]`: starts a garbage
// collection on mcr (which holds the locks; docs/gc.md) and waits for it to end: one
// document with the final run, or with --watch every progress message of GcService/Watch
// (NDJSON, plain lines, or a live table on a terminal), joining a run already in progress.
// A failed run exits 1.
import { ConsoleError } from "../output/errors.ts";
import type { GcRunRow, GcUpdate } from "../store/mcr-types.ts";
import type { CommandSpec } from "./command.ts";
import { cell } from "../output/screen.ts";
import { gcGraceNote, gcItemsSection, gcLine, gcRunSection } from "../views/registry.ts";
import { finite, stream, type View } from "./present.ts";

const view: View = (s, done) => {
  const run = s.mcr.gc.current ?? s.mcr.gc.last;
  return {
    sections: run
      ? [
          gcRunSection(run.options.dryRun ? "garbage collection (dry run)" : "garbage collection", run, s.mcr.actors),
          ...(run.running ? [] : [gcItemsSection(run, 20)]),
        ]
      : [],
    notes: run && gcGraceNote(run) ? [cell(gcGraceNote(run), "warn")] : [],
    ...(done ? {} : { pending: !run ? "starting" : run.running ? `${run.phase}…` : "finishing" }),
  };
};

const command: CommandSpec = {
  name: "gc",
  args: "",
  summary: "garbage-collect the registry (unreferenced blobs; untagged manifests with --untagged)",
  options: [
    { flags: "--dry-run", description: "list what would go and the bytes it would free; change nothing", default: false },
    { flags: "--untagged", description: "also collect manifests no tag or index references", default: false },
    { flags: "--reconcile", description: "also remove files without a blob row and report rows without a file", default: false },
    { flags: "--grace <duration>", description: "keep blobs uploaded, mounted or referenced within this time (default: mcr's [gc] grace)" },
    { flags: "--watch", description: "stream progress (NDJSON with --json) until the run ends; joins a run already in progress", default: false },
  ],
  async run(ctx, _args, o) {
    const store = ctx.store();
    const st = () => store.getState();
    const opts = { dryRun: o.dryRun === true, untagged: o.untagged === true, reconcile: o.reconcile === true, grace: (o.grace as string | undefined) ?? "" };
    const work = async (): Promise<GcRunRow> => {
      // Tables name who started the run; the JSON carries mcr's account id as it is.
      if (ctx.mode !== "json") await st().resolveActors();
      const started = await st().startGc({ ...opts, join: o.watch === true });
      const final = await st().watchGc(started.id, ctx.signal);
      if (!final) throw new ConsoleError("failed", `GC run ${started.id}: no final state (interrupted)`);
      return final;
    };
    let final: GcRunRow;
    if (o.watch) {
      final = await stream<GcUpdate, GcRunRow>(
        ctx,
        { select: (s) => s.mcr.gcUpdates, seq: (u) => u.seq, record: (u) => ({ run: u.run }), line: (u) => gcLine(u.run) },
        work,
        view,
      );
    } else {
      final = await finite(ctx, work, (run) => ({ run }), view);
    }
    // A watched run's lines end without the view's notes: why nothing was freed goes to stderr.
    if (o.watch && ctx.mode !== "tty" && gcGraceNote(final)) ctx.out.note(`mcp: ${gcGraceNote(final)}`);
    if (final.phase === "failed") throw new ConsoleError("failed", `GC run ${final.id} failed: ${final.error}`);
    if (final.running)
      throw new ConsoleError("failed", `interrupted: GC run ${final.id} goes on in the registry (mcp gc shows nothing more; the TUI's GC screen joins it)`);
    return 0;
  },
};

export default command;
