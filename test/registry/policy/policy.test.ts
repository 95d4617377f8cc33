// The policy model's cases (docs/security.md, "Policy rules"), plus path.Match semantics.
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { PolicyEngine } from "../../../registry/policy/engine.ts";
import { globMatch } from "../../../lib/policy/glob.ts";
import { defaultRules, evaluate, type PolicyInput, type Rule } from "../../../lib/policy/rules.ts";

const input = (over: Partial<PolicyInput> = {}): PolicyInput => ({
  subject: "u-1",
  accountType: "human",
  roles: ["user"],
  action: "registry:pull",
  repository: "team/app",
  ...over,
});
const rule = (over: Partial<Rule>): Rule => ({ id: 1, priority: 10, description: "", effect: "allow", ...over });
const D = defaultRules();

describe("evaluate (step 4.1)", () => {
  test("admin wildcard allows every action", () => {
    for (const action of ["registry:pull", "registry:push", "registry:delete", "registry:catalog", "policy:manage"] as const) {
      assert.equal(evaluate(input({ roles: ["admin"], action }), D).effect, "allow", action);
    }
  });
  test("a user is allowed content access by default", () => {
    assert.equal(evaluate(input(), D).rule?.id, -2);
  });
  test("a system account with no rules is denied (default deny)", () => {
    const d = evaluate(input({ accountType: "system", roles: [] }), D);
    assert.deepEqual(d, { effect: "deny" });
  });
  test("exact repository match, and no match elsewhere", () => {
    const rules = [rule({ subjectUUID: "svc", repositories: ["team/app"], actions: ["registry:push"] })];
    const svc = { subject: "svc", accountType: "system" as const, roles: [], action: "registry:push" as const };
    assert.equal(evaluate(input({ ...svc, repository: "team/app" }), rules).effect, "allow");
    assert.equal(evaluate(input({ ...svc, repository: "team/other" }), rules).effect, "deny");
  });
  test("glob match: production/* covers one level only", () => {
    const rules = [rule({ repositories: ["production/*"] })];
    assert.equal(evaluate(input({ repository: "production/api" }), rules).effect, "allow");
    assert.equal(evaluate(input({ repository: "production/api/v2" }), rules).effect, "deny");
    assert.equal(evaluate(input({ repository: "staging/api" }), rules).effect, "deny");
  });
  test("deny wins over allow, whatever their priorities", () => {
    const rules = [rule({ id: 1, priority: 1, effect: "allow" }), rule({ id: 2, priority: 50, effect: "deny", repositories: ["team/*"] })];
    assert.deepEqual(evaluate(input(), rules).rule?.id, 2);
    assert.equal(evaluate(input(), rules).effect, "deny");
  });
  test("priority orders the rules: the first matching allow is reported", () => {
    const rules = [rule({ id: 5, priority: 20 }), rule({ id: 6, priority: 3 })];
    assert.equal(evaluate(input(), rules).rule?.id, 6);
  });
  test("sorting is stable for equal priorities", () => {
    const rules = [rule({ id: 7, priority: 5 }), rule({ id: 8, priority: 5 })];
    assert.equal(evaluate(input(), rules).rule?.id, 7);
  });
  test("global operations (empty repository) match only rules without repositories", () => {
    const scoped = [rule({ actions: ["registry:catalog"], repositories: ["*"] })];
    assert.equal(evaluate(input({ action: "registry:catalog", repository: "" }), scoped).effect, "deny");
    const global = [rule({ actions: ["registry:catalog"] })];
    assert.equal(evaluate(input({ action: "registry:catalog", repository: "" }), global).effect, "allow");
  });
  test("multiple matching rules: all fields are ANDed", () => {
    const r = rule({ roles: ["user"], accountTypes: ["human"], actions: ["registry:pull"], repositories: ["team/*"], subjectUUID: "u-1" });
    assert.equal(evaluate(input(), [r]).effect, "allow");
    assert.equal(evaluate(input({ subject: "u-2" }), [r]).effect, "deny");
    assert.equal(evaluate(input({ accountType: "system" }), [r]).effect, "deny");
    assert.equal(evaluate(input({ action: "registry:push" }), [r]).effect, "deny");
    assert.equal(evaluate(input({ roles: ["guest"] }), [r]).effect, "deny");
  });
});

