// writeFileAtomic: complete or absent, each descriptor closed exactly once, and
// every failure (close included) thrown. Failures are injected by replacing
// node:fs functions; syncBuiltinESMExports makes the module's named imports see them.
import assert from "node:assert/strict";
import fs, { mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { syncBuiltinESMExports } from "node:module";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, mock, test } from "node:test";
import { writeFileAtomic } from "../../lib/fs/atomic.ts";

describe("writeFileAtomic", () => {
  let dir: string;
  let closes: number[];
  let openFds: Set<number>;
  /** Descriptors closed while not open (closed twice). */
  let doubleCloses: number[];
  let failClose: NodeJS.ErrnoException | undefined;
  let failFsync: NodeJS.ErrnoException | undefined;

  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), "atomic-"));
    closes = [];
    openFds = new Set();
    doubleCloses = [];
    failClose = failFsync = undefined;
    const realOpen = fs.openSync;
    const realClose = fs.closeSync;
    const realFsync = fs.fsyncSync;
    mock.method(fs, "openSync", (...args: Parameters<typeof fs.openSync>) => {
      const fd = realOpen(...args);
      openFds.add(fd);
      return fd;
    });
    mock.method(fs, "closeSync", (fd: number) => {
      closes.push(fd);
      if (!openFds.delete(fd)) doubleCloses.push(fd);
      realClose(fd);
      if (failClose) throw failClose;
    });
    mock.method(fs, "fsyncSync", (fd: number) => {
      if (failFsync) throw failFsync;
      realFsync(fd);
    });
    syncBuiltinESMExports();
  });

  afterEach(() => {
    mock.restoreAll();
    syncBuiltinESMExports();
    rmSync(dir, { recursive: true, force: true });
  });

  const errno = (code: string) => Object.assign(new Error(`${code}: injected`), { code });

  test("writes the content with its mode, leaves no temp file, closes each descriptor once", () => {
    const path = join(dir, "config.toml");
    writeFileAtomic(path, "a = 1\n", 0o600);
    assert.equal(readFileSync(path, "utf8"), "a = 1\n");
    assert.equal(statSync(path).mode & 0o777, 0o600);
    assert.deepEqual(readdirSync(dir), ["config.toml"]);
    assert.deepEqual(doubleCloses, []);
  });

  test("an error from close is thrown, and the file is not put in place", () => {
    const path = join(dir, "key.pem");
    failClose = errno("EIO");
    assert.throws(() => writeFileAtomic(path, "secret"), /EIO: injected/);
    failClose = undefined;
    assert.deepEqual(readdirSync(dir), [], "neither the target nor the temp file exists");
    assert.deepEqual(doubleCloses, [], "the descriptor whose close failed is not closed again");
  });

  test("a failed fsync keeps the old content, removes the temp file and closes the descriptor once", () => {
    const path = join(dir, "cert.pem");
    writeFileSync(path, "old");
    closes = [];
    failFsync = errno("ENOSPC");
    assert.throws(() => writeFileAtomic(path, "new"), /ENOSPC: injected/);
    assert.equal(readFileSync(path, "utf8"), "old");
    assert.deepEqual(readdirSync(dir), ["cert.pem"]);
    assert.equal(closes.length, 1);
    assert.deepEqual(doubleCloses, []);
  });

  test("when cleanup fails too, the first error is thrown and the cleanup error kept on it", () => {
    failFsync = errno("EIO");
    failClose = errno("EBADF");
    const err = (() => {
      try {
        writeFileAtomic(join(dir, "x"), "x");
      } catch (e) {
        return e as Error & { suppressed?: Error[] };
      }
      assert.fail("writeFileAtomic did not throw");
    })();
    failClose = undefined;
    assert.match(err.message, /EIO/);
    assert.deepEqual(
      err.suppressed?.map((e) => e.message),
      ["EBADF: injected"],
    );
    assert.deepEqual(readdirSync(dir), []);
  });
});
