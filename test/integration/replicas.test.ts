// Several mcr replicas on one PostgreSQL database and one S3 bucket (docs/scale-out.md): any
// replica answers any request of an upload; one garbage collection at a time across them,
// released by PostgreSQL when its replica dies; a replica killed mid-upload leaves the upload
// for another to finish; pushes and pulls on one replica while GC runs back to back on the
// other never fail (the GC soak across replicas). With identity on: failed logins through one
// replica count on the other, and a token revoked or an account disabled through one is
// refused by the other within 5 s (measured). mcr check --verify reads objects back from the bucket.
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { readFileSync } from "node:fs";
import { execFile } from "node:child_process";
import { request as httpsRequest } from "node:https";
import { promisify } from "node:util";
import { after, before, describe, test } from "node:test";
import { GC_PAUSED, pauseGcAfterMark } from "../helpers/gc-pause.ts";
import { RegistryClient } from "../helpers/https-client.ts";
import { initHome, MCR_BIN, removeHome, scaleOutServers, startMcr, stopScaleOutServers, type McrHome, type McrProcess } from "../helpers/mcr-process.ts";
import { sha256 } from "../helpers/oci.ts";
import { PushClient } from "../helpers/oci-push.ts";
import { SoakLoad } from "../helpers/soak.ts";
import { skipUnlessPostgres } from "../helpers/postgres.ts";
import { addAccount, login, mcrCli } from "../helpers/identity.ts";
import { until } from "../helpers/wait.ts";

const run = promisify(execFile);
const SOAK_SECONDS = Number(process.env.REPLICA_SOAK_SECONDS ?? 15);
const GRACE = { MCR_GC_GRACE: "5s" };
/** What "within 5 s" allows a revocation to take to reach another replica. */
const REVOCATION_MS = 5_000;
const basic = (u: string, p: string) => ({ Authorization: `Basic ${Buffer.from(`${u}:${p}`).toString("base64")}` });
const bearerOf = (t: string) => ({ Authorization: `Bearer ${t}` });

/** Polls `fn` until it is true; returns how long that took, failing past `ms`. */
async function timeUntil(what: string, fn: () => Promise<boolean>, ms = 15_000): Promise<number> {
  const start = performance.now();
  await until(what, async () => ((await fn()) ? true : undefined), ms, 20);
  return performance.now() - start;
}

async function gcStart(c: RegistryClient, body = "{}"): Promise<{ status: number; text: string }> {
  return c.request("POST", "/v1/gc", { headers: { "Content-Type": "application/json" }, body });
}

async function gcWait(c: RegistryClient): Promise<Record<string, string>> {
  for (;;) {
    const s = (await c.request("GET", "/v1/gc/status")).json();
    if (!s.running) return s.last_run;
    await new Promise((r) => setTimeout(r, 25));
  }
}

