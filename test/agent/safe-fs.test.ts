// Root's writes below folders a service controls never follow a link the service planted.
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { lstatSync, mkdirSync, mkdtempSync, readFileSync, readlinkSync, rmSync, statSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { ensureLinkIn, ensureServiceDirs, removeLinkBelow, UnsafePathError, withServiceDir, writeFileIn } from "../../agent/placement/safe-fs.ts";

// As root the folders go to nobody (what the agent does for service UIDs); otherwise to ourselves.
const uid = process.getuid?.() === 0 ? 65534 : process.getuid!();
const owner = { uid, gid: uid };

describe("safe-fs", () => {
  let dir: string;
  let home: string;
  let victim: string;

  before(() => {
    dir = mkdtempSync(join(tmpdir(), "safe-fs-"));
    home = join(dir, "home");
    victim = join(dir, "victim");
    mkdirSync(home);
    mkdirSync(victim, { mode: 0o755 });
    writeFileSync(join(victim, "passwd"), "root:x:0:0\n");
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  const victimUnchanged = () => {
    const st = statSync(victim);
    assert.equal(st.uid, process.getuid!(), "the link target keeps its owner");
    assert.equal(st.mode & 0o7777, 0o755, "the link target keeps its mode");
    assert.equal(readFileSync(join(victim, "passwd"), "utf8"), "root:x:0:0\n");
  };

  test("creates every missing folder, owned by the UID with the mode", () => {
    ensureServiceDirs(home, ".local/state/sheet", { ...owner, mode: 0o750 });
    for (const p of [".local", ".local/state", ".local/state/sheet"]) {
      const st = lstatSync(join(home, p));
      assert.ok(st.isDirectory());
      assert.equal(st.uid, uid);
      assert.equal(st.mode & 0o777, 0o750);
    }
  });

  test("a folder replaced by a link, at the end or on the way, is refused by name and its target untouched", () => {
    for (const rel of ["state", "deep/er"]) {
      const first = rel.split("/")[0]!;
      rmSync(join(home, first), { recursive: true, force: true });
      symlinkSync(victim, join(home, first));
      assert.throws(
        () => ensureServiceDirs(home, rel, { ...owner, mode: 0o700, enforceMode: true }),
        (e: unknown) => e instanceof UnsafePathError && e.message.includes(join(home, first)) && e.message.includes(`symbolic link to ${victim}`),
      );
      victimUnchanged();
    }
  });

  test("a file where a folder should be is refused", () => {
    writeFileSync(join(home, "afile"), "x");
    assert.throws(
      () => ensureServiceDirs(home, "afile/sub", { ...owner, mode: 0o700 }),
      (e: unknown) => e instanceof UnsafePathError && /is a file/.test(e.message),
    );
  });

  test('".." cannot climb out of the base', () => {
    assert.throws(() => ensureServiceDirs(home, "../victim", { ...owner, mode: 0o700 }), UnsafePathError);
    victimUnchanged();
  });

  test("writeFileIn replaces a planted link instead of writing through it", () => {
    ensureServiceDirs(home, "conf", { ...owner, mode: 0o700 });
    symlinkSync(join(victim, "passwd"), join(home, "conf", "app.env"));
    withServiceDir(home, "conf", null, (fd) => writeFileIn(fd, "app.env", "A=1\n", 0o600, owner));
    const st = lstatSync(join(home, "conf", "app.env"));
    assert.ok(st.isFile(), "the link is gone, a file is in its place");
    assert.equal(st.uid, uid);
    assert.equal(st.mode & 0o777, 0o600);
    assert.equal(readFileSync(join(home, "conf", "app.env"), "utf8"), "A=1\n");
    victimUnchanged();
  });

  test("ensureLinkIn keeps a right link, repairs a wrong one and refuses a folder", () => {
    ensureServiceDirs(home, "xdg", { ...owner, mode: 0o750 });
    const link = join(home, "xdg", "@svc");
    const put = () => withServiceDir(home, "xdg", null, (fd) => ensureLinkIn(fd, "@svc", "/srv/svc/state", owner, link));
    put();
    assert.equal(readlinkSync(link), "/srv/svc/state");
    assert.equal(lstatSync(link).uid, uid);
    rmSync(link);
    symlinkSync(victim, link);
    put();
    assert.equal(readlinkSync(link), "/srv/svc/state");
    rmSync(link);
    mkdirSync(link);
    assert.throws(put, (e: unknown) => e instanceof UnsafePathError && e.message.includes(link));
    victimUnchanged();
  });

  test("removeLinkBelow does nothing through a parent that became a link", () => {
    symlinkSync(join(victim, "passwd"), join(victim, "@svc"));
    rmSync(join(home, "xdg2"), { recursive: true, force: true });
    symlinkSync(victim, join(home, "xdg2"));
    removeLinkBelow(home, "xdg2", "@svc");
    assert.ok(lstatSync(join(victim, "@svc")).isSymbolicLink(), "the link in the target folder is still there");
    rmSync(join(victim, "@svc"));
  });
});
