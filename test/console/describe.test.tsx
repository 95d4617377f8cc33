// mcp describe and the TUI's describe screen against the agent's own Describe on the fake
// runtime (over an in-memory Connect transport): the sectioned plain text (container, image
// id, command, environment with the secrets masked, mounts, ports, labels), one component,
// --json's whole document, the console's exit codes for an unknown service or component and
// a refused read; i on the service screen (asked which of several components), scrolling,
// and :describe.
import assert from "node:assert/strict";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { after, afterEach, describe, test } from "node:test";
import { cleanup, render } from "ink-testing-library";
import { Code, ConnectError } from "@connectrpc/connect";
import { silentLogger } from "../../lib/log/logger.ts";
import { validateDefinition } from "../../lib/services/definition.ts";
import { agentService } from "../../agent/rpc/agent-service.ts";
import { SharedRuntime } from "../../agent/runtime/provider.ts";
import describeCommand from "../../console/commands/describe.ts";
import type { ConsoleError } from "../../console/output/errors.ts";
import { App } from "../../console/tui/app.tsx";
import { shellWords } from "../../console/views/describe.ts";
import { agentOn, removeAgents } from "../helpers/agent-service-fixture.ts";
import { FakeRuntime } from "../helpers/fake-runtime.ts";
import { ENTER, press, untilFrame } from "../helpers/ink-keys.ts";
import { commandContext, fixtureStore, health, removeFixtures, type AgentImpl } from "./tui-fixture.ts";

after(removeFixtures);
after(removeAgents);
afterEach(() => cleanup());

const SECRET = "hunter2-never-printed";
const SHOP_TOML = 'name = "shop"\nnode = "rift"\nversion = "v1"\n[[components]]\nname = "api"\n[[components]]\nname = "web"\n';

/** Node rift runs the agent's handlers on a fake podman with shop deployed (api: a route, a secret, a plain variable; web). */
async function platform(over: AgentImpl = {}) {
  const rt = new FakeRuntime();
  const a = await agentOn(rt, "aaaaaaaaaaaa", "");
  await a.deploy(
    validateDefinition({
      name: "shop",
      node: "rift",
      version: "v1",
      components: [
        {
          name: "api",
          cmd: ["sh", "-c", "while true; do sleep 5; done"],
          env: { SECRET_TOKEN: SECRET, GREETING: "hello world" },
          routes: [{ name: "rest", port: 8443 }],
        },
        { name: "web", cmd: ["httpd", "-f"] },
      ],
    }),
  );
  rt.containers.get("shop-api")!.info.ports = [{ hostIp: "127.0.0.1", hostPort: 20000, containerPort: 20000, protocol: "tcp" }];
  const impl = agentService({
    controller: a.controller,
    store: a.store,
    runtimes: new SharedRuntime(rt, {}),
    node: "rift",
    version: "test",
    log: silentLogger(),
  });
  const fx = fixtureStore({ rift: { ...(impl as AgentImpl), health, ...over } }, { shop: SHOP_TOML });
  const config = join(fx.dir, "mcp.toml");
  writeFileSync(config, "");
  return { ...fx, config, rt };
}

