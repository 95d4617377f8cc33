// Releases in the console: mcp history (table and --json with each release's definition),
// mcp rollback (refused off a terminal without --yes, the rollback's progress, the release it
// put back named; a bad release number is a usage error) and the TUI's history screen (h on
// a service, R asks first, then the deploy screen shows the rollback).
import assert from "node:assert/strict";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { after, afterEach, describe, test } from "node:test";
import { cleanup, render } from "ink-testing-library";
import { DeployPhase } from "../../proto/gen/mcp/agent/v1/agent_pb.ts";
import type { RollbackRequest } from "../../proto/gen/mcp/agent/v1/releases_pb.ts";
import history from "../../console/commands/history.ts";
import rollback from "../../console/commands/rollback.ts";
import { App } from "../../console/tui/app.tsx";
import { press, untilFrame } from "../helpers/ink-keys.ts";
import { type AgentImpl, commandContext, fixtureStore, health, removeFixtures, SHOP } from "./tui-fixture.ts";

after(removeFixtures);
afterEach(() => cleanup());

const DIGEST = (n: number) => `mcr.test:8443/shop@sha256:${String(n).repeat(64).slice(0, 64)}`;
const release = (number: number, version: string, result = "deployed", rollbackOf?: number) => ({
  number,
  time: new Date(Date.now() - (10 - number) * 60_000).toISOString(),
  actor: "ada",
  version,
  images: [{ component: "api", image: `mcr.test:8443/shop:${version}`, digest: DIGEST(number) }],
  result,
  message: result === "failed" ? "api exited (code 1) within 1s" : "",
  definitionJson: JSON.stringify({ name: "shop", version }),
  ...(rollbackOf ? { rollbackOf } : {}),
});

function platform() {
  const rollbacks: RollbackRequest[] = [];
  const releases = [release(3, "v3", "failed"), release(2, "v2"), release(1, "v1")];
  const rift: AgentImpl = {
    health,
    list: async () => ({ containers: [] }),
    status: async () => ({ service: "shop", version: "v2", active: true, components: [] }),
    history: async () => ({ service: "shop", releases }),
    async *rollback(req) {
      rollbacks.push(req);
      const to = releases.find((r) => r.number === (req.release || 1))!;
      yield { msg: { case: "release" as const, value: to } };
      yield { msg: { case: "progress" as const, value: { component: "api", phase: DeployPhase.PULLING, message: "pulling", image: to.images[0]!.digest } } };
      yield { msg: { case: "progress" as const, value: { component: "api", phase: DeployPhase.RUNNING, message: "running", image: to.images[0]!.digest } } };
      yield { msg: { case: "progress" as const, value: { component: "", phase: DeployPhase.DONE, message: "shop rolled back" } } };
    },
  };
  const fx = fixtureStore({ rift }, { shop: SHOP });
  const config = join(fx.dir, "mcp.toml");
  writeFileSync(config, "");
  return { ...fx, config, rollbacks };
}

