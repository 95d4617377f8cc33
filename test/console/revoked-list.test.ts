// The revoked node certificates the registry last listed are kept between commands
// ($XDG_STATE_HOME/mcp/revoked.json, per registry URL), so that a command that cannot read the
// registry's node list still refuses a removed node; a fresh list replaces them; a broken file
// is an error that names it.
import assert from "node:assert/strict";
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, test } from "node:test";
import { createRouterTransport } from "@connectrpc/connect";
import { AgentPool } from "../../console/clients/agents.ts";
import { RevokedList } from "../../console/clients/revoked-list.ts";
import type { ConsoleError } from "../../console/output/errors.ts";
import { AgentService } from "../../proto/gen/mcp/agent/v1/agent_pb.ts";
import { fakeNodeService, joined } from "./node-fake.ts";
import { fixtureStore, health, removeFixtures } from "./tui-fixture.ts";

const dirs: string[] = [];
after(() => {
  removeFixtures();
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});
const stateDir = () => {
  const d = mkdtempSync(join(tmpdir(), "mcp-revoked-"));
  dirs.push(d);
  return join(d, "mcp");
};
const REG = "https://mcr.test:8443";

describe("RevokedList", () => {
  test("kept per registry, normalized and sorted, with when it was listed; the same list again is not written", () => {
    const dir = stateDir();
    const a = new RevokedList(dir, REG, () => Date.parse("2026-12-07T10:00:00Z"));
    assert.equal(a.read(), undefined, "nothing kept yet");
    a.save(["0b", "00DEAD01", "b"]);
    assert.deepEqual(a.read(), { serials: ["B", "DEAD01"], listedAt: "2026-12-07T10:00:00.000Z" });
    const other = new RevokedList(dir, "https://other:8443");
    other.save(["C3"]);
    assert.deepEqual(new RevokedList(dir, REG).read()?.serials, ["B", "DEAD01"], "another registry's list beside it");
    assert.equal(statSync(a.file).mode & 0o777, 0o600);
    const inode = statSync(a.file).ino;
    new RevokedList(dir, REG).save(["DEAD01", "B"]);
    assert.equal(statSync(a.file).ino, inode, "an unchanged list is not written again");
    a.save([]);
    assert.deepEqual(a.read()?.serials, [], "an empty fresh list replaces the kept one");
  });

  test("a broken file is an error naming it and saying what to do; a save that cannot write throws", () => {
    const dir = stateDir();
    const list = new RevokedList(dir, REG);
    list.save(["A1"]);
    for (const [text, why] of [
      ["{not json", /is not valid JSON/],
      ['{"registries": []}', /has no "registries" object/],
      ['{"registries": {"x": {"serials": [1], "listed_at": "t"}}}', /has an entry for x without a "serials" list of strings/],
      ["null", /has no "registries" object/],
    ] as const) {
      writeFileSync(list.file, text);
      assert.throws(
        () => new RevokedList(dir, REG).read(),
        (e: ConsoleError) => e.code === "invalid" && e.message.startsWith(`${list.file} `) && why.test(e.message) && /delete it/.test(e.message),
      );
    }
    // A folder that cannot be made (a file stands in its way; root or not).
    writeFileSync(join(dir, "blocked"), "");
    assert.throws(() => new RevokedList(join(dir, "blocked", "mcp"), REG).save(["A1"]), /ENOTDIR|EEXIST/);
  });
});

describe("the console's revoked serials between commands", () => {
  const agents = { rift: { health } };
  const pool = (revoked: string[] = []) =>
    new AgentPool({
      nodes: [{ name: "rift", url: "https://rift.test:9444" }],
      token: () => "t",
      timeoutMs: 500,
      revoked,
      transport: () => createRouterTransport(({ service }) => service(AgentService, agents.rift)),
    });

  test("a listing keeps them; a later command that cannot read the list starts from them and says so", async () => {
    const dir = stateDir();
    const mcr = fakeNodeService({ nodes: [joined("orbit", "https://orbit.example:9444")], revoked: ["DEAD01", "0C3"] });
    const first = fixtureStore(agents, {}, { agents: pool(), mcrAdmin: () => mcr.client, revokedList: new RevokedList(dir, REG) });
    await first.store.getState().platformReady();
    assert.deepEqual(new RevokedList(dir, REG).read()?.serials, ["C3", "DEAD01"]);

    mcr.setDown(true);
    const kept = new RevokedList(dir, REG);
    const next = pool(kept.read()!.serials);
    const second = fixtureStore(agents, {}, { agents: next, mcrAdmin: () => mcr.client, revokedList: kept });
    await second.store.getState().platformReady();
    assert.deepEqual(next.revokedSerials.sort(), ["C3", "DEAD01"], "refused before any list came");
    assert.match(
      second.store.getState().platform.note,
      /could not be read .*: only the config's \[\[nodes\]\]; the 2 revoked node certificates it listed at \S+ are still refused$/,
    );
    assert.deepEqual(kept.read()?.serials, ["C3", "DEAD01"], "a failed listing changes nothing kept");
  });

  test("a node removed before any listing adds its serial to the kept ones, never replaces them", async () => {
    const dir = stateDir();
    new RevokedList(dir, REG).save(["DEAD01"]);
    const mcr = fakeNodeService({ nodes: [joined("vela", "https://vela.example:9444", 10, 90, "0A1B")] });
    const kept = new RevokedList(dir, REG);
    const p = pool(kept.read()!.serials);
    const fx = fixtureStore(agents, {}, { agents: p, mcrAdmin: () => mcr.client, revokedList: kept });
    await fx.store.getState().removeNode("vela");
    assert.deepEqual(p.revokedSerials.sort(), ["A1B", "DEAD01"]);
    assert.deepEqual(new RevokedList(dir, REG).read()?.serials, ["A1B", "DEAD01"]);
    assert.ok(readFileSync(kept.file, "utf8").endsWith("\n"));
  });

  test("a list that cannot be kept is a note; the command goes on with the fresh list", async () => {
    const dir = stateDir();
    writeFileSync(join(dir, "..", "blocked"), "");
    const list = new RevokedList(join(dir, "..", "blocked", "mcp"), REG);
    const mcr = fakeNodeService({ revoked: ["DEAD01"] });
    const p = pool();
    const fx = fixtureStore(agents, {}, { agents: p, mcrAdmin: () => mcr.client, revokedList: list });
    await fx.store.getState().platformReady();
    assert.deepEqual(p.revokedSerials, ["DEAD01"]);
    const { note, listed } = fx.store.getState().platform;
    assert.equal(listed, true);
    assert.match(note, /^the revoked node certificates could not be kept in .*revoked\.json \(.*(ENOTDIR|EEXIST).*\): a command that cannot read/);
  });
});
