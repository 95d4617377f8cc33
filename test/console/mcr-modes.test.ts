// The registry commands' modes and errors without a registry to talk to: --json and plain
// text never load Ink; no session exits 4, an unreachable registry 6, no [registry] url
// and bad arguments 2, each with a JSON error document under --json.
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { REPO_ROOT } from "../helpers/mcr-process.ts";

const HOOK = `export async function resolve(spec, ctx, next) {
  if (spec === "ink" || spec === "react" || spec.endsWith(".tsx")) throw new Error("Ink was loaded: " + spec);
  return next(spec, ctx);
}`;
const REGISTER = `data:text/javascript,${encodeURIComponent(`import { register } from "node:module"; register("data:text/javascript," + encodeURIComponent(${JSON.stringify(HOOK)}));`)}`;

function source(args: string[], env: NodeJS.ProcessEnv = {}): Promise<{ code: number; stdout: string; stderr: string; json: () => any }> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      ["--import", "tsx", "--import", REGISTER, join(REPO_ROOT, "console", "main.ts"), ...args],
      { cwd: REPO_ROOT, env: { ...process.env, ...env } },
      (err, stdout, stderr) => resolve({ code: err ? Number((err as { code?: number }).code ?? 255) : 0, stdout, stderr, json: () => JSON.parse(stdout) }),
    );
  });
}

describe("registry commands: modes and errors", () => {
  let dir: string;
  let config: string;
  let noRegistry: string;
  let env: NodeJS.ProcessEnv;
  before(() => {
    dir = mkdtempSync(join(tmpdir(), "mcp-mcr-modes-"));
    config = join(dir, "mcp.toml");
    noRegistry = join(dir, "none.toml");
    // Port 9 on loopback: connection refused at once.
    writeFileSync(config, '[registry]\nurl = "https://127.0.0.1:9"\n');
    writeFileSync(noRegistry, "");
    env = { XDG_STATE_HOME: join(dir, "state") };
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  test("without a session: exit 4 and `mcp login`, as JSON and as one line of plain text", async () => {
    const r = await source(["--config", config, "registry", "repos", "--json"], env);
    assert.equal(r.code, 4, r.stderr);
    assert.equal(r.json().error.code, "unauthenticated");
    assert.match(r.json().error.message, /mcp login/);
    const plain = await source(["--config", config, "gc", "--dry-run"], env);
    assert.equal(plain.code, 4);
    assert.equal(plain.stdout, "");
    assert.doesNotMatch(plain.stderr, /Ink was loaded/);
  });

  test("with a session and the registry down: exit 6 (unreachable), no Ink", async () => {
    const state = join(dir, "state-session");
    mkdirSync(join(state, "mcp"), { recursive: true, mode: 0o700 });
    const expires = new Date(Date.now() + 3600_000).toISOString();
    writeFileSync(
      join(state, "mcp", "credentials.json"),
      JSON.stringify({
        sessions: {
          "https://127.0.0.1:9": { username: "admin", tokens: { mcr: { token: "t", expires_at: expires }, "mcp-agent": { token: "a", expires_at: expires } } },
        },
      }),
      { mode: 0o600 },
    );
    for (const args of [
      ["registry", "repos", "--json"],
      ["policy", "list", "--json"],
      ["audit", "--json"],
      ["snapshot", "--json"],
      ["gc", "--json"],
    ]) {
      const r = await source(["--config", config, ...args], { XDG_STATE_HOME: state });
      assert.equal(r.code, 6, `${args.join(" ")}: ${r.stdout} ${r.stderr}`);
      assert.equal(r.json().error.code, "unreachable");
      assert.doesNotMatch(r.stderr, /Ink was loaded/);
    }
    const plain = await source(["--config", config, "registry", "repos"], { XDG_STATE_HOME: state });
    assert.equal(plain.code, 6);
    assert.doesNotMatch(plain.stderr, /Ink was loaded/);
  });

  test("usage: unknown actions, missing arguments, a policy without an effect, no [registry] url: exit 2", async () => {
    for (const [args, re] of [
      [["registry", "frobnicate"], /unknown registry action "frobnicate"/],
      [["registry", "tags"], /missing repository/],
      [["registry", "manifest", "team/app"], /a tag or digest is needed/],
      [["policy", "create"], /--effect allow or --effect deny/],
      [["policy", "enable", "x"], /rule id must be a whole number/],
      [["policy", "update", "3"], /update needs --priority or --description/],
      [["audit", "-n", "many"], /--limit must be a whole number/],
    ] as [string[], RegExp][]) {
      const r = await source(["--config", config, ...args, "--json"], env);
      assert.equal(r.code, 2, `${args.join(" ")}: ${r.stdout}`);
      assert.equal(r.json().error.code, "usage");
      assert.match(r.json().error.message, re);
    }
    const none = await source(["--config", noRegistry, "registry", "repos", "--json"], env);
    assert.equal(none.code, 2, none.stdout);
    assert.match(none.json().error.message, /no \[registry\] url/);
  });
});
