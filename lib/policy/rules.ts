// The platform's policy model, shared by mcr (registry:* actions on
// repositories) and every mcp-agent (agent:* actions on services): rules sorted
// by priority, every matching rule collected, deny wins, default deny. The
// rules are kept in mcr (PolicyService); agents fetch the enabled ones.
import { globMatch } from "./glob.ts";

export const ACTIONS = [
  "registry:version_check",
  "registry:pull",
  "registry:push",
  "registry:delete",
  "registry:catalog",
  "policy:manage",
  // On an agent: read (List, Status, Logs, Events, Stats), deploy (Sync, Deploy, Stop, Start,
  // Restart), admin (Remove, the machine registry, PruneImages), exec (Exec: a command or a
  // shell in a container; only admins and the rules that name it, never implied by another).
  "agent:read",
  "agent:deploy",
  "agent:admin",
  "agent:exec",
] as const;
export type Action = (typeof ACTIONS)[number];
export type Effect = "allow" | "deny";
export type AccountType = "human" | "system";

export interface PolicyInput {
  subject: string;
  accountType: AccountType;
  roles: string[];
  action: Action;
  /** Empty for global operations (catalog, version check) and agent actions. */
  repository: string;
  /** The service an agent action is on; empty for registry actions. */
  service?: string;
}

export interface Rule {
  /** Negative for the built-in defaults. */
  id: number;
  /** Lower runs first; 0 is reserved for the built-ins. */
  priority: number;
  description: string;
  effect: Effect;
  /** Each field below narrows the rule; an empty or missing field matches anything. */
  actions?: Action[];
  roles?: string[];
  accountTypes?: AccountType[];
  subjectUUID?: string;
  /** path.Match globs; a rule with repositories never matches a global operation. */
  repositories?: string[];
  /** path.Match globs of service names; a rule with services matches only agent actions on them. */
  services?: string[];
}

export interface Decision {
  effect: Effect;
  /** The rule that decided; undefined for the default deny. */
  rule?: Rule;
}

export function defaultRules(): Rule[] {
  return [
    { id: -1, priority: 0, description: "admin: every action", effect: "allow", roles: ["admin"] },
    {
      id: -2,
      priority: 0,
      description: "human users: content access",
      effect: "allow",
      roles: ["user"],
      accountTypes: ["human"],
      actions: ["registry:pull", "registry:push", "registry:delete", "registry:catalog"],
    },
    { id: -3, priority: 0, description: "version check: everyone", effect: "allow", actions: ["registry:version_check"] },
    {
      id: -4,
      priority: 0,
      description: "human users: read every service on the agents",
      effect: "allow",
      roles: ["user"],
      accountTypes: ["human"],
      actions: ["agent:read"],
    },
  ];
}

export function ruleMatches(rule: Rule, input: PolicyInput): boolean {
  if (rule.actions?.length && !rule.actions.includes(input.action)) return false;
  if (rule.roles?.length && !rule.roles.some((r) => input.roles.includes(r))) return false;
  if (rule.accountTypes?.length && !rule.accountTypes.includes(input.accountType)) return false;
  if (rule.subjectUUID && rule.subjectUUID !== input.subject) return false;
  if (rule.repositories?.length) {
    if (input.repository === "") return false;
    if (!rule.repositories.some((g) => globMatch(g, input.repository))) return false;
  }
  if (rule.services?.length) {
    if (!input.service) return false;
    if (!rule.services.some((g) => globMatch(g, input.service!))) return false;
  }
  return true;
}

/** Stateless evaluation over `rules` (defaults are not added here). */
export function evaluate(input: PolicyInput, rules: Rule[]): Decision {
  const sorted = rules.map((r, i) => [r, i] as const).sort((a, b) => a[0].priority - b[0].priority || a[1] - b[1]);
  let firstAllow: Rule | undefined;
  for (const [rule] of sorted) {
    if (!ruleMatches(rule, input)) continue;
    if (rule.effect === "deny") return { effect: "deny", rule };
    firstAllow ??= rule;
  }
  return firstAllow ? { effect: "allow", rule: firstAllow } : { effect: "deny" };
}
