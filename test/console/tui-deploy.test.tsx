// The TUI's deploy screen: `:deploy NAME` asks first as the d key does; a deploy whose image
// cannot be built is refused before the agent is asked; a deploy opened after another one
// shows only its own rows.
import assert from "node:assert/strict";
import { after, afterEach, describe, test } from "node:test";
import { cleanup, render } from "ink-testing-library";
import { DeployPhase } from "../../proto/gen/mcp/agent/v1/agent_pb.ts";
import { App } from "../../console/tui/app.tsx";
import { ENTER, ESC, press, untilFrame } from "../helpers/ink-keys.ts";
import { fixtureStore, health, removeFixtures, SHOP } from "./tui-fixture.ts";

after(removeFixtures);
afterEach(() => cleanup());

const NCNOISY = 'name = "ncnoisy"\nnode = "rift"\nversion = "v1"\n[build.images]\nncnoisy = "Containerfile"\n[[components]]\nname = "gen"\n';

function app() {
  const deploys: string[] = [];
  const { store } = fixtureStore(
    {
      rift: {
        health,
        async *deploy(req) {
          deploys.push(req.service);
          for (const c of ["api", "web"])
            yield { component: c, phase: DeployPhase.RUNNING, message: `running ${c}`, container: `shop-${c}`, image: `mcr.test:8443/shop-${c}:v1` };
          yield { component: "", phase: DeployPhase.DONE, message: "deployed", container: "", image: "" };
        },
      },
    },
    { shop: SHOP, ncnoisy: NCNOISY },
    { registry: () => ({ manifestExists: async (repo) => repo.startsWith("shop"), close: () => undefined }) },
  );
  const ui = render(<App store={store} width={120} height={24} color={false} poll={false} />);
  return { ui, deploys };
}

describe("TUI deploy", () => {
  test(":deploy NAME asks y/N first: n deploys nothing, y deploys", async () => {
    const { ui, deploys } = app();
    await press(ui.stdin, ":", ..."deploy shop", ENTER);
    await untilFrame(ui.lastFrame, /Deploy shop\? \[y\/N\]/);
    await press(ui.stdin, "n");
    await untilFrame(ui.lastFrame, /^mcp services(?![\s\S]*\[y\/N\])/);
    assert.deepEqual(deploys, []);
    await press(ui.stdin, ":", ..."deploy shop", ENTER, "y");
    await untilFrame(ui.lastFrame, /deployed shop/);
    assert.deepEqual(deploys, ["shop"]);
  });

  test("an image that cannot be built: refused before the agent is asked, saying which image the component needs and why; the unused entry is a warning", async () => {
    const { ui, deploys } = app();
    await press(ui.stdin, ":", ..."deploy ncnoisy", ENTER, "y");
    const f = await untilFrame(ui.lastFrame, /not deploying: /);
    assert.match(f, /cannot_build/);
    assert.match(f, /component gen runs image\s+"ncnoisy-gen"/);
    assert.match(f, /warning: .*entry "ncnoisy" is run by no\s+component/);
    assert.deepEqual(deploys, []);
  });

  test("a deploy opened after another shows its own error, not the earlier deploy's rows", async () => {
    const { ui } = app();
    await press(ui.stdin, ":", ..."deploy shop", ENTER, "y");
    await untilFrame(ui.lastFrame, /deploy shop on rift[\s\S]*web +running/);
    await press(ui.stdin, ESC, ":", ..."deploy nope", ENTER, "y");
    const f = await untilFrame(ui.lastFrame, /mcp deploy nope[\s\S]*no service definition/);
    assert.doesNotMatch(f, /deploy shop on rift/);
    assert.doesNotMatch(f, /web +running/);
  });
});
