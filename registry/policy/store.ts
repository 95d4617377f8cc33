// Custom policy rules in `policy_rules`: validated CRUD; every change reloads
// the engine and is audited.
import type { Kysely, Selectable } from "kysely";
import type { AuditLog } from "../audit/audit-log.ts";
import type { RegistryDatabase } from "../db/schema.ts";
import type { PolicyEngine, RuleSource } from "./engine.ts";
import { ACTIONS, type Action, type Rule } from "../../lib/policy/rules.ts";
import { compileGlob } from "../../lib/policy/glob.ts";

export interface StoredRule extends Rule {
  enabled: boolean;
  createdBy: string | null;
  createdAt: string;
  updatedAt: string;
}

/** What a caller may set; id and timestamps are the store's. */
export type RuleInput = Omit<Rule, "id"> & { enabled?: boolean };

export class RuleValidationError extends Error {
  override name = "RuleValidationError";
}

/** The matching fields and effect, as kept in rule_json. */
type RuleBody = Omit<Rule, "id" | "priority" | "description">;

export function validateRule(r: Partial<RuleInput>): void {
  const fail = (m: string): never => {
    throw new RuleValidationError(m);
  };
  if (!Number.isInteger(r.priority) || (r.priority as number) < 1) fail("priority must be an integer >= 1 (0 is reserved for the built-in rules)");
  if (r.effect !== "allow" && r.effect !== "deny") fail('effect must be "allow" or "deny"');
  if (typeof r.description !== "string") fail("description must be a string");
  for (const a of r.actions ?? []) if (!ACTIONS.includes(a as Action)) fail(`unknown action ${JSON.stringify(a)}: actions are ${ACTIONS.join(", ")}`);
  for (const t of r.accountTypes ?? []) if (t !== "human" && t !== "system") fail(`unknown account type ${JSON.stringify(t)}`);
  for (const g of r.repositories ?? []) if (typeof g !== "string" || compileGlob(g) === null) fail(`invalid repository glob ${JSON.stringify(g)}`);
  for (const g of r.services ?? []) if (typeof g !== "string" || compileGlob(g) === null) fail(`invalid service glob ${JSON.stringify(g)}`);
  if (r.services?.length && r.repositories?.length) fail("a rule names repositories (registry actions) or services (agent actions), not both");
  if (r.subjectUUID !== undefined && typeof r.subjectUUID !== "string") fail("subjectUUID must be a string");
}

function bodyOf(r: RuleInput): RuleBody {
  const b: RuleBody = { effect: r.effect };
  if (r.actions?.length) b.actions = r.actions;
  if (r.roles?.length) b.roles = r.roles;
  if (r.accountTypes?.length) b.accountTypes = r.accountTypes;
  if (r.subjectUUID) b.subjectUUID = r.subjectUUID;
  if (r.repositories?.length) b.repositories = r.repositories;
  if (r.services?.length) b.services = r.services;
  return b;
}

type Row = Selectable<RegistryDatabase["policy_rules"]>;
const toRule = (row: Row): StoredRule => ({
  ...(JSON.parse(row.rule_json) as RuleBody),
  id: row.id,
  priority: row.priority,
  description: row.description,
  enabled: row.enabled !== 0,
  createdBy: row.created_by,
  createdAt: row.created_at,
  updatedAt: row.updated_at,
});

export class PolicyStore implements RuleSource {
  constructor(
    private readonly db: Kysely<RegistryDatabase>,
    private readonly audit: AuditLog,
    private engine?: PolicyEngine,
  ) {}

  attach(engine: PolicyEngine): void {
    this.engine = engine;
  }

  async enabledRules(): Promise<Rule[]> {
    const rows = await this.db.selectFrom("policy_rules").selectAll().where("enabled", "=", 1).orderBy("priority").orderBy("id").execute();
    return rows.map(toRule);
  }

  async list(): Promise<StoredRule[]> {
    return (await this.db.selectFrom("policy_rules").selectAll().orderBy("priority").orderBy("id").execute()).map(toRule);
  }

  async get(id: number): Promise<StoredRule | undefined> {
    const row = await this.db.selectFrom("policy_rules").selectAll().where("id", "=", id).executeTakeFirst();
    return row && toRule(row);
  }

  async create(input: RuleInput, actor: string): Promise<StoredRule> {
    validateRule(input);
    const now = new Date().toISOString();
    // RETURNING, not insertId: PostgreSQL has no last-insert id (both dialects support it).
    const res = await this.db
      .insertInto("policy_rules")
      .values({
        priority: input.priority,
        description: input.description,
        rule_json: JSON.stringify(bodyOf(input)),
        enabled: input.enabled === false ? 0 : 1,
        created_by: actor,
        updated_at: now,
      })
      .returning("id")
      .executeTakeFirstOrThrow();
    const rule = (await this.get(Number(res.id)))!;
    this.audit.record({ type: "policy_rule_created", actor, details: { rule_id: String(rule.id), effect: rule.effect } });
    await this.engine?.reload();
    return rule;
  }

  /** Updates priority, enabled and description, or the whole rule when `effect` is given. */
  async update(id: number, patch: Partial<RuleInput>, actor: string): Promise<StoredRule | undefined> {
    const current = await this.get(id);
    if (!current) return undefined;
    const merged: RuleInput = { ...current, ...patch };
    validateRule(merged);
    await this.db
      .updateTable("policy_rules")
      .set({
        priority: merged.priority,
        description: merged.description,
        enabled: merged.enabled === false ? 0 : 1,
        rule_json: JSON.stringify(bodyOf(merged)),
        updated_at: new Date().toISOString(),
      })
      .where("id", "=", id)
      .execute();
    this.audit.record({ type: "policy_rule_updated", actor, details: { rule_id: String(id) } });
    await this.engine?.reload();
    return this.get(id);
  }

  async delete(id: number, actor: string): Promise<boolean> {
    const res = await this.db.deleteFrom("policy_rules").where("id", "=", id).executeTakeFirst();
    if (Number(res.numDeletedRows) === 0) return false;
    this.audit.record({ type: "policy_rule_deleted", actor, details: { rule_id: String(id) } });
    await this.engine?.reload();
    return true;
  }
}
