// deploy/install.sh run for real into a temporary root (DESTDIR): the code with its
// production dependencies, the units, the homes and the examples it lays down, an upgrade
// that replaces the code and keeps the homes, and the agent signed by the mcr home's CA.
// The commands that would change the host (users, ownership, systemd) are stand-ins on
// PATH that record their calls: under DESTDIR they must not be called.
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { X509Certificate } from "node:crypto";
import { existsSync, lstatSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { after, before, describe, test } from "node:test";
import { REPO_ROOT } from "../helpers/mcr-process.ts";
import { loadRegistryConfig } from "../../registry/config.ts";

const run = promisify(execFile);
const INSTALL = join(REPO_ROOT, "deploy", "install.sh");
const UNITS = ["mcr.service", "mcr-backup.service", "mcr-backup.timer", "mcr-signer.service", "mcr-signer.timer"];

describe("install.sh into a temporary root", () => {
  let tmp: string;
  let root: string;
  let calls: string;
  let env: NodeJS.ProcessEnv;
  const prefix = () => join(root, "opt", "metacircular");
  const mode = (p: string) => statSync(p).mode & 0o777;
  const recorded = () => (existsSync(calls) ? readFileSync(calls, "utf8").trim().split("\n") : []);
  // From a folder with no node_modules: the installed binaries must not depend on the working directory.
  const install = (...args: string[]) => run("bash", [INSTALL, ...args], { cwd: tmp, env });

  before(() => {
    tmp = mkdtempSync(join(tmpdir(), "install-"));
    root = join(tmp, "root");
    calls = join(tmp, "calls.log");
    const bin = join(tmp, "bin");
    mkdirSync(bin);
    for (const cmd of ["systemctl", "useradd", "groupadd", "chown"])
      writeFileSync(join(bin, cmd), `#!/bin/sh\necho "${cmd} $*" >> ${calls}\n`, { mode: 0o755 });
    env = { ...process.env, DESTDIR: root, PATH: `${bin}:${process.env.PATH}` };
  });
  after(() => rmSync(tmp, { recursive: true, force: true }));

  test("mcr: code, production dependencies, units, home, CA folder and examples; nothing on the host", async () => {
    const { stdout } = await install("mcr", "--hostname", "registry.test", "--listen", "127.0.0.1:0");
    assert.match(stdout, /mcr\.service mcr-backup\.timer mcr-signer\.timer installed below .*root \(systemd not touched\)/);
    assert.deepEqual(recorded(), [], "no users, chown or systemctl");

    for (const f of [
      "bin/mcr",
      "bin/mcp-agent",
      "dist/mcr.js",
      "dist/build.json",
      "registry/main.ts",
      "lib/fs/atomic.ts",
      "package.json",
      "package-lock.json",
      "deploy/systemd/mcr.service",
    ]) {
      assert.ok(existsSync(join(prefix(), f)), `${f} installed`);
    }
    for (const f of ["node_modules/@connectrpc/connect-node", "node_modules/ink", "node_modules/pino"])
      assert.ok(existsSync(join(prefix(), f)), `${f} installed`);
    for (const f of [
      "test",
      "bench",
      ".git",
      ".mcr",
      ".mcr-ca",
      "node_modules/esbuild",
      "node_modules/typescript",
      "node_modules/tsx",
      "node_modules/@biomejs",
      "node_modules/.bin",
    ])
      assert.equal(existsSync(join(prefix(), f)), false, `${f} not installed`);
    // This checkout's dependencies, dev ones pruned: the native addon comes along, built for this Node.
    assert.ok(lstatSync(join(prefix(), "node_modules")).isDirectory());
    assert.ok(readdirSync(join(prefix(), "node_modules/better-sqlite3/build/Release")).includes("better_sqlite3.node"));
    assert.equal(existsSync(join(root, "opt", "metacircular.new")), false, "no staging folder left");

    for (const u of UNITS) {
      const unit = join(root, "etc", "systemd", "system", u);
      assert.equal(readFileSync(unit, "utf8"), readFileSync(join(REPO_ROOT, "deploy", "systemd", u), "utf8"), u);
      assert.equal(mode(unit), 0o644);
    }

    const home = join(root, "srv", "mcr");
    assert.equal(mode(home), 0o700);
    assert.equal(mode(join(home, "backups")), 0o700, "where mcr-backup.service writes");
    assert.equal(mode(join(root, "srv", "mcr-ca")), 0o700);
    assert.ok(existsSync(join(root, "srv", "mcr-ca", "ca-key.pem")), "the CA key is in its own folder");
    assert.equal(existsSync(join(home, "certs", "ca-key.pem")), false, "and not in mcr's home");
    const cfg = loadRegistryConfig(join(home, "mcr.toml"), {});
    assert.equal(cfg.database.path, join(home, "mcr.db"));
    assert.ok(existsSync(cfg.database.path));
    const cert = new X509Certificate(readFileSync(cfg.server.tls_cert));
    assert.match(cert.subjectAltName ?? "", /DNS:registry\.test/);

    const examples = join(root, "etc", "metacircular", "examples");
    for (const f of ["mcr.toml", "mcp-agent.toml", "mcp.toml", "machine-registry", "services/echo.toml", "services/myservice.toml"]) {
      assert.equal(readFileSync(join(examples, f), "utf8"), readFileSync(join(REPO_ROOT, "deploy", "examples", f), "utf8"), f);
    }

    // The installed binary runs from any working directory (systemd starts it in /).
    const { stdout: version } = await run(join(prefix(), "bin", "mcr"), ["--version"], { cwd: "/" });
    assert.match(version, /^\d+\.\d+\.\d+/);
  });

  test("running it again replaces the code and keeps the home and an edited example", async () => {
    const home = join(root, "srv", "mcr");
    const before = { config: readFileSync(join(home, "mcr.toml"), "utf8"), password: readFileSync(join(home, "admin.password"), "utf8") };
    writeFileSync(join(prefix(), "registry", "removed-since.ts"), "// a file the sources no longer have\n");
    const example = join(root, "etc", "metacircular", "examples", "mcp.toml");
    writeFileSync(example, "# mine\n");
    await install("mcr");
    assert.equal(readFileSync(join(home, "mcr.toml"), "utf8"), before.config);
    assert.equal(readFileSync(join(home, "admin.password"), "utf8"), before.password);
    assert.equal(existsSync(join(prefix(), "registry", "removed-since.ts")), false, "the code is replaced whole");
    assert.equal(readFileSync(example, "utf8"), "# mine\n", "an example already there is never overwritten");
    assert.deepEqual(readdirSync(join(root, "opt")), ["metacircular"], "no staging or old copy left");
  });

  test("agent: its home is signed by the platform CA of the mcr home beside it", async () => {
    const { stdout } = await install("agent", "--identity-url", "https://localhost:8443", "--registry", "localhost:8443", "--node", "rift");
    assert.match(stdout, /mcp-agent\.service installed below/);
    const dir = join(root, "var", "lib", "mcp-agent");
    assert.equal(mode(dir), 0o700);
    const config = readFileSync(join(dir, "mcp-agent.toml"), "utf8");
    assert.match(config, /server_url = "https:\/\/localhost:8443"/);
    assert.match(config, /host = "localhost:8443"/);
    assert.match(config, /name = "rift"/);
    const ca = new X509Certificate(readFileSync(join(root, "srv", "mcr-ca", "ca.pem")));
    const cert = new X509Certificate(readFileSync(join(dir, "certs", "cert.pem")));
    assert.ok(cert.checkIssued(ca) && cert.verify(ca.publicKey), "the agent's certificate is signed by mcr's platform CA");
    assert.equal(
      readFileSync(join(root, "etc", "systemd", "system", "mcp-agent.service"), "utf8"),
      readFileSync(join(REPO_ROOT, "deploy", "systemd", "mcp-agent.service"), "utf8"),
    );
    assert.deepEqual(recorded(), []);
  });

  test("agent --token needs the registry's URL, and a bad token is refused by mcp-agent join, leaving no config", async () => {
    const fresh = { ...env, DESTDIR: join(tmp, "root-token") };
    const token = `MCPJOIN-1-${"0".repeat(64)}-${"1".repeat(64)}`;
    await assert.rejects(
      run("bash", [INSTALL, "agent", "--token", token], { cwd: tmp, env: fresh }),
      (e: { code: number; stderr: string }) => e.code === 2 && /--token needs --registry-url/.test(e.stderr),
    );
    await assert.rejects(
      run("bash", [INSTALL, "agent", "--token", "not-a-token", "--registry-url", "https://127.0.0.1:1"], { cwd: tmp, env: fresh }),
      (e: { stderr: string }) => /this is not a join token/.test(e.stderr),
    );
    assert.equal(existsSync(join(tmp, "root-token", "var", "lib", "mcp-agent", "mcp-agent.toml")), false);
  });

  test("a dependency list without the daemons' packages is refused, and no code is laid down", async () => {
    // npm ls answering nothing (a broken node_modules): what to copy is unknown.
    const bin = mkdtempSync(join(tmpdir(), "install-npm-"));
    writeFileSync(join(bin, "npm"), `#!/bin/sh\necho asked >> ${join(bin, "asked")}\necho "npm ERR! code ELSPROBLEMS" >&2\nexit 1\n`, { mode: 0o755 });
    const elsewhere = join(tmp, "root-npm");
    try {
      await assert.rejects(
        run("bash", [INSTALL, "mcr"], { cwd: tmp, env: { ...env, DESTDIR: elsewhere, PATH: `${bin}:${env.PATH}` } }),
        (e: { code: number; stderr: string }) =>
          e.code === 1 &&
          /npm ls --omit=dev in .* does not list node_modules\/@connectrpc\/connect: run scripts\/setup\.sh/.test(e.stderr) &&
          /npm said:\nnpm ERR! code ELSPROBLEMS/.test(e.stderr),
      );
      assert.equal(readFileSync(join(bin, "asked"), "utf8"), "asked\nasked\n", "npm ls is asked twice before giving up");
      assert.equal(existsSync(elsewhere), false, "nothing laid down, not even a staging folder");
    } finally {
      rmSync(bin, { recursive: true, force: true });
    }
  });

  test("a missing option value is refused before anything is done", async () => {
    await assert.rejects(install("agent", "--registry"), (e: { code: number; stderr: string }) => e.code === 2 && /--registry needs a value/.test(e.stderr));
  });
});