describe("built-in defaults (step 4.2)", () => {
  test("negative ids and priority 0", () => {
    assert.deepEqual(
      D.map((r) => [r.id, r.priority]),
      [
        [-1, 0],
        [-2, 0],
        [-3, 0],
        [-4, 0],
      ],
    );
  });
  test("agent actions: human users read every service; a services rule matches only agent actions on them", () => {
    const agentInput = (over: Partial<PolicyInput>) => input({ repository: "", service: "web", ...over });
    assert.equal(evaluate(agentInput({ action: "agent:read" }), D).effect, "allow");
    assert.equal(evaluate(agentInput({ action: "agent:deploy" }), D).effect, "deny");
    assert.equal(evaluate(agentInput({ action: "agent:read", accountType: "system" }), D).effect, "deny");
    const team = rule({ actions: ["agent:deploy"], services: ["team-*"] });
    assert.equal(evaluate(agentInput({ action: "agent:deploy", service: "team-web" }), [...D, team]).effect, "allow");
    assert.equal(evaluate(agentInput({ action: "agent:deploy", service: "db" }), [...D, team]).effect, "deny");
    assert.equal(
      evaluate(input({ action: "registry:pull", repository: "team-web" }), [rule({ effect: "deny", services: ["*"] })]).effect,
      "deny",
      "default deny: the services rule does not match a registry action",
    );
    assert.equal(
      evaluate(agentInput({ action: "agent:read" }), [rule({ repositories: ["*"] })]).effect,
      "deny",
      "a repositories rule never matches an agent action",
    );
  });
  test("user: pull/push/delete/catalog and version check allowed; policy:manage denied", () => {
    for (const action of ["registry:pull", "registry:push", "registry:delete", "registry:catalog", "registry:version_check"] as const) {
      assert.equal(
        evaluate(input({ action, repository: action === "registry:catalog" || action === "registry:version_check" ? "" : "x" }), D).effect,
        "allow",
        action,
      );
    }
    assert.equal(evaluate(input({ action: "policy:manage", repository: "" }), D).effect, "deny");
  });
  test("system accounts and guests get version_check only", () => {
    for (const who of [
      { accountType: "system" as const, roles: [] },
      { accountType: "human" as const, roles: ["guest"] },
    ]) {
      assert.equal(evaluate(input({ ...who, action: "registry:version_check", repository: "" }), D).effect, "allow");
      for (const action of ["registry:pull", "registry:push", "registry:delete"] as const) assert.equal(evaluate(input({ ...who, action }), D).effect, "deny");
      assert.equal(evaluate(input({ ...who, action: "registry:catalog", repository: "" }), D).effect, "deny");
    }
  });
});

describe("PolicyEngine (steps 4.3, 4.4)", () => {
  test("with only defaults; custom rules merge with them; reload picks up the source's enabled rules", async () => {
    let stored: Rule[] = [];
    const engine = new PolicyEngine({ enabledRules: async () => stored });
    const svc = input({ accountType: "system", roles: [], action: "registry:push" });
    assert.equal(engine.evaluate(svc).effect, "deny");
    stored = [rule({ accountTypes: ["system"], actions: ["registry:push"], repositories: ["team/*"] })];
    assert.equal(engine.evaluate(svc).effect, "deny", "not before reload");
    await engine.reload();
    assert.equal(engine.evaluate(svc).effect, "allow");
    assert.equal(engine.ruleCount, 5);
    stored = []; // the rule was disabled
    await engine.reload();
    assert.equal(engine.evaluate(svc).effect, "deny");
  });
  test("a guest is allowed what a rule allows it", () => {
    const engine = new PolicyEngine();
    engine.setRules([rule({ roles: ["guest"], actions: ["registry:pull"], repositories: ["public/*"] })]);
    assert.equal(engine.evaluate(input({ roles: ["guest"], repository: "public/x" })).effect, "allow");
    assert.equal(engine.evaluate(input({ roles: ["guest"], repository: "private/x" })).effect, "deny");
  });
  test("admins bypass deny rules", () => {
    const engine = new PolicyEngine();
    engine.setRules([rule({ effect: "deny" })]);
    assert.equal(engine.evaluate(input({ roles: ["admin"] })).effect, "allow");
    assert.equal(engine.evaluate(input()).effect, "deny");
  });
});

describe("path.Match globs", () => {
  const cases: [string, string, boolean][] = [
    ["abc", "abc", true],
    ["*", "abc", true],
    ["*c", "abc", true],
    ["a*", "a", true],
    ["a*/b", "abc/b", true],
    ["a*/b", "a/c/b", false],
    ["a*b*c*d*e*/f", "axbxcxdxe/f", true],
    ["ab[c]", "abc", true],
    ["ab[b-d]", "abc", true],
    ["ab[e-g]", "abc", false],
    ["ab[^c]", "abc", false],
    ["ab[^b-d]", "abe", true],
    ["ab[!c]", "ab!", true],
    ["[-]", "-", false],
    ["[x-]", "x", false],
    ["[a-b-c]", "a", false],
    ["\\", "a", false],
    ["[\\]a]", "]", true],
    ["a\\*b", "a*b", true],
    ["a\\*b", "axb", false],
    ["a?b", "a/b", false],
    ["a?b", "axb", true],
    ["a[", "a", false],
    ["[]a]", "]", false],
    ["*x", "xxx", true],
    ["team/*", "team/", true],
  ];
  for (const [p, s, want] of cases) test(`${p} vs ${s} → ${want}`, () => assert.equal(globMatch(p, s), want));
});
