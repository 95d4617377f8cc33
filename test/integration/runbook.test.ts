// Runs every `sh` block of docs/runbook.md, in order, against a real mcr: /srv/mcr becomes
// a test home, /opt/metacircular/bin/mcr this checkout's bin/mcr, localhost:8443 the test
// server, /backup/mcr a temp folder; `sudo systemctl stop|start mcr` stops and starts the
// test's server. A runbook command that fails fails the test.
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { randomBytes } from "node:crypto";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { after, before, describe, test } from "node:test";
import { RegistryClient } from "../helpers/https-client.ts";
import { login } from "../helpers/identity.ts";
import { initHome, MCR_BIN, REPO_ROOT, removeHome, startMcr, type McrHome, type McrProcess } from "../helpers/mcr-process.ts";
import { OCI_MANIFEST } from "../helpers/oci.ts";
import { imageManifest, PushClient } from "../helpers/oci-push.ts";
import { skipUnlessTools } from "../helpers/tools.ts";

const run = promisify(execFile);

interface Section {
  title: string;
  blocks: string[];
}

/** The `sh` blocks of the runbook, by section. */
function runbookSections(): Section[] {
  const text = readFileSync(join(REPO_ROOT, "docs", "runbook.md"), "utf8");
  const sections: Section[] = [];
  let current: Section = { title: "", blocks: [] };
  for (const m of text.matchAll(/^## (.+)$|^```sh\n([\s\S]*?)^```$/gm)) {
    if (m[1]) sections.push((current = { title: m[1], blocks: [] }));
    else current.blocks.push(m[2]!);
  }
  return sections.filter((s) => s.blocks.length > 0);
}

describe("docs/runbook.md, command by command", { skip: skipUnlessTools("curl", "jq") }, () => {
  let home: McrHome;
  let server: McrProcess | undefined;
  let backup: string;
  const outputs = new Map<string, string>();

  before(async () => {
    home = await initHome();
    backup = mkdtempSync(join(tmpdir(), "runbook-backup-"));
    server = await startMcr(home, {}, { auth: true });
    const anon = new RegistryClient(server.url, home.caPem);
    const client = new RegistryClient(server.url, home.caPem, await login(anon, "admin", home.adminPassword));
    const push = new PushClient(client, server.url);
    const config = Buffer.from('{"os":"linux"}');
    const layer = randomBytes(4096);
    for (const b of [config, layer]) await push.pushBlob("team/app", b);
    assert.equal((await push.putManifest("team/app", "1", imageManifest(config, [layer]), OCI_MANIFEST)).status, 201);
    anon.close();
    client.close();
  });
  after(async () => {
    await server?.stop();
    removeHome(home);
    rmSync(backup, { recursive: true, force: true });
  });

  const substitute = (line: string) =>
    line
      .replaceAll("/opt/metacircular/bin/mcr", MCR_BIN)
      .replaceAll("sudo -u mcr ", "")
      .replaceAll("/srv/mcr", home.dir)
      .replaceAll("/backup/mcr", backup)
      .replaceAll("localhost:8443", server?.host ?? "localhost:1");

  async function shell(script: string, title: string): Promise<void> {
    try {
      const r = await run("bash", ["-euo", "pipefail", "-c", script], { timeout: 120_000 });
      outputs.set(title, (outputs.get(title) ?? "") + r.stdout + r.stderr);
    } catch (err) {
      const e = err as { code: number; stdout: string; stderr: string };
      assert.fail(`runbook "${title}": exit ${e.code}\n--- script\n${script}\n--- stdout\n${e.stdout}\n--- stderr\n${e.stderr}`);
    }
  }

  /** Runs one block: its systemctl lines act on the test's server, the rest goes to bash. */
  async function runBlock(block: string, title: string): Promise<void> {
    let script: string[] = [];
    const flush = async () => {
      if (script.length) await shell(script.join("\n"), title);
      script = [];
    };
    for (const line of block.split("\n")) {
      const systemctl = /^sudo systemctl (stop|start) mcr$/.exec(line.trim());
      if (!systemctl) {
        if (line.trim()) script.push(substitute(line));
        continue;
      }
      await flush();
      if (systemctl[1] === "stop") {
        assert.equal(await server!.stop(), 0);
        server = undefined;
      } else {
        server = await startMcr(home, {}, { auth: true });
      }
    }
    await flush();
  }

  test("every sh block runs, in order, and says what the runbook says it says", async () => {
    const sections = runbookSections();
    assert.deepEqual(
      sections.map((s) => s.title),
      ["Health", "Garbage collection", "Reconcile", "Snapshot (backup)", "Restore", "Disk full", "Corrupt database"],
    );
    for (const s of sections) for (const b of s.blocks) await runBlock(b, s.title);
    assert.match(outputs.get("Health")!, /^\{"status":"ok","database":"ok","storage":\{"backend":"filesystem","location":"[^"]+","status":"ok"\}\}$/m);
    assert.match(outputs.get("Health")!, /^401$/m);
    assert.match(outputs.get("Health")!, /^ok$/m);
    assert.match(outputs.get("Garbage collection")!, /\(dry run\) done: would remove 0 manifests/);
    assert.match(outputs.get("Garbage collection")!, /"last_run":\{"id"/);
    assert.match(outputs.get("Reconcile")!, /files without a row: 0/);
    assert.match(outputs.get("Snapshot (backup)")!, /snapshot .*backups\/mcr-\d{8}-\d{6}\.db/);
    assert.match(outputs.get("Restore")!, /the previous database is .*mcr\.db\.pre-restore/);
    assert.match(outputs.get("Restore")!, /^ok$/m);
    assert.match(outputs.get("Disk full")!, /layers/);
    assert.match(outputs.get("Corrupt database")!, /^ok$/m);
    // The registry came back with its content.
    const anon = new RegistryClient(server!.url, home.caPem);
    const client = new RegistryClient(server!.url, home.caPem, await login(anon, "admin", home.adminPassword));
    assert.equal((await client.request("GET", "/v2/team/app/manifests/1")).status, 200);
    anon.close();
    client.close();
  });
});
