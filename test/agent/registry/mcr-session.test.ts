// The agent's registry session without a registry: which images get credentials, when the
// registry token is renewed (injected clock, a stand-in identity server), and how a podman
// of another user is handed them — a fake podman records what reaches its standard input.
import assert from "node:assert/strict";
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { InvalidCredentialsError, type LoginRequest } from "../../../lib/auth/types.ts";
import { imageRepository, McrSession } from "../../../agent/registry/mcr-session.ts";
import { PodmanCli } from "../../../agent/runtime/podman-cli.ts";
import { RuntimeError } from "../../../agent/runtime/runtime.ts";

const HOUR = 3_600_000;

describe("imageRepository", () => {
  test("host and repository of references with tags, digests, ports and docker://", () => {
    const d = `sha256:${"a".repeat(64)}`;
    assert.deepEqual(imageRepository("mcr.example:8443/team/app:v1"), { host: "mcr.example:8443", repository: "team/app" });
    assert.deepEqual(imageRepository(`mcr.example:8443/team/app@${d}`), { host: "mcr.example:8443", repository: "team/app" });
    assert.deepEqual(imageRepository(`localhost:5000/a/b/c:v1@${d}`), { host: "localhost:5000", repository: "a/b/c" });
    assert.deepEqual(imageRepository("docker://registry.example/app"), { host: "registry.example", repository: "app" });
    assert.deepEqual(imageRepository("localhost/app:1"), { host: "localhost", repository: "app" });
  });

  test("names without a registry host have none", () => {
    for (const ref of ["busybox", "busybox:1", "library/busybox:1", "team/app:v1", "/app", ""]) assert.equal(imageRepository(ref), null, ref);
  });
});

