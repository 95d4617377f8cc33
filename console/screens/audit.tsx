// Audit: the registry's events, newest first, a page at a time. / filters
// (`type=… actor=… repo=… since=… until=…`), ] and [ page, f follows new events (on the
// first page) until pressed again or the screen is left. Shift + a letter (or < >) sorts the page.
import { useEffect, useMemo, useRef, useState } from "react";
import { Box, Text } from "ink";
import { useStore } from "zustand";
import { Table } from "../components/table.tsx";
import { cell } from "../output/screen.ts";
import { emptyFilter, type AuditFilter } from "../store/mcr-types.ts";
import type { ConsoleStore } from "../store/state.ts";
import { useNav, useScreenKeys } from "../tui/nav.ts";
import { range, useSelection } from "./pick.ts";
import { actorName } from "../views/registry.ts";
import { sortKeys, sortRows } from "../views/sort.ts";
import { AUDIT_SORT } from "./columns.ts";
import { useSort } from "./sorting.ts";

export const AUDIT_KEYS = `↑↓/jk move  / filter  ] older  [ newer  f follow  esc back  ? help  q quit  ${sortKeys(AUDIT_SORT)}`;

const KEYS: Record<string, keyof AuditFilter> = { type: "type", actor: "actor", repo: "repository", repository: "repository", since: "since", until: "until" };

/** `type=tag_deleted repo=team/app` → a filter; unknown words are ignored. */
export function parseFilter(text: string): AuditFilter {
  const f = emptyFilter();
  for (const word of text.trim().split(/\s+/)) {
    const [k, ...v] = word.split("=");
    const key = KEYS[k ?? ""];
    if (key && v.length) f[key] = v.join("=");
  }
  return f;
}

export const filterText = (f: AuditFilter) =>
  Object.entries({ type: f.type, actor: f.actor, repo: f.repository, since: f.since, until: f.until })
    .filter(([, v]) => v)
    .map(([k, v]) => `${k}=${v}`)
    .join(" ");

export function AuditScreen({ store }: { store: ConsoleStore }) {
  const nav = useNav();
  const audit = useStore(store, (s) => s.mcr.audit);
  const actors = useStore(store, (s) => s.mcr.actors);
  const error = useStore(store, (s) => s.mcr.errors.audit);
  const { sort, sortKey } = useSort(store, "audit", AUDIT_SORT);
  // The page's events (as mcr gives them: newest first) in the screen's sort.
  const lines = useMemo(
    () =>
      sortRows(
        audit.events.map((event) => ({ event, actor: actorName(actors, event.actor) })),
        AUDIT_SORT,
        sort,
      ),
    [audit.events, actors, sort],
  );
  const follow = useRef<AbortController | null>(null);
  const [, setFollowing] = useState(false);
  const page = Math.max(1, nav.height - 3);
  const { sel, start, end, move, select } = useSelection(audit.events.length, page);
  const list = (filter?: AuditFilter, offset?: number) => (
    select(0),
    void store
      .getState()
      .listAudit(filter, offset)
      .catch(() => undefined)
  );
  const stopFollow = () => (follow.current?.abort(), (follow.current = null), setFollowing(false));
  useEffect(() => {
    if (!store.getState().mcr.actors) void store.getState().resolveActors();
    list(undefined, 0);
    return stopFollow;
  }, []);

  useScreenKeys((input, key) => {
    if (move(input, key) || sortKey(input)) return true;
    if (input === "/") return (nav.prompt("filter: ", filterText(audit.filter), (v) => (stopFollow(), list(parseFilter(v), 0))), true);
    if (input === "]")
      return (audit.events.length === audit.limit ? (stopFollow(), list(undefined, audit.offset + audit.limit)) : nav.flash("no older events"), true);
    if (input === "[") return (audit.offset > 0 ? list(undefined, Math.max(0, audit.offset - audit.limit)) : nav.flash("this is the newest page"), true);
    if (input === "f") {
      if (follow.current) return (stopFollow(), true);
      const a = (follow.current = new AbortController());
      setFollowing(true);
      void (async () => {
        if (store.getState().mcr.audit.offset !== 0) await store.getState().listAudit(undefined, 0);
        await store.getState().followAudit(a.signal);
      })().catch((err: Error) => !a.signal.aborted && nav.flash(err.message, true));
      return true;
    }
    return false;
  });

  const shown = lines.slice(start, end);
  const filter = filterText(audit.filter);
  return (
    <Box flexDirection="column">
      <Text wrap="truncate-end" dimColor={nav.color}>
        {filter ? `filter: ${filter}  ·  ` : ""}
        {audit.offset ? `from ${audit.offset + 1}` : "newest"}
        {audit.following ? "  ·  following" : ""}
        {range(start, end, audit.events.length)}
      </Text>
      {error ? <Text {...(nav.color ? { color: "red" } : {})}>{error.message}</Text> : null}
      <Table
        section={{
          columns: ["time", "type", "actor", "repository", "digest", "details"],
          drop: ["details", "digest", "repository"],
          ...(sort ? { sort } : {}),
          rows: shown.map(({ event: e, actor }) => [
            cell(e.time.replace(/\.\d+Z$/, "Z")),
            cell(e.type),
            cell(actor || "-"),
            cell(e.repository || "-"),
            cell(e.digest ? e.digest.slice(7, 19) : "-"),
            cell(
              Object.entries(e.details)
                .map(([k, v]) => `${k}=${v}`)
                .join(" "),
            ),
          ]),
          empty: audit.loaded ? "no events" : error ? "" : "asking the registry…",
        }}
        width={nav.width}
        color={nav.color}
        selected={sel - start}
      />
    </Box>
  );
}
