// A deploy whose images cannot all be had stops before it starts: before any build and
// before the agent is asked, saying which image each component needs and why; a
// [build.images] entry no component runs is a warning (stderr under --json and plain text).
import assert from "node:assert/strict";
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { after, describe, test } from "node:test";
import { DeployPhase } from "../../proto/gen/mcp/agent/v1/agent_pb.ts";
import type { BuildSpec } from "../../console/clients/podman.ts";
import deployCommand from "../../console/commands/deploy.ts";
import type { ConsoleError } from "../../console/output/errors.ts";
import { commandContext, fixtureStore, health, removeFixtures } from "./tui-fixture.ts";

after(removeFixtures);

const NCNOISY = 'name = "ncnoisy"\nnode = "rift"\nversion = "v1"\n[build.images]\nncnoisy = "Containerfile"\n[[components]]\nname = "gen"\n';
const TWO = 'name = "two"\nnode = "rift"\nversion = "v1"\n[build.images]\ntwo = "Containerfile"\n[[components]]\nname = "api"\n[[components]]\nname = "web"\n';

function setup(definitions: Record<string, string>) {
  const deploys: string[] = [];
  const built: BuildSpec[] = [];
  const fixture = fixtureStore(
    {
      rift: {
        health,
        async *deploy(req) {
          deploys.push(req.service);
          yield { component: "", phase: DeployPhase.DONE, message: "deployed", container: "", image: "" };
        },
      },
    },
    definitions,
    {
      registry: () => ({ manifestExists: async () => false, close: () => undefined }),
      builder: () => ({ buildAndPush: async (spec) => void built.push(spec) }),
    },
  );
  for (const name of Object.keys(definitions)) {
    mkdirSync(join(fixture.dir, "ws", name));
    writeFileSync(join(fixture.dir, "ws", name, "Containerfile"), "FROM scratch\n");
  }
  return { ...fixture, deploys, built };
}

describe("deploy: images that cannot be had", () => {
  test("an image with no [build.images] entry stops the deploy before the agent is asked; the message says which component needs which image and why", async () => {
    const { store, deploys, built } = setup({ ncnoisy: NCNOISY });
    await assert.rejects(store.getState().deploy("ncnoisy"), (e: ConsoleError) => {
      assert.equal(e.code, "not_found");
      assert.match(e.message, /^not deploying: mcr\.test:8443\/ncnoisy-gen:v1 is not in the registry and cannot be built/);
      assert.match(e.message, /component gen runs image "ncnoisy-gen" \(a component without image = runs <service>-<component>, ncnoisy-gen\)/);
      assert.match(e.message, /has no \[build\.images\] entry "ncnoisy-gen" \(its entries: "ncnoisy"\)/);
      return true;
    });
    assert.deepEqual(deploys, []);
    assert.deepEqual(built, []);
    const s = store.getState();
    assert.equal(s.deployment!.state, "failed");
    assert.equal(s.images["mcr.test:8443/ncnoisy-gen:v1"]!.phase, "cannot_build");
    assert.deepEqual(
      s.buildWarnings.map((w) => w.replace(/^.*: \[/, "[")),
      ['[build.images] entry "ncnoisy" is run by no component (they run "ncnoisy-gen")'],
    );
  });

  test("one image that cannot be built stops the deploy before the others are built", async () => {
    const { store, deploys, built } = setup({ two: TWO });
    await assert.rejects(store.getState().deploy("two"), /component web runs image "two-web"/);
    assert.deepEqual(built, [], "two (buildable) is not built when two-web cannot be");
    assert.deepEqual(deploys, []);
  });

  test("mcp deploy --json: no deploy record, the warning on stderr once", async () => {
    const { dir, deps } = setup({ ncnoisy: NCNOISY });
    const config = join(dir, "mcp.toml");
    writeFileSync(config, '[[nodes]]\nname = "rift"\nurl = "https://rift.test:9444"\n');
    const { ctx, stdout, stderr } = commandContext(config, "json", deps);
    await assert.rejects(deployCommand.run(ctx, ["ncnoisy"], {}), (e: ConsoleError) => e.code === "not_found");
    assert.equal(stderr().match(/warning: .*\[build\.images\] entry "ncnoisy" is run by no component/g)?.length, 1, stderr());
    assert.doesNotMatch(stdout(), /"type":"deploy"/);
  });
});
