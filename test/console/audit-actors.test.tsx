// Audit rows and GC runs carry account ids; the console names them where it can (its own
// session through token validation, other accounts through their pull-token events), and
// the filter actor=NAME finds the account's events as well as its logins.
import assert from "node:assert/strict";
import { afterEach, describe, test } from "node:test";
import { cleanup, render } from "ink-testing-library";
import { App } from "../../console/tui/app.tsx";
import { ENTER, press, untilFrame } from "../helpers/ink-keys.ts";
import { fakeMcr, mcrStore } from "./mcr-fake.ts";

afterEach(() => cleanup());

const ADMIN_ID = "202aed94-1111-4222-8333-444455556666";
const AGENT_ID = "9b1c0e77-aaaa-4bbb-8ccc-ddddeeeeffff";

function platform() {
  const mcr = fakeMcr();
  mcr.addEvent("login_ok", "", "admin", { via: "api" });
  mcr.addEvent("pull_token_issued", "team/app", AGENT_ID, { username: "agent-local" });
  mcr.addEvent("manifest_pulled", "team/app", AGENT_ID);
  mcr.addEvent("tag_deleted", "team/app", ADMIN_ID, { tag: "v0" });
  const store = mcrStore(mcr, { whoami: async () => ({ subject: ADMIN_ID, username: "admin" }) });
  return { mcr, store };
}

describe("audit and GC actors", () => {
  test("the store names ids from the session and from pull-token events; actor=admin finds the logins and the account's events", async () => {
    const { store } = platform();
    const actors = await store.getState().resolveActors();
    assert.deepEqual(actors, { [AGENT_ID]: "agent-local", [ADMIN_ID]: "admin" });
    const events = await store.getState().listAudit({ actor: "admin", type: "" }, 0, 50);
    const mine = events.filter((e) => e.type === "tag_deleted" || e.type === "login_ok");
    assert.deepEqual(
      mine.map((e) => [e.type, e.actor]),
      [
        ["tag_deleted", ADMIN_ID],
        ["login_ok", "admin"],
      ],
    );
    assert.ok(events.every((e) => e.actor === "admin" || e.actor === ADMIN_ID));
    assert.deepEqual(
      events.map((e) => e.id),
      [...events.map((e) => e.id)].sort((a, b) => b - a),
      "newest first",
    );
  });

  test("the audit screen shows names, and / actor=admin lists admin's deletes with its logins", async () => {
    const { store } = platform();
    const ui = render(<App store={store} width={120} height={30} color={false} poll={false} initial={{ screen: "audit" }} />);
    let f = await untilFrame(ui.lastFrame, /tag_deleted +admin +team\/app/);
    assert.match(f, /manifest_pulled +agent-local +team\/app/);
    assert.doesNotMatch(f, /202aed94/);
    await press(ui.stdin, "/", ..."actor=admin", ENTER);
    f = await untilFrame(ui.lastFrame, /filter: actor=admin[\s\S]*tag_deleted +admin[\s\S]*login_ok +admin/);
    assert.doesNotMatch(f, /agent-local/);
  });

  test("a GC run says who started it by name", async () => {
    const { mcr, store } = platform();
    const ui = render(<App store={store} width={120} height={30} color={false} poll={false} initial={{ screen: "gc" }} />);
    await untilFrame(ui.lastFrame, /no run since/);
    await press(ui.stdin, "d");
    await untilFrame(ui.lastFrame, /running \(dry run\)/);
    mcr.gcProgress({ actor: ADMIN_ID, phase: "done", running: false, bytesMarked: 10n });
    const f = await untilFrame(ui.lastFrame, /last run \(dry run\)/);
    assert.match(f, /run +run-\d+ by admin$/m);
    assert.doesNotMatch(f, /202aed94/);
  });
});
