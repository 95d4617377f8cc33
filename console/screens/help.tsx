// Help: every screen's keys (a table screen's sort letters with their columns under them)
// and the `:` jumps, wrapped to the width and scrolled.
import { useMemo, useState } from "react";
import stringWidth from "string-width";
import { Box, Text } from "ink";
import { movement, useNav, useScreenKeys } from "../tui/nav.ts";
import { sortHelp, sortKeys } from "../views/sort.ts";
import { AUDIT_KEYS } from "./audit.tsx";
import { CHECK_KEYS } from "./check.tsx";
import { AUDIT_SORT, EVENTS_SORT, GC_SORT, NODES_SORT, POLICIES_SORT, REGISTRY_SORT, REPOSITORY_SORT, SERVICE_SORT, SERVICES_SORT } from "./columns.ts";
import { DEPLOY_KEYS } from "./deploy.tsx";
import { DESCRIBE_KEYS } from "./describe.tsx";
import { COMMANDS_KEYS } from "./commands.tsx";
import { EVENTS_KEYS } from "./events.tsx";
import { GC_KEYS } from "./gc.tsx";
import { LOGS_KEYS } from "./logs.tsx";
import { MANIFEST_KEYS } from "./manifest.tsx";
import { HISTORY_KEYS } from "./history.tsx";
import { NODES_KEYS } from "./nodes.tsx";
import { POLICIES_KEYS } from "./policies.tsx";
import { REGISTRY_KEYS } from "./registry.tsx";
import { REPOSITORY_KEYS } from "./repository.tsx";
import { SERVICE_KEYS } from "./service.tsx";
import { SERVICES_KEYS } from "./services.tsx";

export const HELP_KEYS = "↑↓/jk scroll  esc back  q quit";

const LABEL = 11;

/** `keys` ("a b  c d  e f") in lines of at most `width` columns, breaking only between keys. */
export function wrapKeys(keys: string, width: number): string[] {
  const lines: string[] = [];
  let line = "";
  for (const item of keys.split(/ {2,}/)) {
    const next = line ? `${line}  ${item}` : item;
    if (line && stringWidth(next) > width) {
      lines.push(line);
      line = item;
    } else line = next;
  }
  if (line) lines.push(line);
  return lines;
}

export function HelpScreen() {
  const nav = useNav();
  // A table screen's keys, then its sort letters with their columns (in place of the footer's `N/C/M < > sort`).
  const sorted = (label: string, keys: string, columns: readonly { name: string; key?: string }[]): [string, string][] => [
    [label, keys.replace(`  ${sortKeys(columns)}`, "")],
    ["", `sort: ${sortHelp(columns)}  < > I`],
  ];
  const entries: [string, string][] = [
    ...sorted("services", SERVICES_KEYS, SERVICES_SORT),
    ...sorted("service", SERVICE_KEYS, SERVICE_SORT),
    ["logs", LOGS_KEYS],
    ["deploy", DEPLOY_KEYS],
    ["describe", DESCRIBE_KEYS],
    ["history", HISTORY_KEYS],
    ...sorted("registry", REGISTRY_KEYS, REGISTRY_SORT),
    ...sorted("repository", REPOSITORY_KEYS, REPOSITORY_SORT),
    ["manifest", MANIFEST_KEYS],
    ...sorted("gc", GC_KEYS, GC_SORT),
    ["check", CHECK_KEYS],
    ...sorted("policies", POLICIES_KEYS, POLICIES_SORT),
    ...sorted("audit", AUDIT_KEYS, AUDIT_SORT),
    ...sorted("nodes", NODES_KEYS, NODES_SORT),
    ...sorted("events", EVENTS_KEYS, EVENTS_SORT),
    ["commands", COMMANDS_KEYS],
    [
      "jump",
      ":services  :service NAME  :logs NAME[/COMPONENT]  :deploy NAME  :describe NAME[/COMPONENT]  :history NAME  :registry  :repo NAME  :gc  :check  :policies  :audit  :nodes  :events  :commands  :help  :q",
    ],
    ["sort", "shift+letter sort by that column (again: the other way)  < > the column left/right  I invert  ▲ ascending  ▼ descending"],
    ["everywhere", "esc back  q quit  ctrl-c quit  ? help"],
    ["prompt", "←→ home/end move  ctrl-u clear  ctrl-w word  enter go  esc cancel"],
  ];
  // Laid out for the width, each screen's keys under its name, and scrolled: nothing is dropped.
  const lines = useMemo(() => {
    const room = Math.max(10, nav.width - LABEL);
    const out: { label: string; text: string }[] = [];
    for (const [label, keys] of entries) wrapKeys(keys, room).forEach((text, i) => out.push({ label: i === 0 ? label : "", text }));
    for (const text of wrapKeys("NO_COLOR turns colours off.  Nodes that drop are retried with backoff.", room)) out.push({ label: "", text });
    return out;
  }, [nav.width]);
  const page = Math.max(1, nav.height - 1);
  const [top, setTop] = useState(0);
  const maxTop = Math.max(0, lines.length - page);
  const from = Math.min(top, maxTop);
  useScreenKeys((input, key) => {
    const m = movement(input, key, page);
    if (m === null) return false;
    setTop((t) => (m === "top" ? 0 : m === "bottom" ? maxTop : Math.max(0, Math.min(maxTop, Math.min(t, maxTop) + m))));
    return true;
  });
  return (
    <Box flexDirection="column">
      <Text dimColor={nav.color} wrap="truncate-end">
        keys of each screen{lines.length > page ? `  (${from + 1}-${from + page} of ${lines.length}, ↑↓ scroll)` : ""}
      </Text>
      {lines.slice(from, from + page).map((l, i) => (
        <Text key={i} wrap="truncate-end">
          <Text bold>{l.label.padEnd(LABEL)}</Text>
          {l.text}
        </Text>
      ))}
    </Box>
  );
}
