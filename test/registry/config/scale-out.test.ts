// [database] url and [storage] backend = "s3" with [s3] in mcr.toml: what is accepted, what
// is refused (with the key named), and the overrides an operator uses for secrets.
import assert from "node:assert/strict";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, test } from "node:test";
import { loadRegistryConfig } from "../../../registry/config.ts";

const dir = mkdtempSync(join(tmpdir(), "cfg-scale-"));
after(() => rmSync(dir, { recursive: true, force: true }));
let n = 0;
function load(toml: string, env: NodeJS.ProcessEnv = {}) {
  const path = join(dir, `mcr-${++n}.toml`);
  writeFileSync(path, `[server]\nlisten_addr = "127.0.0.1:0"\nplain_http = true\n${toml}`);
  return loadRegistryConfig(path, env);
}

describe("registry config for PostgreSQL and S3", () => {
  test("url instead of path; s3 instead of layers_path; prefix ends with a slash; relative credentials resolve beside the config", () => {
    const cfg = load(
      `[database]\nurl = "postgres://mcr@db/mcr"\n[storage]\nbackend = "s3"\n[s3]\nbucket = "images"\nprefix = "reg"\ncredentials_file = "s3.credentials"\npath_style = true\n`,
    );
    assert.equal(cfg.database.url, "postgres://mcr@db/mcr");
    assert.equal(cfg.database.pool_size, 10);
    assert.equal(cfg.storage.backend, "s3");
    assert.equal(cfg.s3.prefix, "reg/");
    assert.equal(cfg.s3.region, "us-east-1");
    assert.equal(cfg.s3.credentials_file, join(dir, "s3.credentials"));
    assert.equal(cfg.s3.redirect_ttl, 300_000);
  });

  test("$MCR_DATABASE_URL keeps the password out of the file", () => {
    const cfg = load(`[database]\n[storage]\nlayers_path = "layers"\n`, { MCR_DATABASE_URL: "postgres://mcr:secret@db/mcr" });
    assert.equal(cfg.database.url, "postgres://mcr:secret@db/mcr");
  });

  test("refusals name the key", () => {
    assert.throws(() => load(`[database]\n[storage]\nlayers_path = "l"\n`), /\[database\] path is required \(or url/);
    assert.throws(() => load(`[database]\npath = "a.db"\nurl = "postgres://x/y"\n[storage]\nlayers_path = "l"\n`), /\[database\] url and path are both set/);
    assert.throws(() => load(`[database]\nurl = "mysql://x/y"\n[storage]\nlayers_path = "l"\n`), /\[database\] url must be a postgres:\/\/ URL/);
    assert.throws(() => load(`[database]\npath = "a.db"\n[storage]\nbackend = "s3"\n`), /\[s3\] bucket is required with \[storage\] backend = "s3"/);
    assert.throws(() => load(`[database]\npath = "a.db"\n[storage]\n`), /\[storage\] layers_path is required/);
    assert.throws(() => load(`[database]\npath = "a.db"\n[storage]\nbackend = "gcs"\nlayers_path = "l"\n`), /\[storage\] backend/);
    assert.throws(
      () => load(`[database]\npath = "a.db"\n[storage]\nlayers_path = "l"\n[s3]\nsecret_access_key = "x"\n`),
      /\[s3\] unknown key secret_access_key/,
    );
  });
});