describe("mcp describe", () => {
  test("arguments quoted as a shell would take them back", () => {
    assert.equal(shellWords(["sh", "-c", "while true; do echo it's; done"]), `sh -c 'while true; do echo it'\\''s; done'`);
    assert.equal(shellWords(["sleep", "1000"]), "sleep 1000");
  });

  test("plain: the service, then each component's container, image id, command, masked environment, mounts, ports and labels", async () => {
    const p = await platform();
    const { ctx, stdout } = commandContext(p.config, "plain", p.deps);
    assert.equal(await describeCommand.run(ctx, ["shop"], {}), 0);
    const out = stdout();
    assert.match(out, /^shop v1 on rift$/m);
    assert.match(out, /^placement +none \(no SMEP placement on this node\)$/m);
    assert.match(out, /^component api$/m);
    assert.match(out, /^container +shop-api$/m);
    assert.match(out, new RegExp(`^id +${p.rt.containers.get("shop-api")!.info.id}$`, "m"));
    assert.match(out, /^state +running \(desired running\)$/m);
    assert.match(out, /^image +reg\.local\/shop:v1$/m);
    assert.match(out, /^image id +img-reg\.local\/shop:v1$/m);
    assert.match(out, /^image digest +sha256:[0-9a-f]{64}$/m);
    assert.match(out, /^command +sh -c 'while true; do sleep 5; done'$/m);
    assert.match(out, /^restart +unless-stopped; restarted 0 times$/m);
    assert.match(out, /^api: environment \(3, 1 masked; from the agent's env file of the container\)$/m);
    assert.match(out, /^SECRET_TOKEN +\*\*\*$/m);
    assert.match(out, /^GREETING +hello world$/m);
    assert.match(out, /^PORT +20000$/m);
    assert.match(out, /^api: ports\nHOST +CONTAINER +ROUTE\n127\.0\.0\.1:20000 +20000\/tcp +rest$/m);
    assert.match(out, /^api: mounts\nSOURCE +DESTINATION +MODE +TYPE +OPTIONS\n\S+\/srv\/shop +\/srv\/shop +rw +bind +rbind$/m);
    assert.match(out, /^mcp\.service +shop$/m);
    assert.match(out, /^component web$/m);
    assert.match(out, /^web: ports\nHOST +CONTAINER +ROUTE\nnone$/m);
    assert.ok(!out.includes(SECRET), "the secret's value is never printed");
  });

  test("one component; --json: the whole document, exit code null while running", async () => {
    const p = await platform();
    const plain = commandContext(p.config, "plain", p.deps);
    await describeCommand.run(plain.ctx, ["shop/web"], {});
    assert.match(plain.stdout(), /^component web$/m);
    assert.doesNotMatch(plain.stdout(), /component api/);
    const { ctx, stdout } = commandContext(p.config, "json", p.deps);
    assert.equal(await describeCommand.run(ctx, ["shop"], {}), 0);
    const doc = JSON.parse(stdout());
    assert.deepEqual([doc.node, doc.service, doc.version, doc.active, doc.placement, doc.notes], ["rift", "shop", "v1", true, null, []]);
    const api = doc.components.find((c: { component: string }) => c.component === "api");
    assert.deepEqual(
      [api.container, api.state, api.image, api.imageId, api.exitCode, api.maskedEnv, api.envSource, api.restartPolicy],
      ["shop-api", "running", "reg.local/shop:v1", "img-reg.local/shop:v1", null, 1, "env_file", "unless-stopped"],
    );
    assert.deepEqual(api.command, ["sh", "-c", "while true; do sleep 5; done"]);
    assert.deepEqual(api.env, [
      { name: "GREETING", value: "hello world", masked: false },
      { name: "PORT", value: "20000", masked: false },
      { name: "SECRET_TOKEN", value: "***", masked: true },
    ]);
    assert.deepEqual(api.ports, [{ hostIp: "127.0.0.1", hostPort: 20000, containerPort: 20000, protocol: "tcp", route: "rest" }]);
    assert.equal(api.labels["mcp.component"], "api");
    assert.ok(!stdout().includes(SECRET));
  });

  test("a stopped component's exit code; errors with the console's exit codes", async () => {
    const p = await platform();
    p.rt.kill("shop-web");
    const { ctx, stdout } = commandContext(p.config, "plain", p.deps);
    await describeCommand.run(ctx, ["shop/web"], {});
    assert.match(stdout(), /^state +exited \(exit code 137, desired running\)$/m);
    const fails = (args: string[], code: string, exit: number, re: RegExp) =>
      assert.rejects(describeCommand.run(commandContext(p.config, "json", p.deps).ctx, args, {}), (e: ConsoleError) => {
        assert.deepEqual([e.code, e.exitCode], [code, exit]);
        assert.match(e.message, re);
        return true;
      });
    await fails(["shop/db"], "not_found", 3, /node rift: service shop has no component db \(its components: api, web\)/);
    await fails(["nosuch"], "not_found", 3, /service nosuch/);
    await fails(["/api"], "usage", 2, /name a service/);
    const refused = await platform({
      describe: async () => {
        throw new ConnectError("alice may not read service shop: no policy rule allows agent:read on it", Code.PermissionDenied);
      },
    });
    await assert.rejects(describeCommand.run(commandContext(refused.config, "plain", refused.deps).ctx, ["shop"], {}), (e: ConsoleError) => {
      assert.deepEqual([e.code, e.exitCode], ["permission_denied", 5]);
      assert.match(e.message, /alice may not read service shop/);
      return true;
    });
  });
});

describe("the TUI's describe screen", () => {
  test("i on the service screen asks which component; the describe view scrolls; r reloads; esc back", async () => {
    const p = await platform();
    const ui = render(<App store={p.store} width={100} height={24} color={false} poll={false} initial={{ screen: "service", service: "shop" }} />);
    await untilFrame(ui.lastFrame, /api +running/);
    assert.match(ui.lastFrame()!, /i describe/);
    await press(ui.stdin, "i");
    await untilFrame(ui.lastFrame, /describe which component \(api, web; empty: all\): api/);
    await press(ui.stdin, ENTER);
    let frame = await untilFrame(ui.lastFrame, /component api/);
    assert.match(frame, /describe shop\/api/);
    assert.match(frame, /image id +img-reg\.local\/shop:v1/);
    assert.match(frame, /command +sh -c 'while true; do sleep 5; done'/);
    assert.match(frame, /\(1-\d+ of \d+ lines, ↑↓ scroll\)/);
    assert.doesNotMatch(frame, /component web/, "only the one asked for");
    // The environment is further down: G goes to the bottom.
    await press(ui.stdin, "G");
    frame = await untilFrame(ui.lastFrame, /SECRET_TOKEN +\*\*\*/);
    assert.match(frame, /mcp\.service +shop/);
    assert.ok(!frame.includes(SECRET));
    p.rt.kill("shop-api");
    await press(ui.stdin, "g", "r");
    await untilFrame(ui.lastFrame, /state +exited \(exit code 137, desired running\)/);
    await press(ui.stdin, "\x1b");
    await untilFrame(ui.lastFrame, /api +exited|api +running/);
  });

  test(":describe shop (every component) and an unknown component's error", async () => {
    const p = await platform();
    const ui = render(<App store={p.store} width={100} height={60} color={false} poll={false} />);
    await press(ui.stdin, ":", ..."describe shop", ENTER);
    const frame = await untilFrame(ui.lastFrame, /component web/);
    assert.match(frame, /component api/);
    await press(ui.stdin, ":", ..."describe shop/db", ENTER);
    await untilFrame(ui.lastFrame, /service shop has no component db/);
  });
});
