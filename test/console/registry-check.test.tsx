// The registry's health and integrity check in the console, against an in-memory mcr: the
// store's registryHealth (ok, not ready with mcr's message, unreachable, no registry) and
// checkRegistry (what it asks for, a refusal kept for the screens); `--verify`'s values; the
// TUI: the registry screen's health line, `c` with its prompt (a bad value refused), the check
// screen pending and then its result, the footer's verdict, a non-admin's refusal, the header's
// registry mark, and help.
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { join } from "node:path";
import { afterEach, describe, test } from "node:test";
import { cleanup, render } from "ink-testing-library";
import { App } from "../../console/tui/app.tsx";
import { mcrAdmin } from "../../console/clients/mcr-admin.ts";
import registry from "../../console/commands/registry.ts";
import { ConsoleError } from "../../console/output/errors.ts";
import { parseVerify } from "../../console/views/registry-health.ts";
import { REPO_ROOT } from "../helpers/mcr-process.ts";
import { ENTER, press, untilFrame } from "../helpers/ink-keys.ts";
import { fakeMcr, mcrStore } from "./mcr-fake.ts";

afterEach(() => cleanup());

const BAD = "sha256:" + "d".repeat(64);
const OTHER = "sha256:" + "2".repeat(64);

function app(mcr = fakeMcr(), o: { width?: number; poll?: boolean; initial?: { screen: "registry" } | { screen: "check" } } = {}) {
  const store = mcrStore(mcr);
  const ui = render(
    <App store={store} width={o.width ?? 100} height={24} color={false} poll={o.poll ?? false} initial={o.initial ?? { screen: "registry" }} />,
  );
  return { ui, mcr, store };
}

describe("registry health and check: the store", () => {
  test("registryHealth: ok with the database and the blob store; not ready with mcr's message; unreachable; null without a registry", async () => {
    const mcr = fakeMcr();
    const store = mcrStore(mcr);
    const ok = await store.getState().registryHealth();
    assert.deepEqual(ok, {
      url: "https://mcr.test",
      status: "ok",
      version: "9.9.9",
      database: "ok",
      storage: { backend: "filesystem", location: "/srv/mcr/layers", status: "ok" },
      error: "",
    });
    // No session is needed: Health is asked without the registry token.
    assert.deepEqual(mcr.seenTokens, []);
    const again = await store.getState().registryHealth();
    assert.equal(again, ok, "the same answer keeps the same object (no redraw)");

    mcr.setNotReady("bucket registry is not answering");
    const down = await store.getState().registryHealth();
    assert.equal(down?.status, "unavailable");
    assert.equal(down?.error, "bucket registry is not answering");
    assert.equal(down?.storage, null);

    // Port 9 on loopback: refused at once, with no token to read.
    const gone = mcrStore(null, {
      mcrAdmin: () =>
        mcrAdmin({
          url: "https://127.0.0.1:9",
          token: () => {
            throw new ConsoleError("unauthenticated", "not logged in");
          },
        }),
    });
    const unreachable = await gone.getState().registryHealth();
    assert.equal(unreachable?.status, "unreachable");
    assert.match(unreachable!.error, /ECONNREFUSED/);

    assert.equal(await mcrStore(null).getState().registryHealth(), null);
  });

  test("checkRegistry: verify_count or verify_all as asked; the result kept; a non-admin's refusal kept for the screens", async () => {
    const mcr = fakeMcr();
    mcr.setCorrupt([{ digest: BAD, problem: "content hashes to " + OTHER + " (5 bytes)" }]);
    const store = mcrStore(mcr);
    const plain = await store.getState().checkRegistry(null);
    assert.equal(plain.ok, true);
    assert.equal(plain.verification, undefined);
    const two = await store.getState().checkRegistry(2);
    assert.equal(two.ok, false);
    assert.deepEqual(two.verification, { blobs: 2, bytes: 2000, corrupt: [{ digest: BAD, problem: `content hashes to ${OTHER} (5 bytes)` }] });
    await store.getState().checkRegistry("all");
    assert.deepEqual(mcr.checks, [
      { verifyCount: 0, verifyAll: false },
      { verifyCount: 2, verifyAll: false },
      { verifyCount: 0, verifyAll: true },
    ]);
    const check = store.getState().mcr.check;
    assert.equal(check.running, false);
    assert.equal(check.verify, "all");
    assert.equal(check.result?.verification?.blobs, 3);

    const viewer = mcrStore(fakeMcr({ admin: false }));
    await assert.rejects(viewer.getState().checkRegistry(1), (e: ConsoleError) => e.code === "permission_denied" && /admin role/.test(e.message));
    assert.equal(viewer.getState().mcr.errors.check?.code, "permission_denied");
    assert.equal(viewer.getState().mcr.check.running, false);
  });

  test("--verify takes a whole number from 1 or all: a word, zero, a negative or a fraction is a usage error naming it", async () => {
    assert.equal(parseVerify("all"), "all");
    assert.equal(parseVerify("25"), 25);
    const option = registry.options.find((o) => o.flags.startsWith("--verify"))!;
    for (const v of ["abc", "0", "-1", "1.5", "", "1000000001"]) {
      assert.throws(
        () => option.parse!(v),
        (e: ConsoleError) => e.code === "usage" && e.message.includes(`not ${JSON.stringify(v)}`) && e.message.startsWith("--verify takes a number"),
        v,
      );
    }
    // Through the command line: a negative number reaches the check as a value, and is refused
    // before the registry is asked (none is configured: that would be another error).
    const r = await new Promise<{ code: number; stdout: string }>((resolve) =>
      execFile(
        process.execPath,
        ["--import", "tsx", join(REPO_ROOT, "console", "main.ts"), "--config", "/nonexistent/mcp.toml", "registry", "check", "--verify", "-1", "--json"],
        { cwd: REPO_ROOT },
        (err, stdout) => resolve({ code: err ? Number((err as { code?: number }).code) : 0, stdout }),
      ),
    );
    assert.equal(r.code, 2, r.stdout);
    assert.deepEqual(JSON.parse(r.stdout).error, {
      code: "usage",
      message: '--verify takes a number of blobs to read back (1 to 1000000000) or "all", not "-1"',
    });
  });
});

