// `mcp node add|list|remove` against an in-memory NodeService: the token and the join command
// (text and --json), --expires, --url and --hostname as sent; the list with certificate expiry
// and its warning; remove's confirmation (refused without --yes off a terminal, asked on one)
// and what it says about the node's containers; the registry's refusal of a non-admin as the
// registry worded it.
import assert from "node:assert/strict";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { PassThrough } from "node:stream";
import { after, describe, test } from "node:test";
import nodeCommand, { expiresSeconds } from "../../console/commands/node.ts";
import { recorded } from "../../console/commands/commands.ts";
import { COMMANDS } from "../../console/commands/index.ts";
import type { ConsoleError } from "../../console/output/errors.ts";
import { commandContext, health, removeFixtures } from "./tui-fixture.ts";
import { fakeNodeService, joined, pending, platformStore, TOKEN } from "./node-fake.ts";

after(removeFixtures);

function setup(opts: { admin?: boolean } = {}) {
  const mcr = fakeNodeService({
    ...opts,
    nodes: [joined("orbit", "https://orbit.example:9444", 10, 90, "0A1B"), joined("vela", "https://vela.example:9444", 80, 90, "C3"), pending("nova")],
    revoked: ["DEAD01"],
  });
  const fx = platformStore({ rift: { health } }, { rift: "https://rift.test:9444" }, mcr);
  const config = join(fx.dir, "mcp.toml");
  writeFileSync(config, '[registry]\nurl = "https://mcr.test:8443"\n');
  const run = async (mode: "json" | "plain" | "tty", args: string[], opts: Record<string, unknown> = {}, stdin?: NodeJS.ReadStream) => {
    const c = commandContext(config, mode, fx.deps);
    const ctx = stdin ? Object.assign(c.ctx, { stdin }) : c.ctx;
    let code: number | undefined;
    let error: ConsoleError | undefined;
    try {
      code = await nodeCommand.run(ctx, args, opts);
    } catch (e) {
      error = e as ConsoleError;
    }
    return { code, error, stdout: c.stdout(), stderr: c.stderr() };
  };
  return { mcr, run, ...fx };
}

