// `mcp audit [--type T] [--actor A] [--repo R] [--since T] [--until T] [-n N] [--offset N] [-f]`:
// the registry's audit log, newest first (one document); -f lists the page oldest first and
// then follows new events until Ctrl-C (NDJSON with --json), from the newest one listed so
// that nothing is missed or repeated.
import { cell } from "../output/screen.ts";
import type { AuditRow } from "../store/mcr-types.ts";
import type { CommandSpec } from "./command.ts";
import { intOption } from "./command.ts";
import { finite, stream } from "./present.ts";
import { actorName } from "../views/registry.ts";

const details = (e: AuditRow) =>
  Object.entries(e.details)
    .map(([k, v]) => `${k}=${v}`)
    .join(" ");
const line = (e: AuditRow, actors: Record<string, string> | null) =>
  [e.time, e.type, actorName(actors, e.actor) || "-", e.repository || "-", e.digest ? e.digest.slice(0, 19) : "-", details(e)].join("  ").trimEnd();

const command: CommandSpec = {
  name: "audit",
  args: "",
  summary: "the registry's audit log (filter; -f follows)",
  options: [
    { flags: "--type <type>", description: "event type (manifest_pushed, repo_deleted, gc_completed, …)" },
    { flags: "--actor <name>", description: "actor: a username (its account's events and its logins) or an account id" },
    { flags: "--repo <name>", description: "repository" },
    { flags: "--since <time>", description: "RFC 3339 time" },
    { flags: "--until <time>", description: "RFC 3339 time" },
    { flags: "-n, --limit <n>", description: "events per page (at most 1000)", default: 50, parse: intOption("--limit") },
    { flags: "--offset <n>", description: "skip this many (paging)", default: 0, parse: intOption("--offset") },
    { flags: "-f, --follow", description: "then follow new events until Ctrl-C", default: false },
  ],
  async run(ctx, _args, o) {
    const store = ctx.store();
    const st = () => store.getState();
    const filter = {
      type: (o.type as string) ?? "",
      actor: (o.actor as string) ?? "",
      repository: (o.repo as string) ?? "",
      since: (o.since as string) ?? "",
      until: (o.until as string) ?? "",
    };
    // Tables and lines name the actors; the JSON carries mcr's ids as they are.
    const list = async () => {
      if (ctx.mode !== "json") await st().resolveActors();
      return st().listAudit(filter, o.offset as number, o.limit as number);
    };
    if (!o.follow) {
      await finite(
        ctx,
        list,
        (events) => ({ events }),
        (s, done) => ({
          sections: [
            {
              columns: ["id", "time", "type", "actor", "repository", "digest", "details"],
              rows: s.mcr.audit.events.map((e) => [
                cell(e.id),
                cell(e.time),
                cell(e.type),
                cell(actorName(s.mcr.actors, e.actor) || "-"),
                cell(e.repository || "-"),
                cell(e.digest ? e.digest.slice(0, 19) : "-"),
                cell(details(e)),
              ]),
              empty: done ? "no events" : "",
            },
          ],
          notes: [],
          ...(done ? {} : { pending: "asking the registry" }),
        }),
      );
      return 0;
    }
    await stream<AuditRow, void>(
      ctx,
      { select: (s) => s.mcr.auditFeed, seq: (e) => e.id, record: (e) => e, line: (e) => line(e, st().mcr.actors) },
      async () => {
        await list();
        await st().followAudit(ctx.signal);
      },
    );
    return 0;
  },
};

export default command;
