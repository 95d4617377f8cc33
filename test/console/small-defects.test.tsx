// Small ones: the remove table has no empty COMPONENT column; the README's platform home
// follows XDG_DATA_HOME as `mcp up` does; counts read "1 tag", not "1 tags".
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { readFileSync, writeFileSync } from "node:fs";
import { homedir } from "node:os";
import { join } from "node:path";
import { after, afterEach, describe, test } from "node:test";
import { cleanup, render } from "ink-testing-library";
import removeCommand from "../../console/commands/remove.ts";
import { defaultPlatformHome } from "../../console/platform/paths.ts";
import { App } from "../../console/tui/app.tsx";
import { count } from "../../console/views/format.ts";
import { DOWN, press, untilFrame } from "../helpers/ink-keys.ts";
import { REPO_ROOT } from "../helpers/mcr-process.ts";
import { fakeMcr, mcrStore } from "./mcr-fake.ts";
import { commandContext, fixtureStore, health, removeFixtures } from "./tui-fixture.ts";

after(removeFixtures);
afterEach(() => cleanup());

describe("small defects", () => {
  test("mcp remove: CONTAINER and STATE, no empty COMPONENT column", async () => {
    const { dir, deps } = fixtureStore({ rift: { health, remove: async () => ({ removedContainers: ["shop-api", "shop-web"] }) } });
    const config = join(dir, "mcp.toml");
    writeFileSync(config, "");
    const { ctx, stdout } = commandContext(config, "plain", deps);
    assert.equal(await removeCommand.run(ctx, ["shop"], {}), 0);
    assert.equal(stdout(), "remove shop on rift\nCONTAINER  STATE\nshop-api   removed\nshop-web   removed\n");
  });

  test("the README's platform home is the one mcp up uses, with and without XDG_DATA_HOME", () => {
    const lines = readFileSync(join(REPO_ROOT, "README.md"), "utf8")
      .split("\n")
      .filter((l) => l.startsWith("H="));
    assert.ok(lines.length > 0);
    for (const line of lines) {
      for (const env of [{ HOME: homedir(), XDG_DATA_HOME: "/data" }, { HOME: homedir() }]) {
        const home = execFileSync("bash", ["-c", `${line}\nprintf %s "$H"`], { env: { PATH: process.env.PATH, ...env } }).toString();
        assert.equal(home, defaultPlatformHome(env), `${line} with ${JSON.stringify(env)}`);
      }
    }
  });

  test("counts are singular for one", async () => {
    assert.deepEqual(
      [count(1, "tag"), count(2, "tag"), count(0, "repository", "repositories"), count(1, "repository", "repositories")],
      ["1 tag", "2 tags", "0 repositories", "1 repository"],
    );
    const mcr = fakeMcr();
    const ui = render(<App store={mcrStore(mcr)} width={100} height={24} color={false} poll={false} initial={{ screen: "registry" }} />);
    await untilFrame(ui.lastFrame, /team\/web/);
    await press(ui.stdin, DOWN, "x");
    await untilFrame(ui.lastFrame, /Delete repository team\/web \(1 tag\)\?/);
    await press(ui.stdin, "y");
    await untilFrame(ui.lastFrame, /^1 repository$/m);
    const repo = render(<App store={mcrStore(mcr)} width={100} height={24} color={false} poll={false} initial={{ screen: "repository", repo: "team/app" }} />);
    await untilFrame(repo.lastFrame, /team\/app: 2 tags, 1 manifest, 3\.3 MiB/);
  });
});