describe("mcp node", () => {
  test("add prints the one-time token and the join command; --expires, --url and --hostname reach the registry", async () => {
    const { mcr, run } = setup();
    const r = await run("plain", ["add", "lyra"], {
      url: "https://lyra.example:9555/",
      hostname: ["lyra.lan,10.0.0.7", "lyra"],
      expires: expiresSeconds("2h"),
    });
    assert.equal(r.code, 0, r.error?.message);
    assert.match(r.stdout, /node lyra added: pending until it joins; its token works until \S+ \(in 1h59m\)/);
    assert.match(r.stdout, new RegExp(`^  mcp-agent join --token ${TOKEN} https://mcr\\.test:8443$`, "m"));
    assert.match(r.stdout, /shown only this once/);
    assert.deepEqual(
      mcr.added.map((a) => [a.name, a.url, a.hostnames, a.expiresSeconds]),
      [["lyra", "https://lyra.example:9555", ["lyra.lan", "10.0.0.7", "lyra"], 7200]],
    );
  });

  test("add --json: the node, the token and the join command; without --expires the registry's default (0)", async () => {
    const { mcr, run } = setup();
    const r = await run("json", ["add", "lyra"]);
    const doc = JSON.parse(r.stdout);
    assert.deepEqual(Object.keys(doc), ["node", "token", "joinCommand"]);
    assert.equal(doc.node.name, "lyra");
    assert.equal(doc.node.state, "pending");
    assert.equal(doc.node.url, "https://lyra:9444");
    assert.equal(doc.node.certWarning, false);
    assert.equal(doc.token, TOKEN);
    assert.equal(doc.joinCommand, `mcp-agent join --token ${TOKEN} https://mcr.test:8443`);
    assert.equal(mcr.added[0]!.expiresSeconds, 0);
  });

  test("add by an account without the admin role: permission_denied with the registry's own words; nothing sent for bad arguments", async () => {
    const { mcr, run } = setup({ admin: false });
    const r = await run("json", ["add", "lyra"]);
    assert.equal(r.error?.code, "permission_denied");
    assert.equal(r.error?.exitCode, 5);
    assert.equal(r.error?.message, "the registry: permission denied: adding and removing nodes needs the admin role");
    assert.equal(r.stdout, "");
    for (const [args, opts, re] of [
      [["add"], {}, /missing node name: mcp node add NAME/],
      [["add", "Bad Name"], {}, /"Bad Name" is not a node name/],
      [["add", "lyra"], { url: "http://lyra:9444" }, /--url must be the agent's https:\/\/ URL/],
      [["frob"], {}, /unknown node action "frob": add, list or remove/],
    ] as const) {
      const bad = await run("json", [...args], opts);
      assert.equal(bad.error?.code, "usage", String(args));
      assert.match(bad.error!.message, re);
    }
    assert.equal(mcr.added.length, 0);
  });

  test("--expires: a duration from 1s to 7d", () => {
    assert.equal(expiresSeconds("1s"), 1);
    assert.equal(expiresSeconds("90m"), 5400);
    assert.equal(expiresSeconds("7d"), 604800);
    for (const v of ["0", "500ms", "8d", "169h", "an hour", ""]) assert.throws(() => expiresSeconds(v), /--expires must be a duration from 1s to 7d/, v);
  });

  test("list: every node with its certificate's expiry, a warning when less than a third of its life is left, the pending one marked", async () => {
    const { run } = setup();
    const r = await run("plain", ["list"]);
    assert.equal(r.code, 0, r.error?.message);
    assert.match(r.stdout, /^NODE +STATE +URL +ACCOUNT +CERT EXPIRES +SINCE$/m);
    assert.match(r.stdout, /^orbit +joined +https:\/\/orbit\.example:9444 +node-orbit +in 80d0h \(\d{4}-\d\d-\d\d\) +joined 20/m);
    assert.match(r.stdout, /^vela +joined .* +in 10d0h /m);
    assert.match(r.stdout, /^nova +pending +https:\/\/nova:9444 +- +- +created 20/m);
    assert.match(r.stdout, /node vela: its certificate expires in 10d0h, less than a third of its lifetime left/);
    assert.doesNotMatch(r.stdout, /node orbit: its certificate/);
    assert.match(r.stdout, /node nova is waiting to join: its token works until \S+ \(in 59m\); run on it the join command mcp node add printed/);
  });

  test("list --json: the nodes with certWarning, and the revoked serials", async () => {
    const { run } = setup();
    const doc = JSON.parse((await run("json", ["list"])).stdout);
    assert.deepEqual(
      doc.nodes.map((n: { name: string; state: string; certWarning: boolean }) => [n.name, n.state, n.certWarning]),
      [
        ["orbit", "joined", false],
        ["vela", "joined", true],
        ["nova", "pending", false],
      ],
    );
    assert.equal(doc.nodes[0].certSerial, "0A1B");
    assert.match(doc.nodes[0].certExpiresAt, /^\d{4}-/);
    assert.deepEqual(doc.revokedSerials, ["DEAD01"]);
  });

  test("remove without --yes: refused off a terminal (usage, naming --yes), nothing removed", async () => {
    const { mcr, run } = setup();
    for (const mode of ["json", "plain", "tty"] as const) {
      const r = await run(mode, ["remove", "orbit"]);
      assert.equal(r.error?.code, "usage", mode);
      assert.match(r.error!.message, /confirm with --yes/);
    }
    assert.deepEqual(mcr.removed, []);
  });

  test("remove on a terminal asks: n keeps the node (exit 1)", async () => {
    const { mcr, run } = setup();
    const stdin = Object.assign(new PassThrough(), { isTTY: true }) as unknown as NodeJS.ReadStream;
    setTimeout(() => (stdin as unknown as PassThrough).write("n\n"), 20);
    const r = await run("tty", ["remove", "orbit"], {}, stdin);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /remove node orbit\? Its containers keep running as they are, no longer managed by the platform .*\[y\/N\]/);
    assert.match(r.stderr, /not removed/);
    assert.deepEqual(mcr.removed, []);
  });

  test("remove --yes: the node goes, its serials are revoked, and its containers are said to keep running", async () => {
    const { mcr, run } = setup();
    const r = await run("plain", ["remove", "orbit"], { yes: true });
    assert.equal(r.code, 0, r.error?.message);
    assert.match(r.stdout, /node orbit removed: its account is disabled and its certificate is revoked/);
    assert.match(r.stdout, /its containers keep running as they are: the platform no longer manages them \(stop or remove them on orbit first/);
    assert.deepEqual(mcr.removed, ["orbit"]);
    const json = JSON.parse((await run("json", ["remove", "vela"], { yes: true })).stdout);
    assert.deepEqual([json.node.name, json.revokedSerials], ["vela", ["C3"]]);
    const never = await run("plain", ["remove", "nova"], { yes: true });
    assert.match(never.stdout, /node nova removed before it joined: its join token no longer works/);
    assert.doesNotMatch(never.stdout, /containers/);
    const missing = await run("json", ["remove", "nope"], { yes: true });
    assert.equal(missing.error?.code, "not_found");
  });

  test("node add and remove are recorded in the command log with the node as target; list is not; the command is registered", () => {
    assert.deepEqual(recorded("node", ["add", "lyra"], {}), { target: "lyra" });
    assert.deepEqual(recorded("node", ["remove", "lyra"], { yes: true }), { target: "lyra" });
    assert.equal(recorded("node", ["list"], {}), null);
    assert.ok(COMMANDS.includes(nodeCommand));
  });
});
