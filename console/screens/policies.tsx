// Policies: the platform's custom rules (admin only: others see the registry's refusal and
// why). space or e enables/disables, x deletes (after y/N), Shift + a letter (or < >)
// sorts, n creates one from a line:
// `allow|deny ACTIONS TARGETS [description…]` (comma lists, * for any; a target
// `service:GLOB` is a service of the agent actions, anything else a repository glob).
import { useEffect, useMemo } from "react";
import { Box, Text } from "ink";
import { useStore } from "zustand";
import { count } from "../views/format.ts";
import { policySection } from "../views/registry.ts";
import { Table } from "../components/table.tsx";
import type { NewPolicy } from "../store/state.ts";
import type { ConsoleStore } from "../store/state.ts";
import { useNav, useScreenKeys } from "../tui/nav.ts";
import { sortKeys, sortRows } from "../views/sort.ts";
import { POLICIES_SORT } from "./columns.ts";
import { range, useSelection } from "./pick.ts";
import { useSort } from "./sorting.ts";

export const POLICIES_KEYS = `↑↓/jk move  n new  space/e enable/disable  x delete  r reload  esc back  ? help  ${sortKeys(POLICIES_SORT)}`;

/** `deny registry:push team/* frozen` or `allow agent:deploy service:team-* team` → a rule; null when it does not parse. */
export function parseRule(text: string): NewPolicy | null {
  const [effect, actions, targets, ...rest] = text.trim().split(/\s+/);
  if ((effect !== "allow" && effect !== "deny") || !actions || !targets) return null;
  const list = (v: string) => (v === "*" ? [] : v.split(",").filter(Boolean));
  const all = list(targets);
  const services = all.filter((t) => t.startsWith("service:")).map((t) => t.slice("service:".length));
  const repositories = all.filter((t) => !t.startsWith("service:"));
  return {
    priority: 100,
    description: rest.join(" "),
    effect,
    actions: list(actions),
    roles: [],
    accountTypes: [],
    subjectUuid: "",
    repositories,
    services,
    enabled: true,
  };
}

export function PoliciesScreen({ store }: { store: ConsoleStore }) {
  const nav = useNav();
  const listed = useStore(store, (s) => s.mcr.policies);
  const { sort, sortKey } = useSort(store, "policies", POLICIES_SORT);
  const rules = useMemo(() => sortRows(listed, POLICIES_SORT, sort), [listed, sort]);
  const loaded = useStore(store, (s) => s.mcr.policiesLoaded);
  const error = useStore(store, (s) => s.mcr.errors.policies);
  const page = Math.max(1, nav.height - 4);
  const { sel, start, end, move } = useSelection(rules.length, page);
  const load = () =>
    void store
      .getState()
      .listPolicies()
      .catch(() => undefined);
  useEffect(load, []);
  const refused = error?.code === "permission_denied" || error?.code === "unauthenticated";

  useScreenKeys((input, key) => {
    if (refused) return false;
    const rule = rules[sel];
    // Space toggles here (elsewhere it pages down).
    if (rule && (input === " " || input === "e"))
      return (
        nav.run(`${rule.enabled ? "disable" : "enable"} rule ${rule.id}`, () => store.getState().updatePolicy(rule.id, { enabled: !rule.enabled })), true
      );
    if (move(input, key) || sortKey(input)) return true;
    if (input === "r") return (load(), true);
    if (input === "n") {
      nav.prompt("new rule (allow|deny ACTIONS REPOS description): ", "", (v) => {
        const rule = parseRule(v);
        if (!rule) return nav.flash(`not a rule: ${JSON.stringify(v)}: e.g. deny registry:push team/* frozen`, true);
        nav.run("create rule", () => store.getState().createPolicy(rule));
      });
      return true;
    }
    if (!rule) return false;
    if (input === "x")
      return (
        nav.confirm(`Delete rule ${rule.id} (${rule.description || rule.effect})?`, () =>
          nav.run(`delete rule ${rule.id}`, () => store.getState().deletePolicy(rule.id)),
        ),
        true
      );
    return false;
  });

  if (refused)
    return (
      <Box flexDirection="column">
        <Text>Policy rules are for accounts with the admin role; this session cannot see them.</Text>
        <Text {...(nav.color ? { color: "red" } : {})}>{error!.message}</Text>
        <Text dimColor={nav.color}>Log in as an admin with `mcp login` to manage them.</Text>
      </Box>
    );
  return (
    <Box flexDirection="column">
      <Text wrap="truncate-end" dimColor={nav.color}>
        {count(rules.length, "custom rule")} (built-in rules are not listed){range(start, end, rules.length)}
      </Text>
      {error ? <Text {...(nav.color ? { color: "red" } : {})}>{error.message}</Text> : null}
      <Table
        section={{ ...policySection(rules.slice(start, end)), empty: loaded ? "no custom rules" : "asking the registry…", ...(sort ? { sort } : {}) }}
        width={nav.width}
        color={nav.color}
        selected={sel - start}
      />
    </Box>
  );
}
