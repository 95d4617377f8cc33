// The policy engine the registry consults on every request: the built-in
// defaults plus the enabled rules from `policy_rules`, cached in memory and
// reloaded whenever a rule changes.
import { defaultRules, evaluate, type Decision, type PolicyInput, type Rule } from "../../lib/policy/rules.ts";

export interface RuleSource {
  enabledRules(): Promise<Rule[]>;
}

export class PolicyEngine {
  private rules: Rule[] = defaultRules();

  constructor(private readonly source?: RuleSource) {}

  /** Replaces the custom rules (the defaults are always kept). */
  setRules(custom: Rule[]): void {
    this.rules = [...defaultRules(), ...custom];
  }

  async reload(): Promise<void> {
    if (this.source) this.setRules(await this.source.enabledRules());
  }

  /** Admins bypass policy (docs/security.md, "Roles"); everyone else is evaluated. */
  evaluate(input: PolicyInput): Decision {
    if (input.roles.includes("admin")) return { effect: "allow", rule: this.rules[0] };
    return evaluate(input, this.rules);
  }

  get ruleCount(): number {
    return this.rules.length;
  }
}