describe("mcp history and mcp rollback", () => {
  test("history: newest first, who, version, digest, result; a failure says why", async () => {
    const { deps, config } = platform();
    const { ctx, stdout } = commandContext(config, "plain", deps);
    assert.equal(await history.run(ctx, ["shop"], {}), 0);
    const out = stdout();
    assert.match(out, /^RELEASE +AGE +BY +VERSION +RESULT +IMAGES +NOTE$/m);
    assert.match(out, /^3 +\S+ ago +ada +v3 +failed +api=mcr\.test:8443\/shop@333333333333 +api exited \(code 1\) within 1s$/m);
    assert.match(out, /^1 +\S+ ago +ada +v1 +deployed +api=mcr\.test:8443\/shop@111111111111$/m);
    assert.ok(out.indexOf("\n3 ") < out.indexOf("\n1 "), "newest first");
  });

  test("history --json: every field, the definition as an object", async () => {
    const { deps, config } = platform();
    const { ctx, stdout } = commandContext(config, "json", deps);
    await history.run(ctx, ["shop"], {});
    const doc = JSON.parse(stdout());
    assert.equal(doc.service, "shop");
    assert.deepEqual(
      doc.releases.map((r: { number: number; result: string }) => [r.number, r.result]),
      [
        [3, "failed"],
        [2, "deployed"],
        [1, "deployed"],
      ],
    );
    assert.deepEqual(doc.releases[1].definition, { name: "shop", version: "v2" });
    assert.equal(doc.releases[1].images[0].digest, DIGEST(2));
    assert.equal(doc.releases[1].definitionJson, undefined);
  });

  test("rollback off a terminal needs --yes; with it, the progress and the release put back", async () => {
    const { deps, config, rollbacks } = platform();
    const plain = commandContext(config, "plain", deps);
    await assert.rejects(rollback.run(plain.ctx, ["shop"], { yes: false }), /rollback changes what runs: confirm with --yes/);
    assert.equal(rollbacks.length, 0);
    await assert.rejects(rollback.run(plain.ctx, ["shop", "two"], { yes: true }), /release must be a release number/);
    const json = commandContext(config, "json", deps);
    assert.equal(await rollback.run(json.ctx, ["shop", "1"], { yes: true }), 0);
    assert.equal(rollbacks[0]!.release, 1);
    const lines = json
      .stdout()
      .trim()
      .split("\n")
      .map((l) => JSON.parse(l));
    assert.ok(
      lines.some((l) => l.component === "api" && l.phase === "running" && l.image === DIGEST(1)),
      json.stdout(),
    );
  });

  test("TUI: h opens the history, R asks, then the deploy screen shows the rollback", async () => {
    const { store, rollbacks } = platform();
    const ui = render(<App store={store} width={140} height={24} color={false} poll={false} initial={{ screen: "service", service: "shop" }} />);
    await untilFrame(ui.lastFrame, /shop/);
    await press(ui.stdin, "h");
    let f = await untilFrame(ui.lastFrame, /releases of shop/);
    assert.match(f, /3 +\S+ ago +ada +v3 +failed/);
    await press(ui.stdin, "R");
    await untilFrame(ui.lastFrame, /release 3 failed when it was deployed/);
    await press(ui.stdin, "j", "R");
    await untilFrame(ui.lastFrame, /Roll shop back to release 2 \(v2\)\? \[y\/N\]/);
    await press(ui.stdin, "n");
    await new Promise((r) => setTimeout(r, 100));
    assert.equal(rollbacks.length, 0, "n rolls nothing back");
    await press(ui.stdin, "R", "y");
    f = await untilFrame(ui.lastFrame, /rollback of shop to release 2 on rift/);
    await untilFrame(ui.lastFrame, /api +running/);
    assert.equal(rollbacks[0]!.release, 2);
  });

  test("TUI: the history sorts by its columns (N twice: oldest release first), and R rolls back the row it shows selected", async () => {
    const { store, rollbacks } = platform();
    const ui = render(<App store={store} width={140} height={24} color={false} poll={false} initial={{ screen: "history", service: "shop" }} />);
    await untilFrame(ui.lastFrame, /releases of shop/);
    await press(ui.stdin, "N");
    await untilFrame(ui.lastFrame, /RELEASE ?▼/);
    await press(ui.stdin, "N");
    const f = await untilFrame(ui.lastFrame, /RELEASE ?▲/);
    const order = [...f.matchAll(/^ *(\d) +\S+ ago/gm)].map((m) => Number(m[1]));
    assert.deepEqual(order, [1, 2, 3]);
    assert.match(f, /N\/A\/B\/V\/S < > sort/, "the footer says the letters");
    await press(ui.stdin, "j", "R", "y");
    await untilFrame(ui.lastFrame, /rollback of shop to release 2 on rift/);
    assert.equal(rollbacks[0]!.release, 2, "the second row of the sorted table: release 2");
  });
});