describe("McrSession's registry token", () => {
  let dir: string;
  let passwordFile: string;
  before(() => {
    dir = mkdtempSync(join(tmpdir(), "mcr-session-"));
    passwordFile = join(dir, "registry.password");
    writeFileSync(passwordFile, "the agent's password\n", { mode: 0o600 });
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  /** A session whose identity server issues `ttlMs` tokens and counts the logins. */
  function session(ttlMs: number, clock: { now: number }) {
    const logins: LoginRequest[] = [];
    const identity = {
      async login(r: LoginRequest) {
        logins.push(r);
        if (r.password !== "the agent's password") throw new InvalidCredentialsError();
        return { token: `token-${logins.length}`, expiresAt: new Date(clock.now + ttlMs).toISOString() };
      },
    };
    return { logins, s: new McrSession({ registryHost: "mcr:8443", identity, username: "agent-node1", passwordFile, now: () => clock.now }) };
  }

  test("logs in for the registry once, shares the login between concurrent callers, and renews 5 minutes before expiry", async () => {
    const clock = { now: Date.parse("2026-01-01T00:00:00Z") };
    const { s, logins } = session(12 * HOUR, clock);
    assert.deepEqual(await Promise.all([s.token(), s.token(), s.token()]), ["token-1", "token-1", "token-1"]);
    assert.equal(logins.length, 1);
    assert.deepEqual([logins[0]!.username, logins[0]!.password, logins[0]!.serviceName], ["agent-node1", "the agent's password", "mcr"]);
    clock.now += 12 * HOUR - 5 * 60_000 - 1;
    assert.equal(await s.token(), "token-1");
    clock.now += 1;
    assert.equal(await s.token(), "token-2");
    s.close();
  });

  test("a short-lived token is renewed at half its life; a refused one at once", async () => {
    const clock = { now: 0 };
    const { s, logins } = session(60_000, clock);
    assert.equal(await s.token(), "token-1");
    clock.now = 29_999;
    assert.equal(await s.token(), "token-1");
    clock.now = 30_000;
    assert.equal(await s.token(), "token-2");
    s.tokenRefused("token-1"); // an older token: nothing to forget
    assert.equal(await s.token(), "token-2");
    s.tokenRefused("token-2");
    assert.equal(await s.token(), "token-3");
    assert.equal(logins.length, 3);
    s.close();
  });

  test("a wrong or unreadable password is an error naming the account or the file", async () => {
    const clock = { now: 0 };
    const { s } = session(HOUR, clock);
    writeFileSync(passwordFile, "wrong\n");
    await assert.rejects(s.token(), /cannot log in to the registry as agent-node1: invalid username or password/);
    rmSync(passwordFile);
    await assert.rejects(s.token(), new RegExp(`cannot read the registry password_file ${passwordFile}: ENOENT`));
    s.close();
  });
});

describe("PodmanCli with piped credentials", () => {
  let dir: string;
  let fake: string;
  before(() => {
    dir = mkdtempSync(join(tmpdir(), "piped-auth-"));
    // Records its arguments, and its standard input when told to read the auth file from it;
    // fails as podman does on a refused token while $dir/refuse holds a count above zero.
    fake = join(dir, "podman");
    writeFileSync(
      fake,
      `#!/bin/sh
echo "$*" >> ${dir}/args
case " $* " in *" /dev/stdin "*) cat > ${dir}/stdin.$(date +%s%N) ;; esac
n=$(cat ${dir}/refuse 2>/dev/null || echo 0)
if [ "$n" -gt 0 ]; then echo $((n - 1)) > ${dir}/refuse; echo 'Error: reading blob: unauthorized: this pull token is unknown or has expired' >&2; exit 125; fi
`,
      { mode: 0o755 },
    );
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  const reset = () => {
    for (const f of readdirSync(dir)) if (f !== "podman") rmSync(join(dir, f));
  };
  const piped = () =>
    readdirSync(dir)
      .filter((f) => f.startsWith("stdin."))
      .sort()
      .map((f) => readFileSync(join(dir, f), "utf8"));
  const args = () => readFileSync(join(dir, "args"), "utf8").trim().split("\n");

  test("each call gets the auth file made for its image on stdin, through --authfile /dev/stdin", async () => {
    reset();
    const asked: string[] = [];
    const rt = new PodmanCli({ command: fake });
    await rt.pull("mcr:8443/team/app:v1", { certDir: "/certs", pipedAuth: async (image) => (asked.push(image), `{"for":"${image}"}`) });
    assert.deepEqual(asked, ["mcr:8443/team/app:v1"]);
    assert.deepEqual(piped(), ['{"for":"mcr:8443/team/app:v1"}']);
    assert.deepEqual(args(), ["pull --quiet --authfile /dev/stdin --cert-dir /certs mcr:8443/team/app:v1"]);
  });

  test("no credentials for an image: no --authfile and nothing on stdin", async () => {
    reset();
    await new PodmanCli({ command: fake }).pull("docker.io/library/busybox:1", {
      certDir: "/certs",
      authFile: "/root/auth.json",
      pipedAuth: async () => null,
    });
    assert.deepEqual(piped(), []);
    assert.deepEqual(args(), ["pull --quiet --cert-dir /certs docker.io/library/busybox:1"], "not the agent's own auth file either");
  });

  test("a call refused for its credentials is made again with new ones, at most three times", async () => {
    reset();
    let n = 0;
    const rt = new PodmanCli({ command: fake });
    const opts = { pipedAuth: async () => `{"n":${++n}}` };
    writeFileSync(join(dir, "refuse"), "2");
    await rt.pull("mcr:8443/team/app:v1", opts);
    assert.deepEqual(piped(), ['{"n":1}', '{"n":2}', '{"n":3}']);
    writeFileSync(join(dir, "refuse"), "3");
    await assert.rejects(rt.pull("mcr:8443/team/app:v1", opts), (e: unknown) => e instanceof RuntimeError && /unauthorized/.test(e.message));
    assert.equal(n, 6);
  });

  test("when no credentials can be had, the call fails with the reason and podman is not run", async () => {
    reset();
    const rt = new PodmanCli({ command: fake });
    const opts = {
      pipedAuth: async () =>
        Promise.reject(new Error("cannot get a pull token for team/app from https://mcr:8443/v1/auth/pull-token: HTTP 403: agent may not pull team/app")),
    };
    await assert.rejects(
      rt.pull("mcr:8443/team/app:v1", opts),
      (e: unknown) =>
        e instanceof RuntimeError &&
        /^podman pull mcr:8443\/team\/app:v1 failed: cannot get a pull token .* HTTP 403: agent may not pull team\/app$/.test(
          e.message.replace(fake, "podman"),
        ),
    );
    assert.deepEqual(
      readdirSync(dir).filter((f) => f === "args"),
      [],
    );
  });
});