describe("two mcr replicas on one PostgreSQL database and S3 bucket", { skip: skipUnlessPostgres() }, () => {
  let home: McrHome;
  let a: McrProcess;
  let b: McrProcess;
  let ca: RegistryClient;
  let cb: RegistryClient;
  const extra: McrProcess[] = [];
  /** Two replicas with identity on (started by the first test that needs them), four failed logins a minute. */
  let authPair: Promise<[McrProcess, McrProcess]> | undefined;
  const withAuth = () =>
    (authPair ??= Promise.all([0, 1].map(() => startMcr(home, { ...GRACE, MCR_AUTH_LOGINS_PER_MINUTE: "4" }, { auth: true }))).then((pair) => {
      extra.push(...pair);
      return pair as [McrProcess, McrProcess];
    }));

  before(async () => {
    home = await initHome("", { backend: "postgres-s3" });
    [a, b] = await Promise.all([startMcr(home, GRACE), startMcr(home, GRACE)]);
    ca = new RegistryClient(a.url, home.caPem);
    cb = new RegistryClient(b.url, home.caPem);
  });
  after(async () => {
    ca?.close();
    cb?.close();
    await Promise.all([a?.stop(), b?.stop(), ...extra.map((p) => p.stop("SIGKILL"))]);
    if (home) removeHome(home);
    await stopScaleOutServers();
  });

  test("a chunked push whose PATCHes alternate between the replicas is pulled whole from the other", async () => {
    const pa = new PushClient(ca, a.url);
    const pb = new PushClient(cb, b.url);
    const data = randomBytes(2 * 1024 * 1024 + 333);
    const { location } = await pa.startSession("rep/chunked");
    const chunk = 300 * 1024;
    for (let at = 0, i = 0; at < data.length; at += chunk, i++) {
      const part = data.subarray(at, at + chunk);
      const res = await (i % 2 ? pb : pa).patch(location, part, `${at}-${at + part.length - 1}`);
      assert.equal(res.status, 202, res.text);
      assert.equal(res.headers.range, `0-${at + part.length - 1}`);
    }
    assert.equal((await pb.status(location)).headers.range, `0-${data.length - 1}`);
    const put = await cb.request("PUT", pb.withDigest(location, sha256(data)), { headers: { "Content-Length": 0 } });
    assert.equal(put.status, 201, put.text);
    const got = await pa.getBlob("rep/chunked", sha256(data));
    assert.equal(got.status, 200);
    assert.ok(got.body.equals(data));
    const part = await ca.request("GET", `/v2/rep/chunked/blobs/${sha256(data)}`, { headers: { Range: "bytes=1000000-1000999" } });
    assert.equal(part.status, 206);
    assert.ok(part.body.equals(data.subarray(1_000_000, 1_001_000)));
  });

  test("one garbage collection at a time across replicas; a replica that dies mid-run releases it", async () => {
    const paused = await startMcr(home, { ...GRACE, ...pauseGcAfterMark() });
    extra.push(paused);
    const cp = new RegistryClient(paused.url, home.caPem);
    try {
      assert.equal((await gcStart(cp)).status, 202);
      await until("the run to pause after its mark", async () => (paused.logs().includes(GC_PAUSED) ? true : undefined), 15_000, 25);
      const busy = await gcStart(ca);
      assert.equal(busy.status, 409, busy.text);
      assert.match(busy.text, /another replica/);
      await paused.stop("SIGKILL");
      // PostgreSQL ends the dead replica's session and with it the lock.
      const again = await until(
        "the lock to be released",
        async () => {
          const r = await gcStart(ca);
          return r.status === 202 ? r : undefined;
        },
        15_000,
        100,
      );
      assert.equal(again.status, 202);
      assert.equal((await gcWait(ca)).phase, "done");
    } finally {
      cp.close();
    }
  });

  test("kill -9 of a replica mid-upload: the upload is finished through another", async () => {
    const doomed = await startMcr(home, GRACE);
    extra.push(doomed);
    const cd = new RegistryClient(doomed.url, home.caPem);
    const pd = new PushClient(cd, doomed.url);
    const pa = new PushClient(ca, a.url);
    const data = randomBytes(1024 * 1024);
    try {
      const { location } = await pd.startSession("rep/killed");
      const first = data.subarray(0, 400_000);
      assert.equal((await pd.patch(location, first, `0-${first.length - 1}`)).status, 202);
      // The second chunk is half sent when the replica dies.
      await new Promise<void>((resolve) => {
        const req = httpsRequest({
          host: "localhost",
          port: doomed.port,
          method: "PATCH",
          path: location,
          ca: home.caPem,
          agent: false,
          headers: {
            "Content-Type": "application/octet-stream",
            "Content-Length": data.length - first.length,
            "Content-Range": `${first.length}-${data.length - 1}`,
          },
        });
        req.on("error", () => resolve());
        req.on("response", () => resolve());
        req.write(data.subarray(first.length, first.length + 200_000), () => {
          void doomed.stop("SIGKILL").then(() => req.destroy());
        });
      });
      const st = await pa.status(location);
      assert.equal(st.status, 204, st.text);
      assert.equal(st.headers.range, `0-${first.length - 1}`, "only the acknowledged chunk counts");
      const rest = data.subarray(first.length);
      assert.equal((await pa.patch(location, rest, `${first.length}-${data.length - 1}`)).status, 202);
      const put = await ca.request("PUT", pa.withDigest(location, sha256(data)), { headers: { "Content-Length": 0 } });
      assert.equal(put.status, 201, put.text);
      assert.ok((await new PushClient(cb, b.url).getBlob("rep/killed", sha256(data))).body.equals(data));
    } finally {
      cd.close();
    }
  });

  test("a policy rule made through one replica applies on the other within seconds; a token issued by one is valid on the other", async () => {
    const [x, y] = await withAuth();
    const anonX = new RegistryClient(x.url, home.caPem);
    const adminX = new RegistryClient(x.url, home.caPem, await login(anonX, "admin", home.adminPassword));
    const password = await addAccount(home, "dev", "human", ["user"]);
    const devY = new RegistryClient(y.url, home.caPem, await login(anonX, "dev", password));
    try {
      const catalog = () => devY.request("GET", "/v2/locked/app/tags/list");
      assert.equal((await catalog()).status, 404, "allowed: the repository just does not exist");
      const rule = await adminX.request("POST", "/v1/policy/rules", {
        headers: { "Content-Type": "application/json" },
        body: JSON.stringify({ priority: 1, description: "locked", effect: "deny", actions: ["registry:pull"], repositories: ["locked/*"] }),
      });
      assert.equal(rule.status, 201, rule.text);
      await until("the rule to reach the other replica", async () => ((await catalog()).status === 403 ? true : undefined), 10_000, 200);
    } finally {
      anonX.close();
      adminX.close();
      devY.close();
    }
  });

  test("failed logins through one replica count on the other: the limit holds across both", async () => {
    const [x, y] = await withAuth();
    const cx = new RegistryClient(x.url, home.caPem);
    const cy = new RegistryClient(y.url, home.caPem);
    const password = await addAccount(home, "target", "human", ["user"]);
    try {
      // Four a minute: two wrong guesses through each replica. Counted per replica, neither
      // would have reached its limit.
      const wrong = [];
      for (let i = 0; i < 4; i++)
        wrong.push((await (i % 2 ? cy : cx).request("GET", "/v2/token?service=mcr", { headers: basic("target", `guess-${i}`) })).status);
      assert.deepEqual(wrong, [401, 401, 401, 401]);
      for (const c of [cx, cy]) {
        const limited = await c.request("GET", "/v2/token?service=mcr", { headers: basic("target", password) });
        assert.equal(limited.status, 429, "even the right password waits, on either replica");
        const retry = Number(limited.headers["retry-after"]);
        assert.ok(retry >= 1 && retry <= 60, `Retry-After ${retry}`);
      }
      const api = await cy.request("POST", "/v1/auth/login", { body: JSON.stringify({ username: "target", password }) });
      assert.equal(api.status, 429, api.text);
    } finally {
      cx.close();
      cy.close();
    }
  });

  test(`a token revoked and an account disabled through one replica are refused by the other within ${REVOCATION_MS / 1000} s`, async () => {
    const [x, y] = await withAuth();
    const cx = new RegistryClient(x.url, home.caPem);
    const cy = new RegistryClient(y.url, home.caPem);
    const password = await addAccount(home, "leaver", "human", ["user"]);
    try {
      // Logout through X; the token was last used on Y.
      const token = await login(cx, "leaver", password);
      assert.equal((await cy.request("GET", "/v2/", { headers: bearerOf(token) })).status, 200);
      assert.equal((await cx.request("POST", "/v1/auth/logout", { headers: bearerOf(token) })).status, 204);
      const revokedMs = await timeUntil(
        "Y to refuse the revoked token",
        async () => (await cy.request("GET", "/v2/", { headers: bearerOf(token) })).status === 401,
      );
      assert.ok(revokedMs < REVOCATION_MS, `a revoked token reached the other replica in ${revokedMs.toFixed(0)} ms`);

      // Y has checked the password (and remembers the check), holds a token of its own and a pull token.
      const tokenY = await login(cy, "leaver", password);
      const viaBasic = await cy.request("GET", "/v2/token?service=mcr", { headers: basic("leaver", password) });
      assert.equal(viaBasic.status, 200, viaBasic.text);
      const pull = await cy.request("POST", "/v1/auth/pull-token", { headers: bearerOf(tokenY), body: JSON.stringify({ repository: "rep/leaver" }) });
      assert.equal(pull.status, 200, pull.text);
      const pullToken = pull.json().token as string;
      assert.equal((await cy.request("GET", "/v2/rep/leaver/tags/list", { headers: bearerOf(pullToken) })).status, 404, "valid: no such repository yet");
      // Disabled elsewhere: the change is in the database every replica reads.
      await mcrCli(["account", "disable", "leaver", "--config", home.config]);
      const disabledMs = await timeUntil("Y to refuse everything of the disabled account", async () => {
        const [t, b, p] = await Promise.all([
          cy.request("GET", "/v2/", { headers: bearerOf(tokenY) }),
          cy.request("GET", "/v2/token?service=mcr", { headers: basic("leaver", password) }),
          cy.request("GET", "/v2/rep/leaver/tags/list", { headers: bearerOf(pullToken) }),
        ]);
        return t.status === 401 && b.status === 401 && p.status === 401;
      });
      assert.ok(disabledMs < REVOCATION_MS, `a disabled account reached the other replica in ${disabledMs.toFixed(0)} ms`);
      assert.equal((await cx.request("POST", "/v1/auth/login", { body: JSON.stringify({ username: "leaver", password }) })).status, 401);
      process.stdout.write(`# revocation reached the other replica in ${revokedMs.toFixed(0)} ms, a disabled account in ${disabledMs.toFixed(0)} ms\n`);
    } finally {
      cx.close();
      cy.close();
    }
  });

  test("[s3] redirect: blob GETs are 307s to presigned URLs that serve the bytes and ranges; HEAD stays with mcr", async () => {
    const r = await startMcr(home, { ...GRACE, MCR_S3_REDIRECT: "true" });
    extra.push(r);
    const c = new RegistryClient(r.url, home.caPem);
    try {
      const data = randomBytes(70_000);
      await new PushClient(c, r.url).pushBlob("rep/redirect", data);
      const get = await c.request("GET", `/v2/rep/redirect/blobs/${sha256(data)}`);
      assert.equal(get.status, 307, get.text);
      const url = String(get.headers.location);
      assert.match(url, /X-Amz-Signature=/);
      assert.ok(Buffer.from(await (await fetch(url)).arrayBuffer()).equals(data));
      const part = await fetch(url, { headers: { Range: "bytes=100-199" } });
      assert.equal(part.status, 206);
      assert.ok(Buffer.from(await part.arrayBuffer()).equals(data.subarray(100, 200)));
      const head = await c.request("HEAD", `/v2/rep/redirect/blobs/${sha256(data)}`);
      assert.equal(head.status, 200);
      assert.equal(head.headers["content-length"], String(data.length));
      assert.equal((await c.request("GET", `/v2/rep/other/blobs/${sha256(data)}`)).status, 404, "the access check stays with mcr");
    } finally {
      c.close();
    }
  });

  test("mcr gc and mcr check on the PostgreSQL config run beside the replicas; snapshot points at pg_dump", async () => {
    const gc = JSON.parse((await run(MCR_BIN, ["gc", "--config", home.config, "--grace", "1h", "--json"])).stdout);
    assert.equal(gc.phase, "done");
    const check = JSON.parse((await run(MCR_BIN, ["check", "--config", home.config, "--json"])).stdout);
    assert.deepEqual([check.ok, check.missingFiles], [true, []]);
    await assert.rejects(run(MCR_BIN, ["snapshot", "--config", home.config]), /pg_dump/);
  });

  test("mcr check --verify reads objects back from the bucket: an object overwritten in the bucket is named, exit 1", async () => {
    const data = randomBytes(50_000);
    await new PushClient(ca, a.url).pushBlob("rep/verify", data);
    const clean = JSON.parse((await run(MCR_BIN, ["check", "--config", home.config, "--verify", "all", "--json"])).stdout);
    assert.equal(clean.ok, true);
    assert.ok(clean.verification.blobs >= 1 && clean.verification.corrupt.length === 0, JSON.stringify(clean.verification));
    // Overwritten through the S3 API, as a faulty store or a stray writer would.
    const { s3 } = await scaleOutServers();
    process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= "true";
    const sdk = await import("@aws-sdk/client-s3");
    const bucket = new sdk.S3Client({
      endpoint: s3.endpoint,
      region: "us-east-1",
      forcePathStyle: true,
      credentials: { accessKeyId: s3.accessKeyId, secretAccessKey: s3.secretAccessKey },
    });
    const prefix = JSON.parse(/^prefix = (".*")$/m.exec(readFileSync(home.config, "utf8"))![1]!) as string;
    const hex = sha256(data).slice("sha256:".length);
    const key = `${prefix}blobs/sha256/${hex.slice(0, 2)}/${hex}`;
    const put = (body: Buffer) => bucket.send(new sdk.PutObjectCommand({ Bucket: s3.bucket, Key: key, Body: body }));
    const bad = randomBytes(data.length);
    try {
      await put(bad);
      const failed = await run(MCR_BIN, ["check", "--config", home.config, "--verify", "all", "--json"]).then(
        () => assert.fail("mcr check should exit 1"),
        (err: { code: number; stdout: string }) => err,
      );
      assert.equal(failed.code, 1);
      const r = JSON.parse(failed.stdout);
      assert.equal(r.ok, false);
      assert.deepEqual(r.verification.corrupt, [{ digest: sha256(data), problem: `content hashes to ${sha256(bad)} (50000 bytes)` }]);
    } finally {
      await put(data);
      bucket.destroy();
    }
  });

  test(`pushes and pulls on one replica while GC runs back to back on the other for ${SOAK_SECONDS} s: no failure; objects match rows`, {
    timeout: (SOAK_SECONDS + 60) * 1000,
  }, async () => {
    const deadline = Date.now() + SOAK_SECONDS * 1000;
    const load = new SoakLoad({ client: cb, push: new PushClient(cb, b.url), deadline, layerBytes: 4 * 1024 });
    const { failures, kept } = load;
    const fail = load.fail.bind(load);
    await load.pushBase(32 * 1024);
    let runs = 0;
    let swept = 0;
    const collector = async () => {
      while (Date.now() < deadline) {
        const started = await gcStart(ca, '{"untagged":true}');
        if (started.status !== 202) fail("gc start", started.status, started.text);
        const last = await gcWait(ca);
        if (last.phase !== "done") fail("gc run", 0, JSON.stringify(last));
        swept += Number(last.blobs_swept);
        runs++;
      }
    };

    await Promise.all([load.pusher(0), load.pusher(1), load.puller(), collector()]);
    assert.deepEqual(failures, [], `${failures.length} failures`);
    assert.ok(runs >= 2 && swept > 0 && load.pushes > 0, `GC worked meanwhile: ${runs} runs, ${swept} blobs removed, ${load.pushes} pushes`);
    for (const k of kept) await load.pullOne(k);
    assert.deepEqual(failures, []);

    const final = await gcStart(ca, '{"untagged":true,"reconcile":true,"grace":"0s"}');
    assert.equal(final.status, 202, final.text);
    await gcWait(ca);
    const check = (await cb.request("GET", "/v1/check")).json();
    assert.deepEqual([check.ok, check.orphan_files, check.missing_files], [true, [], []]);
    process.stdout.write(
      `# replica soak: ${load.pushes} pushes on one replica, ${runs} GC runs on the other removed ${swept} blobs; ${kept.length} images kept, ${check.blob_rows} blob rows\n`,
    );
  });
});
