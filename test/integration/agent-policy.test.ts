// The agent applies the platform's policy, fetched from the real mcr: the
// agents' own pull-only (system) account reads no service; a human user reads
// but deploys only where a rule lets it; a deny rule is named in the refusal;
// 50 Events streams share one podman subscription; an account's follows are
// capped.
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { Code, ConnectError, type Client } from "@connectrpc/connect";
import { connect as h2Connect } from "node:http2";
import type { AgentService, ServiceDefinition } from "../../proto/gen/mcp/agent/v1/agent_pb.ts";
import { PolicyService } from "../../proto/gen/mcr/v1/policy_pb.ts";
import type { AgentProcess } from "../helpers/agent-process.ts";
import { RegistryClient } from "../helpers/https-client.ts";
import { addAccount, adminClient, bearer, login } from "../helpers/identity.ts";
import type { McrHome, McrProcess } from "../helpers/mcr-process.ts";
import { startPlatform, type TestPlatform } from "../helpers/platform.ts";
import { until } from "../helpers/wait.ts";

const def = (name: string): ServiceDefinition =>
  ({ name, node: "node1", version: "v1", components: [{ name: "api", image: "localhost/policy-test:1" }] }) as unknown as ServiceDefinition;

const refused = (code: Code, re: RegExp) => (e: unknown) => e instanceof ConnectError && e.code === code && re.test(e.rawMessage);

