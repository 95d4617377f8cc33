// `mcp policy list|create|update|delete|enable|disable`: the platform's custom policy rules,
// registry actions on repositories and agent actions on services (docs/security.md). Admin
// only: others get permission_denied (exit 5).
import { ConsoleError } from "../output/errors.ts";
import { cell } from "../output/screen.ts";
import type { PolicyChange } from "../store/state.ts";
import type { CommandSpec } from "./command.ts";
import { intOption } from "./command.ts";
import { need } from "./reference.ts";
import { policySection } from "../views/registry.ts";
import { finite } from "./present.ts";

const list = (v: unknown) =>
  typeof v === "string" && v
    ? v
        .split(",")
        .map((x) => x.trim())
        .filter(Boolean)
    : [];
const ruleId = (v: string | undefined, action: string) => {
  const s = need(v, `rule id: mcp policy ${action} ID`);
  if (!/^\d+$/.test(s)) throw new ConsoleError("usage", `rule id must be a whole number, not ${JSON.stringify(s)}`);
  return Number(s);
};

const command: CommandSpec = {
  name: "policy",
  args: "<action> [id]",
  summary: "the platform's policy rules (registry and agents): list | create | update ID | delete ID | enable ID | disable ID",
  options: [
    { flags: "--effect <effect>", description: "create: allow or deny" },
    {
      flags: "--actions <list>",
      description: "create: comma-separated (registry:pull,registry:push,…,agent:read,agent:deploy,agent:admin); empty: every action",
    },
    { flags: "--repos <list>", description: "create: repository globs (comma-separated); empty: every repository" },
    { flags: "--services <list>", description: "create: service globs for agent actions (comma-separated); empty: every service" },
    { flags: "--roles <list>", description: "create: roles the rule applies to" },
    { flags: "--account-types <list>", description: "create: human, system" },
    { flags: "--subject <uuid>", description: "create: one account" },
    { flags: "--priority <n>", description: "create, update: lower runs first", parse: intOption("--priority") },
    { flags: "--description <text>", description: "create, update" },
    { flags: "--disabled", description: "create: the rule starts disabled", default: false },
  ],
  async run(ctx, [action, id], o) {
    const store = ctx.store();
    const st = () => store.getState();
    let shown = 0;
    const one = (title: string) => (s: ReturnType<typeof st>, done: boolean) => ({
      sections: done ? [{ ...policySection(s.mcr.policies.filter((p) => p.id === shown)), title }] : [],
      notes: [],
      ...(done ? {} : { pending: title }),
    });
    switch (action) {
      case "list":
        await finite(
          ctx,
          () => st().listPolicies(),
          (rules) => ({ rules }),
          (s, done) => ({ sections: [policySection(s.mcr.policies)], notes: [], ...(done ? {} : { pending: "asking the registry" }) }),
        );
        return 0;
      case "create": {
        const effect = o.effect as string | undefined;
        if (effect !== "allow" && effect !== "deny") throw new ConsoleError("usage", "--effect allow or --effect deny is needed");
        const rule = {
          priority: (o.priority as number | undefined) ?? 100,
          description: (o.description as string) ?? "",
          effect: effect as "allow" | "deny",
          actions: list(o.actions),
          roles: list(o.roles),
          accountTypes: list(o.accountTypes),
          subjectUuid: (o.subject as string) ?? "",
          repositories: list(o.repos),
          services: list(o.services),
          enabled: o.disabled !== true,
        };
        await finite(
          ctx,
          async () => ((shown = (await st().createPolicy(rule)).id), st().mcr.policies.find((p) => p.id === shown)!),
          (r) => ({ rule: r }),
          one("created"),
        );
        return 0;
      }
      case "update":
      case "enable":
      case "disable": {
        shown = ruleId(id, action);
        const change: PolicyChange =
          action === "update"
            ? {
                ...(o.priority !== undefined ? { priority: o.priority as number } : {}),
                ...(o.description !== undefined ? { description: o.description as string } : {}),
              }
            : { enabled: action === "enable" };
        if (Object.keys(change).length === 0) throw new ConsoleError("usage", "update needs --priority or --description (enable and disable switch a rule)");
        await finite(
          ctx,
          () => st().updatePolicy(shown, change),
          (r) => ({ rule: r }),
          one(action === "update" ? "updated" : `${action}d`),
        );
        return 0;
      }
      case "delete": {
        const n = ruleId(id, action);
        await finite(
          ctx,
          () => st().deletePolicy(n),
          (r) => r,
          (_s, done) => ({ sections: [], notes: done ? [cell(`deleted rule ${n}`, "ok")] : [], ...(done ? {} : { pending: `deleting rule ${n}` }) }),
        );
        return 0;
      }
      default:
        throw new ConsoleError("usage", `unknown policy action ${JSON.stringify(action)}: list, create, update, delete, enable or disable`);
    }
  },
};

export default command;
