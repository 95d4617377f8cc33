// [storage] direct_writes: the upload file is written through an O_DIRECT descriptor by
// default and never with `direct_writes = false`, seen from /proc/self while a body streams in.
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { mkdtempSync, readdirSync, readFileSync, readlinkSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Readable } from "node:stream";
import { after, describe, test } from "node:test";
import { loadRegistryConfig } from "../../../registry/config.ts";
import { openBlobStore } from "../../../registry/storage/open.ts";

const O_DIRECT = 0o40000; // x86-64 and arm64 flags in /proc/<pid>/fdinfo are octal
const ID = "aaaaaaaa-2222-4333-8444-555555555555";
const dir = mkdtempSync(join(tmpdir(), "direct-writes-"));
after(() => rmSync(dir, { recursive: true, force: true }));

let n = 0;
function config(storage: string) {
  const home = join(dir, `home-${++n}`);
  const path = join(dir, `mcr-${n}.toml`);
  writeFileSync(
    path,
    `[server]\nlisten_addr = "127.0.0.1:0"\nplain_http = true\n[database]\npath = "mcr.db"\n[storage]\nlayers_path = ${JSON.stringify(join(home, "layers"))}\n${storage}`,
  );
  return loadRegistryConfig(path, {});
}

/** The open flags of every descriptor of this process on `file`, taken while an upload streams into it. */
async function flagsDuringUpload(storage: string): Promise<number[]> {
  const store = await openBlobStore(config(storage));
  await store.startUpload(ID);
  const source = new Readable({ read() {} });
  const done = store.appendUpload(ID, 0, source);
  source.push(randomBytes(1024 * 1024));
  await new Promise((r) => setTimeout(r, 100));
  const flags: number[] = [];
  for (const fd of readdirSync("/proc/self/fd")) {
    let target = "";
    try {
      target = readlinkSync(`/proc/self/fd/${fd}`);
    } catch {
      continue; // closed meanwhile
    }
    if (!target.endsWith(`/uploads/${ID}`)) continue;
    const m = /^flags:\s+([0-7]+)$/m.exec(readFileSync(`/proc/self/fdinfo/${fd}`, "utf8"));
    flags.push(Number.parseInt(m![1]!, 8));
  }
  source.push(null);
  assert.equal(await done, 1024 * 1024);
  return flags;
}

describe("[storage] direct_writes", () => {
  test("by default the upload file is written through an O_DIRECT descriptor beside the ordinary one", async () => {
    const flags = await flagsDuringUpload("");
    assert.equal(flags.length, 2, `two descriptors on the upload file (${flags.map((f) => f.toString(8))})`);
    assert.equal(flags.filter((f) => f & O_DIRECT).length, 1);
  });

  test("direct_writes = false: no descriptor has O_DIRECT", async () => {
    const flags = await flagsDuringUpload("direct_writes = false\n");
    assert.equal(flags.length, 1);
    assert.equal(flags[0]! & O_DIRECT, 0);
  });

  test("a value that is not a boolean is refused, naming the key", () => {
    assert.throws(() => config(`direct_writes = "no"\n`), /direct_writes/);
  });
});
