// The registry's streams: GC (Start, Status, and Watch, which a client may join mid-run)
// and the audit log (pages of ListEvents, FollowEvents from the newest id shown).
import { Code, ConnectError } from "@connectrpc/connect";
import { mcrError } from "../clients/mcr-admin.ts";
import { ConsoleError } from "../output/errors.ts";
import type { McrKit } from "./mcr-kit.ts";
import { actorAliases, auditRow, gcRunRow, type AuditRow, type GcRunRow } from "./mcr-types.ts";
import type { McrStreamActions } from "./state.ts";

const KEEP = 1000;

/** Audit events after which what the registry screens show may have changed. */
const CHANGES = new Set(["manifest_pushed", "manifest_deleted", "tag_deleted", "repo_deleted", "blob_deleted", "gc_completed"]);

export function mcrStreamActions(kit: McrKit): McrStreamActions {
  const { patch, guard, get } = kit;

  const gcStatus = () =>
    guard("gc", async (c) => {
      const r = await c.gc.status({}, c.call());
      const current = r.current ? gcRunRow(r.current) : null;
      const last = r.last ? gcRunRow(r.last) : null;
      patch((m) => ({ gc: { ...m.gc, current, last } }));
      return { current, last };
    });

  const land = (run: GcRunRow) =>
    patch((m) => ({
      gc: { ...m.gc, current: run.running ? run : null, last: run.running ? m.gc.last : run },
      gcUpdates: [...m.gcUpdates.slice(-KEEP + 1), { seq: m.gcSeq + 1, run }],
      gcSeq: m.gcSeq + 1,
    }));

  return {
    gcStatus,

    async followChanges(signal) {
      const c = kit.client();
      try {
        for await (const batch of c.audit.followEvents({ afterId: 0n }, c.call({ stream: true, signal }))) {
          if (batch.events.some((e) => CHANGES.has(e.type))) patch((m) => ({ changes: m.changes + 1 }));
        }
      } catch (err) {
        if (!signal.aborted) throw mcrError(err);
      }
    },

    startGc: (opts) =>
      guard("gc", async (c) => {
        let run: GcRunRow;
        try {
          const r = await c.gc.start(
            { options: { dryRun: opts.dryRun, untagged: opts.untagged, reconcile: opts.reconcile ?? false, grace: opts.grace ?? "" } },
            c.call(),
          );
          run = gcRunRow(r.run!);
        } catch (err) {
          // A run in progress: joined when asked (its options are its own), else refused.
          if (!opts.join || ConnectError.from(err).code !== Code.AlreadyExists) throw err;
          const st = await c.gc.status({}, c.call());
          if (!st.current) throw err;
          run = gcRunRow(st.current);
        }
        land(run);
        return run;
      }),

    watchGc: (runId, signal) =>
      guard("gc", async (c) => {
        patch((m) => ({ gc: { ...m.gc, watching: true } }));
        let final: GcRunRow | null = null;
        try {
          for await (const msg of c.gc.watch({}, c.call({ stream: true, ...(signal ? { signal } : {}) }))) {
            if (!msg.run) continue;
            const run = gcRunRow(msg.run);
            if (runId && run.id !== runId) continue;
            land(run);
            final = run;
            if (!run.running) break;
          }
        } catch (err) {
          if (!signal?.aborted) throw err;
        } finally {
          patch((m) => ({ gc: { ...m.gc, watching: false } }));
        }
        if (runId && (!final || final.running) && !signal?.aborted) {
          // The run ended before Watch was asked: Status has it as the last run.
          const { last } = await gcStatus();
          if (last && last.id === runId) land(last), (final = last);
        }
        return final;
      }),

    listAudit: (filter, offset, limit) =>
      guard("audit", async (c) => {
        const cur = get().mcr.audit;
        const f = { ...cur.filter, ...filter };
        const off = offset ?? cur.offset;
        const lim = limit ?? cur.limit;
        // An actor is an account id on most rows and a username on logins: `actor=admin` asks
        // for both (mcr filters by one value), merged newest first, up to this page.
        const aliases = f.actor ? actorAliases(f.actor, get().mcr.actors ?? (await get().resolveActors())) : [""];
        const req = { type: f.type, repository: f.repository, since: f.since, until: f.until };
        let events: AuditRow[];
        if (aliases.length === 1) {
          const r = await c.audit.listEvents({ ...req, actor: f.actor, limit: lim, offset: off }, c.call());
          events = r.events.map(auditRow);
        } else {
          const upTo = Math.min(1000, off + lim);
          const lists = await Promise.all(aliases.map((actor) => c.audit.listEvents({ ...req, actor, limit: upTo, offset: 0 }, c.call())));
          const byId = new Map<number, AuditRow>();
          for (const l of lists) for (const e of l.events.map(auditRow)) byId.set(e.id, e);
          events = [...byId.values()].sort((a, b) => b.id - a.id).slice(off, off + lim);
        }
        // The feed restarts with the page, oldest first; a follow appends to it.
        patch((m) => ({ audit: { ...m.audit, filter: f, offset: off, limit: lim, events, loaded: true }, auditFeed: [...events].reverse() }));
        return events;
      }),

    followAudit: (signal, afterId) =>
      guard("audit", async (c) => {
        const { filter, events } = get().mcr.audit;
        const from = afterId ?? Math.max(0, ...events.map((e) => e.id));
        if (filter.until) throw new ConsoleError("usage", "--until is for listing: a follow shows new events");
        patch((m) => ({ audit: { ...m.audit, following: true } }));
        try {
          // Several names for the actor: followed unfiltered, filtered here.
          const aliases = actorAliases(filter.actor, get().mcr.actors ?? {});
          const req = { type: filter.type, actor: aliases.length > 1 ? "" : filter.actor, repository: filter.repository, afterId: BigInt(from) };
          for await (const batch of c.audit.followEvents(req, c.call({ stream: true, signal }))) {
            const rows = batch.events.map(auditRow).filter((e) => aliases.length <= 1 || aliases.includes(e.actor));
            if (rows.length === 0) continue;
            patch((m) => ({
              auditFeed: [...m.auditFeed, ...rows].slice(-KEEP),
              // The page shows the newest first; a follow on the first page adds to it.
              audit:
                m.audit.offset === 0 ? { ...m.audit, events: [...[...rows].reverse(), ...m.audit.events].slice(0, Math.max(m.audit.limit, 200)) } : m.audit,
            }));
          }
        } catch (err) {
          if (!signal.aborted) throw err;
        } finally {
          patch((m) => ({ audit: { ...m.audit, following: false } }));
        }
      }),
  };
}
