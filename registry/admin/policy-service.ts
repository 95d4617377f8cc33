// PolicyService: CRUD on custom rules, shared with the engine through PolicyStore.
import { Code, ConnectError, type HandlerContext, type ServiceImpl } from "@connectrpc/connect";
import { create } from "@bufbuild/protobuf";
import { PolicyRuleSchema, type PolicyService, type PolicyRule } from "../../proto/gen/mcr/v1/policy_pb.ts";
import { RuleValidationError, type PolicyStore, type RuleInput, type StoredRule } from "../policy/store.ts";
import type { AccountType } from "../../lib/auth/types.ts";
import type { Action, Effect } from "../../lib/policy/rules.ts";
import { callerKey } from "./interceptor.ts";

export function toProtoRule(r: StoredRule): PolicyRule {
  return create(PolicyRuleSchema, {
    id: BigInt(r.id),
    priority: r.priority,
    description: r.description,
    effect: r.effect,
    actions: r.actions ?? [],
    roles: r.roles ?? [],
    accountTypes: r.accountTypes ?? [],
    subjectUuid: r.subjectUUID ?? "",
    repositories: r.repositories ?? [],
    services: r.services ?? [],
    enabled: r.enabled,
    createdBy: r.createdBy ?? "",
    createdAt: r.createdAt,
    updatedAt: r.updatedAt,
  });
}

function fromProtoRule(p: PolicyRule | undefined): RuleInput {
  if (!p) throw new ConnectError("rule is required", Code.InvalidArgument);
  return {
    priority: p.priority,
    description: p.description,
    effect: p.effect as Effect,
    actions: p.actions as Action[],
    roles: p.roles,
    accountTypes: p.accountTypes as AccountType[],
    subjectUUID: p.subjectUuid || undefined,
    repositories: p.repositories,
    services: p.services,
    enabled: p.enabled ?? true,
  };
}

const actor = (ctx: HandlerContext) => ctx.values.get(callerKey)?.subject ?? "anonymous";

async function guard<T>(fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (err) {
    if (err instanceof RuleValidationError) throw new ConnectError(err.message, Code.InvalidArgument);
    throw err;
  }
}

export function policyService(store: PolicyStore): ServiceImpl<typeof PolicyService> {
  const found = (rule: StoredRule | undefined, id: bigint) => {
    if (!rule) throw new ConnectError(`no policy rule ${id}`, Code.NotFound);
    return { rule: toProtoRule(rule) };
  };
  return {
    async listRules() {
      return { rules: (await store.list()).map(toProtoRule) };
    },
    async listEnabledRules(_req, ctx) {
      // What the agents enforce: their own (system) accounts fetch it, as do admins.
      const caller = ctx.values.get(callerKey);
      if (caller && caller.accountType !== "system" && !caller.roles.includes("admin")) {
        throw new ConnectError(`${caller.username} may not list the enabled rules (admins and system accounts only)`, Code.PermissionDenied);
      }
      return { rules: (await store.list()).filter((r) => r.enabled).map(toProtoRule) };
    },
    async getRule(req) {
      return found(await store.get(Number(req.id)), req.id);
    },
    async createRule(req, ctx) {
      return guard(async () => ({ rule: toProtoRule(await store.create(fromProtoRule(req.rule), actor(ctx))) }));
    },
    async updateRule(req, ctx) {
      const patch: Partial<RuleInput> = {};
      if (req.priority !== undefined) patch.priority = req.priority;
      if (req.enabled !== undefined) patch.enabled = req.enabled;
      if (req.description !== undefined) patch.description = req.description;
      return guard(async () => found(await store.update(Number(req.id), patch, actor(ctx)), req.id));
    },
    async deleteRule(req, ctx) {
      if (!(await store.delete(Number(req.id), actor(ctx)))) throw new ConnectError(`no policy rule ${req.id}`, Code.NotFound);
      return {};
    },
  };
}
