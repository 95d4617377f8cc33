// The Policies screen's `n` line: targets are repository globs, or service globs
// of agent rules written `service:GLOB`.
import assert from "node:assert/strict";
import { test } from "node:test";
import { parseRule } from "../../console/screens/policies.tsx";

test("a rule line with repositories, services, * and a description; bad lines are null", () => {
  assert.deepEqual(parseRule("deny registry:push team/* frozen for now"), {
    priority: 100,
    description: "frozen for now",
    effect: "deny",
    actions: ["registry:push"],
    roles: [],
    accountTypes: [],
    subjectUuid: "",
    repositories: ["team/*"],
    services: [],
    enabled: true,
  });
  const agent = parseRule("allow agent:deploy,agent:read service:team-*,service:web team");
  assert.deepEqual([agent?.actions, agent?.services, agent?.repositories], [["agent:deploy", "agent:read"], ["team-*", "web"], []]);
  assert.deepEqual(parseRule("allow * *")?.actions, []);
  assert.equal(parseRule("permit registry:pull x"), null);
  assert.equal(parseRule("allow"), null);
});
