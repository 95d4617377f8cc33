// The TUI's registry screens with ink-testing-library against the store and an in-memory
// mcr: Registry (repositories → tags → manifest → layers, deletes after y/N), GC (dry run
// and a confirmed run, live from Watch, last result), Policies (toggle, create, delete;
// a non-admin sees why not), Audit (filter, pages, follow); : jumps, ? help, 80×24.
import assert from "node:assert/strict";
import { afterEach, describe, test } from "node:test";
import { cleanup, render } from "ink-testing-library";
import stringWidth from "string-width";
import { create } from "@bufbuild/protobuf";
import { GcItemSchema } from "../../proto/gen/mcr/v1/gc_pb.ts";
import { App } from "../../console/tui/app.tsx";
import { fakeMcr, mcrStore } from "./mcr-fake.ts";
import { DOWN, ENTER, ESC, press, untilFrame } from "../helpers/ink-keys.ts";

afterEach(() => cleanup());

function app(mcr = fakeMcr(), width = 100) {
  const store = mcrStore(mcr);
  const ui = render(<App store={store} width={width} height={24} color={false} poll={false} />);
  return { ui, mcr, store };
}

describe("TUI: registry screens", () => {
  test(":registry lists repositories; Enter opens the tags, Enter the manifest with its layers and sizes; Esc goes back", async () => {
    const { ui } = app();
    await press(ui.stdin, ":", ..."registry", ENTER);
    let f = await untilFrame(ui.lastFrame, /team\/web/);
    assert.match(f, /^mcp registry/);
    assert.match(f, /REPOSITORY +TAGS +MANIFESTS +SIZE +PUSHED/);
    assert.match(f, /team\/app +2 +1 +3\.3 MiB/);
    assert.match(f, /enter tags +x delete/);
    await press(ui.stdin, ENTER);
    f = await untilFrame(ui.lastFrame, /TAG +DIGEST/);
    assert.match(f, /^mcp registry team\/app/);
    assert.match(f, /team\/app: 2 tags, 1 manifest, 3\.3 MiB/);
    assert.match(f, /v1 +111111111111 +2\.9 MiB +2 /);
    await press(ui.stdin, ENTER);
    f = await untilFrame(ui.lastFrame, /ROLE +DIGEST +SIZE/);
    assert.match(f, /^mcp registry team\/app:v1/);
    assert.match(f, /layers and config: 2, 1\.9 MiB/);
    assert.match(f, /config +sha256:c+.* +500 B/);
    assert.match(f, /layer +sha256:a+.* +1\.9 MiB/);
    await press(ui.stdin, ESC);
    await untilFrame(ui.lastFrame, /TAG +DIGEST/);
    await press(ui.stdin, ESC);
    await untilFrame(ui.lastFrame, /REPOSITORY +TAGS/);
  });

  test("x asks before deleting: n keeps the repository, y deletes it; a tag is deleted the same way", async () => {
    const { ui, mcr } = app();
    await press(ui.stdin, ":", ..."registry", ENTER);
    await untilFrame(ui.lastFrame, /team\/web/);
    await press(ui.stdin, DOWN, "x");
    await untilFrame(ui.lastFrame, /Delete repository team\/web \(1 tag\)\? \[y\/N\]/);
    await press(ui.stdin, "n");
    await untilFrame(ui.lastFrame, /^(?![\s\S]*\[y\/N\])/);
    assert.deepEqual(mcr.deleted, []);
    await press(ui.stdin, "x", "y");
    await untilFrame(ui.lastFrame, /delete team\/web: done/);
    const f = await untilFrame(ui.lastFrame, /1 repository$/m);
    assert.doesNotMatch(f, /^team\/web/m);
    await press(ui.stdin, ":", ..."repo team/app", ENTER);
    await untilFrame(ui.lastFrame, /v2 +1111/);
    await press(ui.stdin, "j", "x");
    await untilFrame(ui.lastFrame, /Delete tag team\/app:v2\?/);
    await press(ui.stdin, "y");
    await untilFrame(ui.lastFrame, /delete team\/app:v2: done/);
    assert.deepEqual(mcr.deleted, ["team/web", "team/app:v2"]);
  });

  test("GC: d starts a dry run at once, progress comes live from Watch, then the last result; s asks first; u switches untagged", async () => {
    const { ui, mcr } = app();
    await press(ui.stdin, ":", ..."gc", ENTER);
    let f = await untilFrame(ui.lastFrame, /no run since the registry started/);
    assert.match(f, /next run: untagged off/);
    assert.match(f, /s start +d dry run/);
    await press(ui.stdin, "d");
    f = await untilFrame(ui.lastFrame, /running \(dry run\)/);
    assert.match(f, /phase +marking/);
    mcr.gcProgress({ phase: "sweeping", blobsMarked: 3n, bytesMarked: 3_000_000n });
    f = await untilFrame(ui.lastFrame, /phase +sweeping/);
    assert.match(f, /marked +3 blobs, 2\.9 MiB/);
    mcr.gcProgress({
      phase: "done",
      running: false,
      items: [create(GcItemSchema, { kind: "blob", repository: "", digest: "sha256:" + "e".repeat(64), size: 3_000_000n })],
    });
    f = await untilFrame(ui.lastFrame, /last run \(dry run\)/);
    assert.match(f, /would remove/);
    assert.match(f, /blob +- +sha256:e+/);
    await untilFrame(ui.lastFrame, /gc dry run done: would free 2\.9 MiB/);
    await press(ui.stdin, "u", "s");
    await untilFrame(ui.lastFrame, /Start garbage collection \(untagged manifests too\)\? \[y\/N\]/);
    await press(ui.stdin, "y");
    f = await untilFrame(ui.lastFrame, /^running$/m);
    assert.match(f, /options +untagged/);
    await press(ui.stdin, "d");
    await untilFrame(ui.lastFrame, /a run is in progress \(marking\)/);
    mcr.gcProgress({ phase: "done", running: false, blobsSwept: 2n, bytesFreed: 2_000n });
    f = await untilFrame(ui.lastFrame, /last run$/m);
    assert.match(f, /swept +2 blobs, 2\.0 KiB freed/);
    await untilFrame(ui.lastFrame, /gc done: 2 blobs, 2\.0 KiB freed/);
  });

  test("GC: opening the screen mid-run joins it through Watch", async () => {
    const mcr = fakeMcr();
    const store = mcrStore(mcr);
    await store.getState().startGc({ dryRun: false, untagged: false });
    const ui = render(<App store={store} width={100} height={24} color={false} poll={false} initial={{ screen: "gc" }} />);
    await untilFrame(ui.lastFrame, /^running$/m);
    mcr.gcProgress({ phase: "sweeping", blobsSwept: 5n });
    await untilFrame(ui.lastFrame, /swept +5 blobs/);
    mcr.gcProgress({ phase: "done", running: false });
    await untilFrame(ui.lastFrame, /last run$/m);
  });

  test("Policies: e toggles, n creates from a line, x deletes after y; a non-admin sees why not", async () => {
    const { ui, mcr } = app();
    await press(ui.stdin, ":", ..."policies", ENTER);
    let f = await untilFrame(ui.lastFrame, /frozen/);
    assert.match(f, /ID +PRIO +EFFECT +ENABLED +ACTIONS +ROLES +ON +DESCRIPTION/);
    assert.match(f, /7 +50 +deny +yes +registry:push +\* +team\/locked\/\*/);
    await press(ui.stdin, "e");
    await untilFrame(ui.lastFrame, /7 +50 +deny +no/);
    await press(ui.stdin, "n", ..."allow registry:pull public/* open reads", ENTER);
    f = await untilFrame(ui.lastFrame, /open reads/);
    assert.match(f, /61 +100 +allow +yes +registry:pull/);
    await press(ui.stdin, "n", ..."maybe", ENTER);
    await untilFrame(ui.lastFrame, /not a rule: "maybe"/);
    await press(ui.stdin, "x");
    await untilFrame(ui.lastFrame, /Delete rule 7 \(frozen\)\?/);
    await press(ui.stdin, "y");
    await untilFrame(ui.lastFrame, /delete rule 7: done/);
    assert.deepEqual(
      mcr.rules.map((r) => Number(r.id)),
      [61],
    );

    cleanup();
    const user = app(fakeMcr({ admin: false }));
    await press(user.ui.stdin, ":", ..."policies", ENTER);
    f = await untilFrame(user.ui.lastFrame, /for accounts with the admin role/);
    assert.match(f, /the admin role is required/);
    assert.match(f, /mcp login/);
  });

  test("Audit: newest first; ] pages; / filters; f follows new events onto the first page", async () => {
    const { ui, mcr } = app(fakeMcr(), 120);
    await press(ui.stdin, ":", ..."audit", ENTER);
    let f = await untilFrame(ui.lastFrame, /TIME +TYPE +ACTOR/);
    assert.match(f, /^newest/m);
    assert.match(f, /2026-01-01T00:59:00Z +manifest_pushed +admin +team\/app/);
    await press(ui.stdin, "]");
    f = await untilFrame(ui.lastFrame, /from 51/);
    assert.match(f, /00:09:00Z/);
    await press(ui.stdin, "[");
    await untilFrame(ui.lastFrame, /^newest/m);
    await press(ui.stdin, "/", ..."type=manifest_pulled", ENTER);
    f = await untilFrame(ui.lastFrame, /filter: type=manifest_pulled/);
    assert.doesNotMatch(f, /manifest_pushed/);
    await press(ui.stdin, "f");
    await untilFrame(ui.lastFrame, /following/);
    mcr.addEvent("manifest_pulled", "team/fresh");
    f = await untilFrame(ui.lastFrame, /manifest_pulled +admin +team\/fresh/);
    await press(ui.stdin, "f");
    await untilFrame(ui.lastFrame, /^(?![\s\S]*following)/);
  });

  test("r reloads: a repository pushed meanwhile appears, a GC run started elsewhere is joined; space toggles a rule like e; G and g move to the ends", async () => {
    const { ui, mcr } = app();
    await press(ui.stdin, ":", ..."registry", ENTER);
    await untilFrame(ui.lastFrame, /2 repositories/);
    mcr.addRepo("team/new");
    await press(ui.stdin, "r");
    await untilFrame(ui.lastFrame, /team\/new +1 +1 +10 B/);
    await press(ui.stdin, ":", ..."gc", ENTER);
    await untilFrame(ui.lastFrame, /no run since the registry started/);
    mcr.startElsewhere();
    await press(ui.stdin, "r");
    let f = await untilFrame(ui.lastFrame, /run +run-elsewhere by other/);
    assert.match(f, /· +watching/);
    mcr.gcProgress({ phase: "done", running: false });
    await untilFrame(ui.lastFrame, /last run$/m);
    await press(ui.stdin, ":", ..."policies", ENTER);
    await untilFrame(ui.lastFrame, /7 +50 +deny +yes/);
    await press(ui.stdin, " ");
    await untilFrame(ui.lastFrame, /7 +50 +deny +no/);
    await press(ui.stdin, ":", ..."audit", ENTER);
    await untilFrame(ui.lastFrame, /newest +\(1-18 of 50\)/);
    await press(ui.stdin, "G");
    f = await untilFrame(ui.lastFrame, /newest +\(33-50 of 50\)/);
    assert.match(f, /00:10:00Z/);
    await press(ui.stdin, "g");
    await untilFrame(ui.lastFrame, /newest +\(1-18 of 50\)/);
  });

  test("? lists the registry screens' keys and jumps; each frame fits 80×24", async () => {
    const { ui } = app(fakeMcr(), 80);
    await press(ui.stdin, "?");
    await untilFrame(ui.lastFrame, /mcp help/);
    // The jumps come after every screen's keys: at the end of help, which scrolls.
    await press(ui.stdin, "G");
    await untilFrame(ui.lastFrame, /:registry\s+:repo NAME\s+:gc\s+:check\s+:policies\s+:audit/);
    // Each jump waits for the screen it opens (its title in the header), then measures that frame.
    for (const [jump, screen] of [
      ["registry", /mcp registry\s+[●✗] registry/],
      ["repo team/app", /mcp registry team\/app/],
      ["gc", /mcp gc/],
      ["check", /mcp check/],
      ["policies", /mcp policies/],
      ["audit", /mcp audit/],
    ] as const) {
      await press(ui.stdin, ":", ...jump, ENTER);
      const lines = (await untilFrame(ui.lastFrame, screen)).split("\n");
      assert.ok(lines.length <= 23, `${jump}: ${lines.length} lines`);
      for (const l of lines) assert.ok(stringWidth(l) <= 80, `${jump}: too wide (${stringWidth(l)}): ${l}`);
    }
  });
});
