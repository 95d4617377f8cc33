// The enabled policy rules, fetched from mcr's PolicyService with the agent's own
// (system) account: what the agent enforces on its RPCs (rpc/access.ts).
import { Code, ConnectError, createClient } from "@connectrpc/connect";
import { createConnectTransport } from "@connectrpc/connect-node";
import type { AccountType } from "../../lib/auth/types.ts";
import type { Action, Effect, Rule } from "../../lib/policy/rules.ts";
import { PolicyService, type PolicyRule } from "../../proto/gen/mcr/v1/policy_pb.ts";
import type { McrSession } from "./mcr-session.ts";

function fromProto(p: PolicyRule): Rule {
  const r: Rule = { id: Number(p.id), priority: p.priority, description: p.description, effect: p.effect as Effect };
  if (p.actions.length) r.actions = p.actions as Action[];
  if (p.roles.length) r.roles = p.roles;
  if (p.accountTypes.length) r.accountTypes = p.accountTypes as AccountType[];
  if (p.subjectUuid) r.subjectUUID = p.subjectUuid;
  if (p.repositories.length) r.repositories = p.repositories;
  if (p.services.length) r.services = p.services;
  return r;
}

/** A fetcher of the enabled rules from `registryUrl` (https://host:port), with a token from `token()`. */
export function enabledRulesFrom(registryUrl: string, caPem: string | undefined, token: () => Promise<string>): () => Promise<Rule[]> {
  const transport = createConnectTransport({ baseUrl: registryUrl, httpVersion: "1.1", nodeOptions: caPem ? { ca: caPem } : {} });
  const client = createClient(PolicyService, transport);
  return async () => {
    const res = await client.listEnabledRules({}, { headers: { authorization: `Bearer ${await token()}` }, timeoutMs: 10_000 });
    return res.rules.map(fromProto);
  };
}

/** The enabled rules from mcr, asked with `session`'s token (a refused token is not asked with again). */
export function policyRulesFetcher(session: McrSession, registryUrl: string, caPem: string | undefined): () => Promise<Rule[]> {
  let last = "";
  const fetch = enabledRulesFrom(registryUrl, caPem, async () => (last = await session.token()));
  return async () => {
    try {
      return await fetch();
    } catch (err) {
      if (err instanceof ConnectError && err.code === Code.Unauthenticated) session.tokenRefused(last);
      throw err;
    }
  };
}
