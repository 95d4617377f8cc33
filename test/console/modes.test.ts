// The mode is chosen once: --json and plain text never load Ink (a resolve hook fails the
// run if anything asks for it), stdout carries only the document, and every error, usage
// errors included, is the JSON document on stdout and one line on stderr.
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { REPO_ROOT } from "../helpers/mcr-process.ts";

const HOOK = `export async function resolve(spec, ctx, next) {
  if (spec === "ink" || spec === "react" || spec.endsWith(".tsx")) throw new Error("Ink was loaded: " + spec);
  return next(spec, ctx);
}`;
const REGISTER = `data:text/javascript,${encodeURIComponent(`import { register } from "node:module"; register("data:text/javascript," + encodeURIComponent(${JSON.stringify(HOOK)}));`)}`;

function source(args: string[], env: NodeJS.ProcessEnv = {}): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      ["--import", "tsx", "--import", REGISTER, join(REPO_ROOT, "console", "main.ts"), ...args],
      { cwd: REPO_ROOT, env: { ...process.env, ...env } },
      (err, stdout, stderr) => resolve({ code: err ? Number((err as { code?: number }).code ?? 255) : 0, stdout, stderr }),
    );
  });
}

describe("output modes", () => {
  let dir: string;
  let config: string;
  before(() => {
    dir = mkdtempSync(join(tmpdir(), "mcp-modes-"));
    config = join(dir, "mcp.toml");
    // Port 9 on loopback: connection refused at once.
    writeFileSync(config, '[[nodes]]\nname = "rift"\nurl = "https://127.0.0.1:9"\n');
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  test("--json: one document on stdout, no Ink", async () => {
    const r = await source(["--config", config, "nodes", "--json"]);
    assert.equal(r.code, 6, r.stderr);
    const doc = JSON.parse(r.stdout);
    assert.equal(doc.nodes[0].state, "unreachable");
    assert.doesNotMatch(r.stderr, /Ink was loaded/);
  });

  test("plain text (stdout not a terminal): a table without ANSI, no Ink", async () => {
    const r = await source(["--config", config, "nodes"]);
    assert.equal(r.code, 6, r.stderr);
    assert.match(r.stdout, /^NODE +URL +STATE/);
    assert.doesNotMatch(r.stdout, /\x1b/);
    assert.doesNotMatch(r.stderr, /Ink was loaded/);
  });

  test("usage errors: exit 2; with --json the error document on stdout and its line on stderr, as every error", async () => {
    const r = await source(["--config", config, "logs", "--json"]);
    assert.equal(r.code, 2);
    assert.equal(JSON.parse(r.stdout).error.code, "usage");
    assert.equal(r.stderr, "mcp: missing required argument 'target'\n");
    const other = await source(["--config", config, "deploy", "nope", "--json"]);
    assert.equal(JSON.parse(other.stdout.trim().split("\n").at(-1)!).error.code, "not_found");
    assert.match(other.stderr, /^mcp: no service definition .*nope\.toml$/m);
    const bad = await source(["--config", config, "logs", "shop", "--tail", "x", "--json"]);
    assert.equal(bad.code, 2);
    assert.match(JSON.parse(bad.stdout).error.message, /--tail must be a whole number/);
    const unknown = await source(["--config", config, "frobnicate"]);
    assert.equal(unknown.code, 2);
    assert.equal(unknown.stdout, "");
    assert.match(unknown.stderr, /unknown command 'frobnicate'/);
    const unknownJson = await source(["--config", config, "frobnicate", "--json"]);
    assert.deepEqual(JSON.parse(unknownJson.stdout), { error: { code: "usage", message: "unknown command 'frobnicate'" } });
    assert.equal(unknownJson.stderr, "mcp: unknown command 'frobnicate'\n");
  });
});
