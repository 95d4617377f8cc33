import assert from "node:assert/strict";
import { createServer, type Server } from "node:https";
import { after, before, describe, test } from "node:test";
import { CachedIdentity, bearerToken } from "../../lib/auth/cache.ts";
import { RemoteIdentity } from "../../lib/auth/remote.ts";
import {
  audienceError,
  IdentityUnavailableError,
  InvalidCredentialsError,
  RateLimitedError,
  type Claims,
  type IdentityProvider,
} from "../../lib/auth/types.ts";
import { rpcCaller } from "../../lib/auth/connect.ts";
import { Code, ConnectError } from "@connectrpc/connect";
import { createCA, issueServerCert } from "../../lib/tls/certs.ts";

const claims = (over: Partial<Claims> = {}): Claims => ({
  subject: "s",
  username: "u",
  accountType: "human",
  roles: ["user"],
  expiresAt: new Date(Date.now() + 3600_000).toISOString(),
  audience: "mcr",
  ...over,
});

class FakeIdentity implements IdentityProvider {
  calls = 0;
  down = false;
  answer: Claims | null = claims();
  async login(): Promise<never> {
    throw new InvalidCredentialsError();
  }
  async validate(): Promise<Claims | null> {
    this.calls++;
    if (this.down) throw new IdentityUnavailableError("down");
    return this.answer;
  }
  async logout() {}
}

describe("CachedIdentity", () => {
  test("caches results for 30 s keyed by token, then asks again", async () => {
    let now = 1_000_000;
    const inner = new FakeIdentity();
    const cached = new CachedIdentity(inner, { now: () => now });
    assert.equal((await cached.validate("t1"))?.username, "u");
    await cached.validate("t1");
    assert.equal(inner.calls, 1);
    await cached.validate("t2");
    assert.equal(inner.calls, 2, "another token is another entry");
    now += 29_999;
    await cached.validate("t1");
    assert.equal(inner.calls, 2);
    now += 2;
    await cached.validate("t1");
    assert.equal(inner.calls, 3);
  });

  test("during an outage cached entries answer until they expire, then the outage is reported", async () => {
    let now = 0;
    const inner = new FakeIdentity();
    const cached = new CachedIdentity(inner, { now: () => now });
    await cached.validate("t");
    inner.down = true;
    now = 20_000;
    assert.ok(await cached.validate("t"));
    await assert.rejects(cached.validate("other"), IdentityUnavailableError);
    now = 30_001;
    await assert.rejects(cached.validate("t"), IdentityUnavailableError);
  });

  test("a negative answer is cached too; a cached token past its own expiry is refused", async () => {
    let now = Date.now();
    const inner = new FakeIdentity();
    inner.answer = claims({ expiresAt: new Date(now + 5_000).toISOString() });
    const cached = new CachedIdentity(inner, { now: () => now });
    assert.ok(await cached.validate("t"));
    now += 6_000;
    assert.equal(await cached.validate("t"), null);
    inner.answer = null;
    assert.equal(await cached.validate("bad"), null);
    assert.equal(await cached.validate("bad"), null);
    assert.equal(inner.calls, 2);
  });

  test("logout drops the cache entry; the cache stays bounded", async () => {
    const inner = new FakeIdentity();
    const cached = new CachedIdentity(inner, { maxEntries: 3 });
    await cached.validate("t");
    await cached.logout("t");
    await cached.validate("t");
    assert.equal(inner.calls, 2);
    for (let i = 0; i < 10; i++) await cached.validate(`x${i}`);
    await cached.validate("x9");
    assert.equal(inner.calls, 12, "the newest entries are kept");
  });

  test("a burst of calls with one unknown token asks the identity server once", async () => {
    const inner = new FakeIdentity();
    inner.answer = null;
    const cached = new CachedIdentity(inner);
    const answers = await Promise.all(Array.from({ length: 100 }, () => cached.validate("junk")));
    assert.deepEqual([...new Set(answers)], [null]);
    assert.equal(inner.calls, 1);
    inner.down = true;
    await assert.rejects(Promise.all([cached.validate("other"), cached.validate("other")]), IdentityUnavailableError);
    assert.equal(inner.calls, 2, "a failed validation is shared too, and not cached");
  });

  test("bearerToken parses Authorization headers", () => {
    assert.equal(bearerToken("Bearer abc.def"), "abc.def");
    assert.equal(bearerToken("bearer   xyz"), "xyz");
    assert.equal(bearerToken("Basic abc"), undefined);
    assert.equal(bearerToken("Bearer"), undefined);
    assert.equal(bearerToken(undefined), undefined);
  });
});

