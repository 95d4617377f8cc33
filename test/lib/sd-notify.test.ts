// sd-notify: a daemon started with $NOTIFY_SOCKET tells the manager through systemd-notify
// (a stand-in on PATH records what it was given) and keeps the socket from its children;
// without it nothing is run. The real manager is in test/deploy/systemd-boot.test.ts.
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { after, test } from "node:test";
import { REPO_ROOT } from "../helpers/mcr-process.ts";

const run = promisify(execFile);
const dir = mkdtempSync(join(tmpdir(), "sd-notify-"));
after(() => rmSync(dir, { recursive: true, force: true }));

const record = join(dir, "record");
writeFileSync(join(dir, "systemd-notify"), `#!/bin/sh\necho "args=$* socket=$NOTIFY_SOCKET" >> ${record}\n`, { mode: 0o755 });
writeFileSync(join(dir, "fails"), "#!/bin/sh\necho 'no manager here' >&2\nexit 1\n", { mode: 0o755 });

/** Runs a script in a fresh node (the module reads the socket when first loaded). */
async function daemon(script: string, env: NodeJS.ProcessEnv): Promise<string> {
  const file = join(dir, `d-${Date.now()}-${Math.random().toString(36).slice(2)}.mts`);
  writeFileSync(
    file,
    `import { sdNotify, notifySocket } from ${JSON.stringify(join(REPO_ROOT, "lib/process/sd-notify.ts"))};\nimport { execFileSync } from "node:child_process";\nconst log = { warn: (o: object, m: string) => console.log("WARN", m, JSON.stringify(o)) };\n${script}\n`,
  );
  const { stdout } = await run(process.execPath, ["--import", "tsx", file], {
    cwd: REPO_ROOT,
    env: { ...process.env, PATH: `${dir}:${process.env.PATH}`, ...env },
  });
  return stdout;
}

test("with NOTIFY_SOCKET: READY=1 goes through systemd-notify, and children never see the socket", async () => {
  const out = await daemon(
    `console.log("child sees [" + execFileSync("sh", ["-c", "echo $NOTIFY_SOCKET"]).toString().trim() + "]");\nconsole.log("socket", notifySocket());\nconsole.log("sent", await sdNotify({ READY: "1", STATUS: "serving on\\n:8443" }, log));`,
    { NOTIFY_SOCKET: "/run/systemd/notify" },
  );
  assert.match(out, /child sees \[\]/, "podman and every other child start without NOTIFY_SOCKET");
  assert.match(out, /socket \/run\/systemd\/notify/);
  assert.match(out, /sent true/);
  assert.equal(
    readFileSync(record, "utf8"),
    "args=READY=1 STATUS=serving on :8443 socket=/run/systemd/notify\n",
    "one line per message; systemd-notify alone gets the socket",
  );
  rmSync(record);
});

test("without NOTIFY_SOCKET nothing is run", async () => {
  const out = await daemon(`console.log("sent", await sdNotify({ READY: "1" }, log));`, { NOTIFY_SOCKET: "" });
  assert.match(out, /sent false/);
  assert.throws(() => readFileSync(record), /ENOENT/);
});

test("a failing systemd-notify is logged, not thrown", async () => {
  const out = await daemon(`console.log("sent", await sdNotify({ READY: "1" }, log, "fails"));`, { NOTIFY_SOCKET: "/run/systemd/notify" });
  assert.match(out, /WARN could not tell the service manager .*no manager here/);
  assert.match(out, /sent false/);
});
