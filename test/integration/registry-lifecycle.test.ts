// mcr as a process: config errors at start-up, $PORT, kill -9 mid-upload then
// resume, SIGTERM draining in-flight uploads, shutdown_timeout, orphan cleanup.
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { createHash, randomBytes } from "node:crypto";
import { existsSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { request } from "node:https";
import { createServer } from "node:net";
import { basename, join } from "node:path";
import { promisify } from "node:util";
import { after, describe, test } from "node:test";
import { RegistryClient } from "../helpers/https-client.ts";
import { MCR_BIN, initHome, removeHome, startMcr, type McrHome, type McrProcess } from "../helpers/mcr-process.ts";
import { until } from "../helpers/wait.ts";

const run = promisify(execFile);
const sha256 = (b: Buffer) => `sha256:${createHash("sha256").update(b).digest("hex")}`;
const homes: McrHome[] = [];
const started: McrProcess[] = [];
// A test that fails half-way leaves its mcr running; stop them all here, or the file never ends.
after(async () => {
  for (const p of started) await p.stop("SIGKILL").catch(() => undefined);
  homes.forEach(removeHome);
});

async function launch(home: McrHome, env: NodeJS.ProcessEnv = {}): Promise<McrProcess> {
  const p = await startMcr(home, env);
  started.push(p);
  return p;
}

async function newHome(extra = ""): Promise<McrHome> {
  const h = await initHome(extra);
  homes.push(h);
  return h;
}

/** Starts a PATCH that declares `total` bytes, sends only `first`, and leaves the request open. */
function openPatch(url: string, ca: string, path: string, first: Buffer, total: number) {
  const req = request(new URL(path, url), {
    method: "PATCH",
    ca,
    headers: { "Content-Type": "application/octet-stream", "Content-Length": total },
  });
  const response = new Promise<{ status: number; headers: Record<string, unknown> }>((resolve, reject) => {
    req.on("response", (res) => {
      res.resume();
      res.on("end", () => resolve({ status: res.statusCode!, headers: res.headers }));
    });
    req.on("error", reject);
  });
  req.write(first);
  return { req, response };
}

/**
 * Resolves once the registry has written more than `bytes` of the upload at `location`
 * to its file: the request is then in flight on the server, not merely sent.
 */
function uploadWritten(home: McrHome, location: string, bytes: number): Promise<true> {
  const file = join(home.dir, "uploads", basename(location.split("?")[0]!));
  return until(`more than ${bytes} bytes of the upload on the server`, async () => (statSync(file).size > bytes ? true : undefined), 10_000, 10);
}

/** Resolves once mcr has logged `re`. */
const logged = (mcr: McrProcess, re: RegExp) => until(`mcr to log ${re}`, async () => (re.test(mcr.logs()) ? true : undefined), 10_000, 10);

describe("start-up and configuration", () => {
  test("a missing config file, bad TOML and a missing required field are refused with a message naming the problem", async () => {
    const home = await newHome();
    const fail = async (args: string[], env: NodeJS.ProcessEnv = {}) => {
      const err = await run(MCR_BIN, args, { env: { ...process.env, ...env } }).then(
        () => assert.fail("mcr should have refused to start"),
        (e: { code: number; stderr: string }) => e,
      );
      assert.equal(err.code, 1);
      return err.stderr;
    };
    assert.match(await fail(["server", "--config", join(home.dir, "nope.toml")]), /nope\.toml: cannot read/);

    const bad = join(home.dir, "bad.toml");
    writeFileSync(bad, "[server\nlisten_addr = 1");
    assert.match(await fail(["server", "--config", bad]), /invalid TOML/);

    const noDb = join(home.dir, "nodb.toml");
    writeFileSync(noDb, readFileSync(home.config, "utf8").replace(/\[database\]\npath = .*\n/, ""));
    assert.match(await fail(["server", "--config", noDb]), /\[database\] is required/);

    const noLayers = join(home.dir, "nolayers.toml");
    writeFileSync(noLayers, readFileSync(home.config, "utf8").replace(/layers_path = .*\n/, ""));
    assert.match(await fail(["server", "--config", noLayers]), /\[storage\] layers_path is required/);

    const noCert = join(home.dir, "nocert.toml");
    writeFileSync(noCert, readFileSync(home.config, "utf8").replace(/tls_cert = .*\n/, ""));
    assert.match(await fail(["server", "--config", noCert]), /\[server\] tls_cert is required/);

    const httpIdentity = join(home.dir, "http-identity.toml");
    writeFileSync(httpIdentity, readFileSync(home.config, "utf8").replace('server_url = ""', 'server_url = "http://identity.example"'));
    assert.match(await fail(["server", "--config", httpIdentity]), /\[mcias\] server_url must be an https:\/\/ URL/);

    assert.match(await fail(["server", "--config", home.config], { MCR_SERVER_SHUTDOWN_TIMEOUT: "soon" }), /\[server\] shutdown_timeout is not a duration/);
    assert.match(await fail(["server", "--config", home.config], { PORT: "http" }), /\$PORT value "http" is not a port number/);
  });

  test("mcr init refuses to overwrite an existing home", async () => {
    const home = await newHome();
    const err = await run(MCR_BIN, ["init", "--dir", home.dir]).then(
      () => assert.fail("init should refuse"),
      (e: { code: number; stderr: string }) => e,
    );
    assert.equal(err.code, 1);
    assert.match(err.stderr, /already exists/);
  });

  test("$PORT overrides the configured port and $MCR_SERVER_LISTEN_ADDR the address", async () => {
    const home = await newHome();
    const port = await new Promise<number>((resolve) => {
      const s = createServer().listen(0, "127.0.0.1", () => {
        const p = (s.address() as { port: number }).port;
        s.close(() => resolve(p));
      });
    });
    const mcr = await launch(home, { PORT: String(port) });
    assert.equal(mcr.port, port);
    await mcr.stop();
  });

  test("orphaned upload files are removed at start-up, and sessions without data are dropped", async () => {
    const home = await newHome();
    const orphan = join(home.dir, "uploads", "0f0f0f0f-0000-4000-8000-000000000000");
    writeFileSync(orphan, "partial");
    const mcr = await launch(home);
    assert.equal(existsSync(orphan), false);
    await mcr.stop();
  });
});

describe("crash and shutdown", () => {
  test("kill -9 during a chunk: after restart the upload resumes from the last acknowledged byte", async () => {
    const home = await newHome();
    let mcr = await launch(home);
    let client = new RegistryClient(mcr.url, home.caPem);
    const blob = randomBytes(3 * 1024 * 1024 + 17);
    const digest = sha256(blob);
    const cut = 1024 * 1024;

    const start = await client.request("POST", "/v2/crash/test/blobs/uploads/");
    assert.equal(start.status, 202);
    const location = start.headers.location as string;
    const first = await client.request("PATCH", location, {
      headers: { "Content-Type": "application/octet-stream", "Content-Range": `0-${cut - 1}`, "Content-Length": cut },
      body: blob.subarray(0, cut),
    });
    assert.equal(first.status, 202);
    assert.equal(first.headers.range, `0-${cut - 1}`);

    // A second chunk is half sent when the server dies.
    const second = openPatch(mcr.url, home.caPem, location, blob.subarray(cut, cut + 500_000), blob.length - cut);
    second.response.catch(() => undefined);
    await uploadWritten(home, location, cut);
    assert.equal(await mcr.stop("SIGKILL"), "SIGKILL");
    second.req.destroy();
    client.close();

    mcr = await launch(home);
    client = new RegistryClient(mcr.url, home.caPem);
    const status = await client.request("GET", location);
    assert.equal(status.status, 204);
    assert.equal(status.headers.range, `0-${cut - 1}`, "only the acknowledged chunk survives");

    const rest = await client.request("PATCH", location, {
      headers: { "Content-Type": "application/octet-stream", "Content-Range": `${cut}-${blob.length - 1}`, "Content-Length": blob.length - cut },
      body: blob.subarray(cut),
    });
    assert.equal(rest.status, 202);
    const done = await client.request("PUT", `${location}?digest=${digest}`);
    assert.equal(done.status, 201);
    const got = await client.request("GET", `/v2/crash/test/blobs/${digest}`);
    assert.equal(got.status, 200);
    assert.equal(sha256(got.body), digest);
    client.close();
    await mcr.stop();
  });

  test("SIGTERM stops accepting but lets an in-flight upload finish, then exits 0", async () => {
    const home = await newHome();
    const mcr = await launch(home);
    const client = new RegistryClient(mcr.url, home.caPem);
    const blob = randomBytes(2 * 1024 * 1024);
    const start = await client.request("POST", "/v2/drain/test/blobs/uploads/");
    const location = start.headers.location as string;
    client.close();

    const patch = openPatch(mcr.url, home.caPem, location, blob.subarray(0, 1024 * 1024), blob.length);
    await uploadWritten(home, location, 0);
    const exited = mcr.stop("SIGTERM");
    await logged(mcr, /draining in-flight requests/); // the listener is closed before this is logged
    // New connections are refused while draining.
    await assert.rejects(new RegistryClient(mcr.url, home.caPem).request("GET", "/v1/health"), /ECONNREFUSED|ECONNRESET|socket hang up/);
    patch.req.end(blob.subarray(1024 * 1024));
    const res = await patch.response;
    assert.equal(res.status, 202);
    assert.equal(res.headers.range, `0-${blob.length - 1}`);
    assert.equal(await exited, 0);
    assert.match(mcr.logs(), /draining in-flight requests/);
  });

  test("shutdown_timeout bounds the drain: a stalled upload is cut off and the process exits", async () => {
    const home = await newHome();
    const mcr = await launch(home, { MCR_SERVER_SHUTDOWN_TIMEOUT: "1s" });
    const client = new RegistryClient(mcr.url, home.caPem);
    const location = (await client.request("POST", "/v2/stall/test/blobs/uploads/")).headers.location as string;
    client.close();
    // More than one of the buffers the server writes through (registry/storage/write-body.ts),
    // so part of it reaches the file while the rest never comes.
    const patch = openPatch(mcr.url, home.caPem, location, Buffer.alloc(300_000), 1_000_000);
    patch.response.catch(() => undefined);
    await uploadWritten(home, location, 0);
    const t0 = Date.now();
    assert.equal(await mcr.stop("SIGTERM"), 0);
    const took = Date.now() - t0;
    assert.ok(took >= 900 && took < 5000, `exit took ${took} ms`);
    assert.match(mcr.logs(), /shutdown timeout/);
    patch.req.destroy();
  });
});