describe("RemoteIdentity against a scripted MCIAS-compatible server", () => {
  let server: Server;
  let url: string;
  let ca: string;
  let script: (path: string, body: any) => { status: number; body?: unknown; headers?: Record<string, string>; hang?: boolean };

  before(async () => {
    const pair = await createCA("test");
    ca = pair.certPem;
    const cert = await issueServerCert(pair, ["localhost"]);
    server = createServer({ cert: cert.certPem, key: cert.keyPem, minVersion: "TLSv1.3" }, (req, res) => {
      let data = "";
      req.on("data", (d) => (data += d));
      req.on("end", () => {
        const out = script(req.url!, data ? JSON.parse(data) : undefined);
        if (out.hang) return;
        res.writeHead(out.status, { "Content-Type": "application/json", ...out.headers });
        res.end(out.body === undefined ? "" : JSON.stringify(out.body));
      });
    });
    await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
    url = `https://localhost:${(server.address() as { port: number }).port}`;
  });
  after(() => {
    server.closeAllConnections();
    server.close();
  });

  test("login and validate map the MCIAS JSON", async () => {
    script = (path, body) =>
      path === "/v1/auth/login"
        ? { status: 200, body: { token: `tok-${body.username}-${body.service_name}`, expires_at: "2030-01-01T00:00:00Z" } }
        : {
            status: 200,
            body: {
              valid: true,
              subject: "id-1",
              username: "alice",
              account_type: "system",
              roles: ["user"],
              expires_at: "2030-01-01T00:00:00Z",
              service_name: "mcp-agent",
            },
          };
    const id = new RemoteIdentity({ serverUrl: url, caCert: ca });
    assert.deepEqual(await id.login({ username: "alice", password: "p", serviceName: "mcr", tags: [] }), {
      token: "tok-alice-mcr",
      expiresAt: "2030-01-01T00:00:00Z",
    });
    assert.deepEqual(await id.validate("t"), {
      subject: "id-1",
      username: "alice",
      accountType: "system",
      roles: ["user"],
      expiresAt: "2030-01-01T00:00:00Z",
      audience: "mcp-agent",
    });
    id.close();
  });

  test("401 → invalid credentials / null claims, 429 → rate limited, 5xx → unavailable", async () => {
    const id = new RemoteIdentity({ serverUrl: url, caCert: ca });
    script = () => ({ status: 401, body: { error: "no" } });
    await assert.rejects(id.login({ username: "a", password: "b", serviceName: "mcr", tags: [] }), InvalidCredentialsError);
    assert.equal(await id.validate("t"), null);
    script = () => ({ status: 429, headers: { "Retry-After": "17" } });
    await assert.rejects(
      id.login({ username: "a", password: "b", serviceName: "mcr", tags: [] }),
      (e: unknown) => e instanceof RateLimitedError && e.retryAfterSeconds === 17,
    );
    script = () => ({ status: 502, body: "<html>" });
    await assert.rejects(id.validate("t"), IdentityUnavailableError);
    script = () => ({ status: 200, body: { valid: false } });
    assert.equal(await id.validate("t"), null);
    id.close();
  });

  test("an unresponsive server times out; an untrusted certificate is refused; http:// is refused", async () => {
    script = () => ({ status: 200, hang: true });
    const slow = new RemoteIdentity({ serverUrl: url, caCert: ca, timeoutMs: 200 });
    await assert.rejects(slow.validate("t"), (e: unknown) => e instanceof IdentityUnavailableError && /no answer within 200 ms/.test(e.message));
    slow.close();
    const untrusted = new RemoteIdentity({ serverUrl: url });
    await assert.rejects(untrusted.validate("t"), (e: unknown) => e instanceof IdentityUnavailableError && /unreachable/.test(e.message));
    untrusted.close();
    assert.throws(() => new RemoteIdentity({ serverUrl: "http://localhost:1" }), /must be https/);
  });
});

describe("token audience", () => {
  test("a service takes only tokens issued for it, and says which service to log in for", () => {
    assert.equal(audienceError(claims({ audience: "mcp-agent" }), "mcp-agent"), null);
    assert.match(audienceError(claims({ audience: "mcr" }), "mcp-agent")!, /issued for mcr, not mcp-agent: log in for mcp-agent/);
    assert.match(audienceError(claims({ audience: "" }), "mcp-agent")!, /did not say which service/);
  });

  test("rpcCaller refuses a registry token on the agent as Unauthenticated", async () => {
    const inner = new FakeIdentity();
    inner.answer = claims({ audience: "mcr", roles: ["admin"] });
    const headers = new Headers({ authorization: "Bearer t" });
    await assert.rejects(
      rpcCaller(inner, headers, "mcp-agent"),
      (e: unknown) => e instanceof ConnectError && e.code === Code.Unauthenticated && /issued for mcr/.test(e.rawMessage),
    );
    assert.equal((await rpcCaller(inner, headers, "mcr")).username, "u");
  });
});