describe("registry health and check: the TUI", () => {
  test("the registry screen says how the registry is; r asks again and shows what does not answer", async () => {
    const { ui, mcr } = app();
    let f = await untilFrame(ui.lastFrame, /registry ok: database ok, blob store filesystem \/srv\/mcr\/layers ok/);
    assert.match(f, /team\/web/);
    assert.match(f, /x delete +c check +r reload/);
    mcr.setNotReady("bucket registry is not answering");
    await press(ui.stdin, "r");
    f = await untilFrame(ui.lastFrame, /registry not ready: bucket registry is not answering/);
  });

  test("c asks how many blobs to read back; a bad value is refused; a good one shows the check pending, then what it found", async () => {
    const { ui, mcr } = app();
    await untilFrame(ui.lastFrame, /registry ok/);
    await press(ui.stdin, "c");
    await untilFrame(ui.lastFrame, /check: blobs to read back and hash \(a number, all; empty: none\):/);
    await press(ui.stdin, ..."-1", ENTER);
    await untilFrame(ui.lastFrame, /the check takes a number of blobs to read back \(1 to 1000000000\) or "all", not "-1"/);
    assert.deepEqual(mcr.checks, []);

    mcr.setCorrupt([{ digest: BAD, problem: `content hashes to ${OTHER} (5 bytes)` }]);
    const release = mcr.holdChecks();
    await press(ui.stdin, "c", ..."all", ENTER);
    let f = await untilFrame(ui.lastFrame, /checking the registry, reading every blob back…/);
    assert.match(f, /^mcp check/);
    assert.match(f, /c check again +esc back/);
    release();
    f = await untilFrame(ui.lastFrame, /PROBLEMS FOUND$/m);
    assert.match(f, /^last check$/m);
    assert.match(f, /read back +3 blobs, 2\.9 KiB/);
    assert.match(f, /corrupt +1$/m);
    assert.match(f, /corrupt +sha256:dddddddddddd +content hashes to sha256:2{20}/);
    await untilFrame(ui.lastFrame, /check: PROBLEMS FOUND: 1 blob not matching its digest, 3 blobs read back and hashed/);
    assert.deepEqual(mcr.checks, [{ verifyCount: 0, verifyAll: true }]);

    // Again from the check screen, the last value offered; none read back this time.
    mcr.setCorrupt([]);
    await press(ui.stdin, "c");
    await untilFrame(ui.lastFrame, /empty: none\): all/);
    await press(ui.stdin, "\x15", ENTER); // Ctrl-U clears the line
    f = await untilFrame(ui.lastFrame, /check: ok$/m);
    assert.match(f, /read back +none/);
    assert.match(f, /^ok$/m);
    assert.doesNotMatch(f, /PROBLEM +BLOB/);
  });

  test("a non-admin sees that the check is for admins, with the registry's refusal", async () => {
    const { ui } = app(fakeMcr({ admin: false }), { initial: { screen: "check" } });
    await untilFrame(ui.lastFrame, /no check since the console started: c runs one/);
    await press(ui.stdin, "c", ..."5", ENTER);
    const f = await untilFrame(ui.lastFrame, /for accounts with the admin role/);
    assert.match(f, /the registry: the admin role is required/);
    assert.match(f, /Log in as an admin with `mcp login`/);
  });

  test("the header marks the registry: ready, then not ready; help lists c and the check screen", async () => {
    const mcr = fakeMcr();
    const { ui } = app(mcr, { poll: true, width: 80 });
    await untilFrame(ui.lastFrame, /^mcp registry +● registry$/m);
    mcr.setNotReady("database is not answering");
    await press(ui.stdin, "r");
    await untilFrame(ui.lastFrame, /^mcp registry +✗ registry not ready$/m);
    await untilFrame(ui.lastFrame, /registry not ready: database is not answering/);
    await press(ui.stdin, "?");
    await untilFrame(ui.lastFrame, /mcp help/);
    const f = await untilFrame(ui.lastFrame, /registry +↑↓\/jk move +enter tags +x delete +c check/);
    for (const line of f.split("\n")) assert.ok(line.length <= 80, line);
  });
});