describe("the agent's policy, from the registry", () => {
  let platform: TestPlatform;
  let mcrHome: McrHome;
  let mcr: McrProcess;
  let agent: AgentProcess;
  let client: Client<typeof AgentService>;
  let admin: ReturnType<typeof bearer>;
  let alice: ReturnType<typeof bearer>;
  let agentAccount: ReturnType<typeof bearer>;
  let registryAdmin: string;

  before(async () => {
    let alicePassword = "";
    platform = await startPlatform({
      agentAccount: { username: "agent-pt", type: "system", roles: ["user"] },
      beforeMcr: async (home) => void (alicePassword = await addAccount(home, "alice", "human", ["user"])),
      agentEnv: { MCP_AGENT_AUTH_POLICY_REFRESH: "300ms", MCP_AGENT_SERVER_MAX_STREAMS_PER_ACCOUNT: "50" },
    });
    ({ mcrHome, mcr, agent } = platform);
    const rc = new RegistryClient(mcr.url, mcrHome.caPem);
    admin = bearer(platform.agentAdminToken);
    alice = bearer(await login(rc, "alice", alicePassword, "mcp-agent"));
    agentAccount = bearer(await login(rc, "agent-pt", readFileSync(join(platform.agentHome.dir, "registry.password"), "utf8"), "mcp-agent"));
    registryAdmin = platform.adminToken;
    client = platform.agentClient();
    await client.sync({ services: [def("team-web"), def("payments"), def("other")] }, admin);
  });

  after(() => platform?.stop());

  test("the agents' own pull-only account reads no service", async () => {
    await assert.rejects(
      client.status({ service: "team-web" }, agentAccount),
      refused(Code.PermissionDenied, /agent-pt may not read service team-web: no policy rule allows agent:read/),
    );
    const logs = client.logs({ service: "team-web" }, agentAccount);
    await assert.rejects(
      (async () => {
        for await (const _ of logs);
      })(),
      refused(Code.PermissionDenied, /may not read service team-web/),
    );
    const events = client.events({ service: "payments" }, agentAccount);
    await assert.rejects(
      (async () => {
        for await (const _ of events);
      })(),
      refused(Code.PermissionDenied, /may not read service payments/),
    );
    // Every service's events: it may read none of them, so the stream is refused, not left empty.
    const all = client.events({}, agentAccount);
    await assert.rejects(
      (async () => {
        for await (const _ of all);
      })(),
      refused(Code.PermissionDenied, /agent-pt may not read service/),
    );
  });

  test("a user reads but deploys only where a rule allows it; a deny rule is named", async () => {
    assert.equal((await client.status({ service: "team-web" }, alice)).service, "team-web");
    await assert.rejects(
      client.sync({ services: [def("team-web")] }, alice),
      refused(Code.PermissionDenied, /alice may not deploy to service team-web: no policy rule allows agent:deploy/),
    );
    const policy = adminClient(PolicyService, mcr.url, mcrHome.caPem);
    await policy.createRule(
      { rule: { priority: 10, description: "team deploys", effect: "allow", actions: ["agent:deploy"], roles: ["user"], services: ["team-*"] } as never },
      bearer(registryAdmin),
    );
    const deny = await policy.createRule(
      { rule: { priority: 10, description: "payments is private", effect: "deny", actions: ["agent:read"], roles: ["user"], services: ["payments"] } as never },
      bearer(registryAdmin),
    );
    // The agent fetches the rules every 300 ms.
    await until(
      "the agent has the new rules",
      async () => ((await client.sync({ services: [def("team-web")] }, alice).catch(() => undefined)) ? true : undefined),
      10_000,
    );
    // Both rules were created before the wait, but a fetch may fall between the two: wait for the deny rule too.
    await until(
      "the agent has the deny rule",
      async () =>
        (await client.status({ service: "payments" }, alice).then(
          () => false,
          () => true,
        ))
          ? true
          : undefined,
      10_000,
    );
    await assert.rejects(client.stop({ service: "other" }, alice), refused(Code.PermissionDenied, /alice may not deploy to service other/));
    await assert.rejects(
      client.status({ service: "payments" }, alice),
      refused(Code.PermissionDenied, new RegExp(`policy rule ${deny.rule!.id} \\(payments is private\\) denies agent:read`)),
    );
    assert.equal((await client.status({ service: "payments" }, admin)).service, "payments");
  });

  test("50 Events streams on one connection share one podman subscription; the 51st of an account is refused", async () => {
    // The agent's podman children: its API service only (no podman process per stream).
    const podmanChildren = () =>
      execFileSync("sh", ["-c", `pgrep -a -P ${agent.child.pid} podman || true`])
        .toString()
        .trim()
        .split("\n")
        .filter(Boolean);
    const opened = () => agent.logs().match(/"msg":"podman event subscription opened"/g)?.length ?? 0;
    // The drift watch holds the subscription from the start.
    await until("the agent's podman event subscription", async () => (opened() > 0 ? true : undefined), 10_000);
    const close = new AbortController();
    const reached = new Set<number>(); // the streams an event reached
    for (let i = 0; i < 50; i++) {
      void (async () => {
        for await (const _ of client.events({}, { ...admin, signal: close.signal })) reached.add(i);
      })().catch(() => undefined);
    }
    try {
      // Once the agent holds all 50 (a 51st asked earlier may still be taken: it gives up after 300 ms).
      const extra = async () => {
        try {
          for await (const _ of client.events({}, { ...admin, timeoutMs: 300 }));
        } catch (e) {
          return refused(Code.ResourceExhausted, /50 streams open.*max_streams_per_account/)(e) ? true : undefined;
        }
      };
      await until("the 51st stream refused", extra, 10_000, 50);
      // A deploy's events reach all 50 streams through the one subscription.
      await platform.pm.importBusybox("localhost/policy-test:1");
      const box = { ...def("team-web"), components: [{ name: "api", image: "localhost/policy-test:1", cmd: ["sleep", "100000"] }] };
      for await (const _ of client.deploy({ service: "team-web", definition: box as unknown as ServiceDefinition }, admin));
      await until("events on all 50 streams", async () => (reached.size === 50 ? true : undefined), 15_000);
      assert.equal(opened(), 1, "one podman subscription for the drift watch and 50 streams");
      const children = podmanChildren();
      assert.equal(children.length, 1, children.join("\n"));
      assert.match(children[0]!, /podman system service/);
    } finally {
      close.abort();
    }
  });
});
