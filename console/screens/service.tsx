// One service: components with desired/observed state, CPU and MEM (Stats every 2 s) and
// drift (sorted by Shift + a letter, or < >), routes with their ports, SMEP placement and
// storage, recent events. Actions (each confirmed): d deploy, s stop,
// S start, r restart, x remove; l logs; e a shell in a component's container (asked which
// when there are several); i describes a component (asked which likewise).
import { useEffect, useState } from "react";
import { Box, Text } from "ink";
import { useStore } from "zustand";
import { serviceSections } from "../views/service-status.ts";
import { ScreenView } from "../components/screen-view.tsx";
import { Spinner } from "../components/spinner.tsx";
import type { ConsoleStore } from "../store/state.ts";
import { useView } from "../tui/clock.ts";
import { useNav, useScreenKeys } from "../tui/nav.ts";
import { sortKeys, sortRows } from "../views/sort.ts";
import { statsOf } from "../views/usage.ts";
import { SERVICE_SORT } from "./columns.ts";
import { useSort } from "./sorting.ts";
import { useStatsPoll } from "./stats-poll.ts";

export const SERVICE_KEYS = `d deploy  s stop  S start  r restart  x remove  l logs  e exec (a shell)  i describe  h history  esc back  ? help  q quit  ${sortKeys(SERVICE_SORT)}`;

export function ServiceScreen({ store, service }: { store: ConsoleStore; service: string }) {
  const nav = useNav();
  const status = useStore(store, (s) => s.statuses[service]);
  // Its node's Stats every 2 s, once the node is known.
  useStatsPoll(store, status ? [status.node] : []);
  const { sort, sortKey } = useSort(store, "service", SERVICE_SORT);
  // The components in the screen's sort, with what each uses; the other tables as they come.
  // Drawn again only when a cell changes (uptimes, CPU and MEM included).
  const sections = useView(
    store,
    (s, now) => {
      const st = s.statuses[service];
      if (!st) return null;
      const components = sortRows(
        st.components.map((c) => ({ ...c, usage: statsOf(s, st.node, c.container) })),
        SERVICE_SORT,
        sort,
      );
      const out = serviceSections({ ...st, components }, s, now);
      if (sort) out[0] = { ...out[0]!, sort };
      return out;
    },
    [service, sort],
  );
  // Why the last ask failed, shown in place of (or above) the status: never "asking…" beside an error.
  const [error, setError] = useState("");

  useEffect(() => {
    let stop = false;
    const load = () =>
      store
        .getState()
        .fetchStatus(service)
        .then(() => !stop && setError(""))
        .catch((err: Error) => !stop && setError(err.message));
    void load();
    const timer = setInterval(load, 3000);
    return () => {
      stop = true;
      clearInterval(timer);
    };
  }, [service]);

  const op = (what: "stop" | "start" | "restart") =>
    nav.confirm(`${what[0]!.toUpperCase()}${what.slice(1)} ${service}?`, () =>
      nav.run(`${what} ${service}`, () =>
        store
          .getState()
          .lifecycle(what, service)
          .then(() => store.getState().fetchStatus(service)),
      ),
    );
  useScreenKeys((input) => {
    if (sortKey(input)) return true;
    if (input === "d") return (nav.confirm(`Deploy ${service}?`, () => nav.push({ screen: "deploy", service })), true);
    if (input === "s") return (op("stop"), true);
    if (input === "S") return (op("start"), true);
    if (input === "r") return (op("restart"), true);
    if (input === "x")
      return (
        nav.confirm(`Remove ${service} and its containers?`, () =>
          nav.run(`remove ${service}`, async () => (await store.getState().remove(service), nav.back())),
        ),
        true
      );
    if (input === "l") return (nav.push({ screen: "logs", target: service }), true);
    if (input === "h") return (nav.push({ screen: "history", service }), true);
    if (input === "i") {
      // One component: described at once; several: asked which (empty: all of them).
      const names = status?.components.map((c) => c.component) ?? [];
      const open = (component: string) => nav.push({ screen: "describe", target: component ? `${service}/${component}` : service });
      if (names.length <= 1) open(names[0] ?? "");
      else nav.prompt(`describe which component (${names.join(", ")}; empty: all): `, names[0]!, (v) => open(v.trim()));
      return true;
    }
    if (input === "e") {
      const names = status?.components.map((c) => c.component) ?? [];
      if (names.length <= 1) nav.exec({ service, ...(names[0] ? { component: names[0] } : {}) });
      else nav.prompt(`exec into which component (${names.join(", ")}): `, names[0]!, (v) => v.trim() && nav.exec({ service, component: v.trim() }));
      return true;
    }
    return false;
  });

  const errorLine = error ? <Text {...(nav.color ? { color: "red" } : {})}>{error}</Text> : null;
  // An action on this service in progress: the states below are what the agent reports meanwhile.
  const running = nav.busy.filter((what) => what.endsWith(` ${service}`));
  const busyLine = running.length ? (
    <Spinner
      color={nav.color}
      label={`${running.join(", ")} in progress${running.some((w) => w.startsWith("restart")) ? ": the agent stops, then starts each component" : ""}; the states below are as it reports them meanwhile`}
    />
  ) : null;
  if (!status || !sections) return errorLine ?? <Text dimColor={nav.color}>asking {service}'s node…</Text>;
  // Routes with their host ports, from the components' port bindings.
  const routes = status.components.flatMap((c) => c.ports.map((p) => `${c.component}/${p.route || "default"} → ${p.hostIp || "*"}:${p.hostPort}`));
  return (
    <Box flexDirection="column">
      {errorLine}
      {busyLine}
      <ScreenView screen={{ sections: sections.slice(0, 2), notes: [] }} width={nav.width} color={nav.color} />
      {routes.length ? <Text wrap="truncate-end">routes: {routes.join("  ")}</Text> : null}
      <ScreenView screen={{ sections: sections.slice(2), notes: [] }} width={nav.width} color={nav.color} />
    </Box>
  );
}
