// Who may do what on this node. The interceptor authenticates every call but
// Health; the handlers then ask here, per service, with the platform's policy
// engine: `admin` may do everything, `user` accounts what the rules allow (the
// built-in rule lets human users read every service), anyone else nothing.
// The rules are kept in mcr; the agent fetches the enabled ones every
// `refreshMs` and keeps the last it had while mcr cannot be asked.
import { Code, ConnectError, type HandlerContext } from "@connectrpc/connect";
import type { Claims } from "../../lib/auth/types.ts";
import type { Logger } from "../../lib/log/logger.ts";
import { defaultRules, evaluate, type Decision, type Rule } from "../../lib/policy/rules.ts";
import { callerKey } from "./interceptor.ts";

export type AgentAction = "agent:read" | "agent:deploy" | "agent:admin" | "agent:exec";

const VERB: Record<AgentAction, string> = { "agent:read": "read", "agent:deploy": "deploy to", "agent:admin": "administer", "agent:exec": "exec into" };

export class AgentPolicy {
  private custom: Rule[] = [];
  private timer: NodeJS.Timeout | undefined;
  private loaded = false;

  /** `fetchRules`: the enabled custom rules from mcr; absent, only the built-in rules apply. */
  constructor(
    private readonly log: Logger,
    private readonly fetchRules?: () => Promise<Rule[]>,
  ) {}

  /** Fetches the rules now and then every `refreshMs`. */
  async start(refreshMs: number): Promise<void> {
    await this.refresh();
    if (!this.fetchRules || refreshMs <= 0) return;
    this.timer = setInterval(() => void this.refresh(), refreshMs);
    this.timer.unref();
  }

  stop(): void {
    clearInterval(this.timer);
  }

  async refresh(): Promise<void> {
    if (!this.fetchRules) return;
    try {
      this.custom = await this.fetchRules();
      if (!this.loaded) this.log.info({ rules: this.custom.length }, "policy rules fetched from the registry");
      this.loaded = true;
    } catch (err) {
      // Keep the last rules: a registry outage must not open or close the node.
      this.log.warn({ err: (err as Error).message, kept: this.custom.length }, "cannot fetch the policy rules from the registry; keeping the last ones");
    }
  }

  decide(claims: Claims, action: AgentAction, service: string): Decision {
    // As on mcr: an admin is not subject to the rules (a deny rule cannot lock the admins out).
    if (claims.roles.includes("admin")) return { effect: "allow", rule: defaultRules()[0] };
    return evaluate({ subject: claims.subject, accountType: claims.accountType, roles: claims.roles, action, repository: "", service }, [
      ...defaultRules(),
      ...this.custom,
    ]);
  }
}

/** Why `claims` may not do `action` on `service`, in words the console shows as they are. */
function refusal(claims: Claims, action: AgentAction, service: string, d: Decision): string {
  const what = `${claims.username} may not ${VERB[action]} service ${service || "(all)"}`;
  if (d.rule) return `${what}: policy rule ${d.rule.id} (${d.rule.description || d.rule.effect}) denies ${action}`;
  return `${what}: no policy rule allows ${action} on it (an admin can add one: mcp policy create --effect allow --actions ${action} --services ${service || "'*'"})`;
}

export interface Access {
  /** Throws PermissionDenied naming what was missing, unless the caller may. */
  check(ctx: HandlerContext, action: AgentAction, service: string): void;
  /** Whether the caller may; for filtering lists and event streams. */
  may(ctx: HandlerContext, action: AgentAction, service: string): boolean;
  /** The caller's subject, for per-account limits ("" when authentication is off). */
  subjectOf(ctx: HandlerContext): string;
}

/** `policy` null: authentication is disabled and every call is allowed. */
export function agentAccess(policy: AgentPolicy | null): Access {
  const claimsOf = (ctx: HandlerContext) => ctx.values.get(callerKey);
  return {
    check(ctx, action, service) {
      const claims = claimsOf(ctx);
      if (!policy || !claims) return;
      const d = policy.decide(claims, action, service);
      if (d.effect !== "allow") throw new ConnectError(refusal(claims, action, service, d), Code.PermissionDenied);
    },
    may(ctx, action, service) {
      const claims = claimsOf(ctx);
      return !policy || !claims || policy.decide(claims, action, service).effect === "allow";
    },
    subjectOf: (ctx) => claimsOf(ctx)?.subject ?? "",
  };
}
