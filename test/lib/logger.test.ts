// The logger removes secrets at any depth, in any case, and from strings, while
// keeping everything else of a record intact.
import assert from "node:assert/strict";
import { Writable } from "node:stream";
import { describe, test } from "node:test";
import { createLogger, type Logger } from "../../lib/log/logger.ts";
import { MAX_DEPTH, REDACTED, isSecretKey, redactString, redactValue } from "../../lib/log/redact.ts";

const SECRET = "s3cr3t-Value-0123456789";

/** A debug logger writing into an array of parsed lines. */
function capture(): { log: Logger; lines: Record<string, any>[]; text: () => string } {
  const raw: string[] = [];
  const sink = new Writable({
    write(chunk, _enc, done) {
      raw.push(chunk.toString());
      done();
    },
  });
  const log = createLogger("test", "debug", sink);
  return {
    log,
    get lines() {
      return raw
        .join("")
        .trim()
        .split("\n")
        .map((l) => JSON.parse(l));
    },
    text: () => raw.join(""),
  };
}

describe("log redaction", () => {
  test("secret keys are redacted at any depth and in any case", () => {
    const c = capture();
    c.log.info(
      {
        req: { body: { password: SECRET, user: "alice" }, headers: { Authorization: `Bearer ${SECRET}`, "X-Api-Key": SECRET, accept: "*/*" } },
        a: { b: { token: SECRET, c: { d: { Access_Token: SECRET, PassWord: SECRET } } } },
        list: [{ refresh_token: SECRET }, { cookie: SECRET }],
        Password: SECRET,
      },
      "hello",
    );
    assert.equal(c.text().includes(SECRET), false, c.text());
    const line = c.lines[0]!;
    assert.equal(line.msg, "hello");
    assert.equal(line.req.body.password, REDACTED);
    assert.equal(line.req.body.user, "alice", "other fields are kept");
    assert.equal(line.req.headers.Authorization, REDACTED);
    assert.equal(line.req.headers.accept, "*/*");
    assert.equal(line.a.b.c.d.Access_Token, REDACTED);
    assert.equal(line.list[1].cookie, REDACTED);
    assert.equal(line.Password, REDACTED);
  });

  test("credentials embedded in strings are redacted: header values, URLs, query strings, JSON, messages", () => {
    const c = capture();
    c.log.warn(
      { header: `Bearer ${SECRET}`, basic: `basic ${Buffer.from(`u:${SECRET}`).toString("base64")}`, url: `https://alice:${SECRET}@registry.example:8443/v2/` },
      `login to https://bob:${SECRET}@host failed`,
    );
    c.log.info(`GET /cb?code=1&access_token=${SECRET} with {"Password": "${SECRET}"}`);
    c.log.error({ u: new URL(`https://carol:${SECRET}@example.net/x`) }, "url object");
    assert.equal(c.text().includes(SECRET), false, c.text());
    assert.equal(c.text().includes(Buffer.from(`u:${SECRET}`).toString("base64")), false);
    const [first, second, third] = c.lines;
    assert.equal(first!.header, `Bearer ${REDACTED}`);
    assert.equal(first!.url, `https://${REDACTED}@registry.example:8443/v2/`);
    assert.equal(first!.msg, `login to https://${REDACTED}@host failed`);
    assert.match(second!.msg, /access_token=\[redacted\]/);
    assert.equal(third!.u, `https://${REDACTED}@example.net/x`);
  });

  test("ordinary text is left alone, including challenges and token endpoints", () => {
    for (const s of [
      "request",
      "/v2/token",
      "GET",
      'Bearer realm="https://r.example/v2/token",service="mcr"',
      "cannot validate the token: identity server x is unreachable",
      "https://host:8443/v2/",
      "token_ttl=12h",
    ]) {
      assert.equal(redactString(s), s);
    }
  });

  test("errors keep their type and stack; their messages and fields are redacted", () => {
    const c = capture();
    const err = Object.assign(new TypeError(`bad Authorization: Bearer ${SECRET}`), { config: { headers: { authorization: `Basic ${SECRET}` } }, code: "E_X" });
    c.log.error({ err }, "failed");
    c.log.error(new Error(`cannot reach https://x:${SECRET}@idp/`));
    c.log.error({ nested: { cause: new Error(`password=${SECRET}`) } }, "deep error");
    assert.equal(c.text().includes(SECRET), false, c.text());
    const [a, b, d] = c.lines;
    assert.equal(a!.err.type, "TypeError");
    assert.equal(a!.err.code, "E_X");
    assert.match(a!.err.stack, /TypeError: bad Authorization: Bearer \[redacted\]/);
    assert.equal(a!.err.config.headers.authorization, REDACTED);
    assert.equal(b!.msg, `cannot reach https://${REDACTED}@idp/`, "a bare error's message becomes msg");
    assert.equal(b!.err.type, "Error");
    assert.equal(d!.nested.cause.message, `password=${REDACTED}`);
  });

  test("cycles and deep nesting are bounded", () => {
    const c = capture();
    const cyclic: Record<string, unknown> = { name: "loop", token: SECRET };
    cyclic.self = cyclic;
    let deep: Record<string, unknown> = { password: SECRET };
    for (let i = 0; i < 50; i++) deep = { next: deep };
    c.log.info({ cyclic, deep }, "shapes");
    assert.equal(c.text().includes(SECRET), false);
    const line = c.lines[0]!;
    assert.equal(line.cyclic.self, "[Circular]");
    let d = line.deep;
    let depth = 1;
    while (typeof d === "object") (d = d.next), depth++;
    assert.equal(d, "[too deep]");
    assert.equal(depth, MAX_DEPTH);
  });

  test("bindings of child loggers are redacted, at every generation", () => {
    const c = capture();
    const child = c.log.child({ component: "rpc", headers: { Authorization: `Bearer ${SECRET}` } });
    child.child({ db: `postgres://app:${SECRET}@db/x` }).info("from a grandchild");
    assert.equal(c.text().includes(SECRET), false, c.text());
    const line = c.lines[0]!;
    assert.equal(line.component, "rpc");
    assert.equal(line.headers.Authorization, REDACTED);
    assert.equal(line.db, `postgres://${REDACTED}@db/x`);
  });

  test("a record with nothing to hide is passed through without copying", () => {
    const rec = { method: "GET", path: "/v2/team/app/manifests/1", status: 200, ms: 3, remote: "127.0.0.1", nested: { a: [1, 2, "x"] } };
    assert.equal(redactValue(rec), rec);
    const changed = redactValue({ ...rec, nested: { token: "x" } }) as typeof rec & { nested: { token: string } };
    assert.equal(changed.nested.token, REDACTED);
    assert.equal(rec.nested.a.length, 3, "the input is not modified");
  });

  test("key matching ignores case, dashes and underscores", () => {
    for (const k of [
      "authorization",
      "Authorization",
      "PROXY-AUTHORIZATION",
      "password",
      "adminPassword",
      "access_token",
      "X-Api-Key",
      "client_secret",
      "Set-Cookie",
    ])
      assert.ok(isSecretKey(k), k);
    for (const k of ["username", "password_file", "token_ttl", "tokenHash", "method", "path"]) assert.equal(isSecretKey(k), false, k);
  });

  test("auth.json's auth, pass and pwd are secret keys; author, authority and a pass count are not", () => {
    const authJson = { auths: { "registry.example:8443": { auth: Buffer.from(`u:${SECRET}`).toString("base64") } } };
    const out = redactValue({ authJson, login: { pass: SECRET, PWD: SECRET }, author: "alice", authority: "ca", pass: 3 }) as Record<string, any>;
    assert.equal(JSON.stringify(out).includes(Buffer.from(`u:${SECRET}`).toString("base64")), false);
    assert.equal(out.authJson.auths["registry.example:8443"].auth, REDACTED);
    assert.deepEqual(out.login, { pass: REDACTED, PWD: REDACTED });
    assert.equal(out.author, "alice");
    assert.equal(out.authority, "ca");
    assert.equal(out.pass, 3, "a reconcile pass number is not a credential");
    for (const k of ["auth", "Auth", "pass", "pwd", "db_pwd"]) assert.ok(isSecretKey(k), k);
    for (const k of ["author", "authority", "authors", "oauth_url", "bypass"]) assert.equal(isSecretKey(k), false, k);
  });

  test("password: value (YAML and prose), pass=/pwd= pairs and auth.json text inside strings are redacted", () => {
    const cases: [string, string][] = [
      [`password: ${SECRET}`, `password: ${REDACTED}`],
      [`user: alice\nPassword:  "${SECRET} two"\nhost: h`, `user: alice\nPassword:  ${REDACTED}\nhost: h`],
      [`db_password:'${SECRET}', next`, `db_password:${REDACTED}, next`],
      [`login pass=${SECRET} pwd=${SECRET}`, `login pass=${REDACTED} pwd=${REDACTED}`],
      [`{"auths":{"r:8443":{"auth":"${SECRET}"}}}`, `{"auths":{"r:8443":{"auth":"${REDACTED}"}}}`],
      [`{"pass": "${SECRET}", "author": "bob"}`, `{"pass": "${REDACTED}", "author": "bob"}`],
    ];
    for (const [input, want] of cases) assert.equal(redactString(input), want, input);
    for (const s of ["bypass=1 compass=n", '{"author": "bob", "authority": "x", "oauth": "y"}', "the first pass: 3 drifts", "/v1/auth/login"])
      assert.equal(redactString(s), s);
  });

  test("PEM private keys inside strings are redacted, whole or cut off; certificates are kept", () => {
    const body = "MIIEvQIBADANBgkqhkiG9w0BAQEFAASC\nBKcwggSjAgEAAoIBAQC7" + SECRET;
    for (const kind of ["", "RSA ", "EC ", "OPENSSH ", "ENCRYPTED "]) {
      const pem = `-----BEGIN ${kind}PRIVATE KEY-----\n${body}\n-----END ${kind}PRIVATE KEY-----\n`;
      assert.equal(redactString(`key: ${pem}after`), `key: -----BEGIN ${kind}PRIVATE KEY----- ${REDACTED}\nafter`);
    }
    const cut = redactString(`loaded -----BEGIN PRIVATE KEY-----\n${body}`);
    assert.equal(cut.includes(SECRET), false, cut);
    const encrypted = `-----BEGIN RSA PRIVATE KEY-----\nProc-Type: 4,ENCRYPTED\nDEK-Info: AES-128-CBC,AB\n\n${body}\n-----END RSA PRIVATE KEY-----`;
    assert.equal(redactString(encrypted), `-----BEGIN RSA PRIVATE KEY----- ${REDACTED}`);
    const cert = `-----BEGIN CERTIFICATE-----\n${body}\n-----END CERTIFICATE-----`;
    assert.equal(redactString(cert), cert);
  });

  test("hostile strings made of the new patterns are redacted in linear time", () => {
    for (const unit of ['password: "', "-----BEGIN PRIVATE KEY-----", "-----BEGIN A A A A A", "pass", 'auth": "']) {
      const s = unit.repeat(Math.ceil(1_000_000 / unit.length));
      const started = performance.now();
      redactString(s);
      assert.ok(performance.now() - started < 1000, `${unit}: ${performance.now() - started} ms`);
    }
  });
});
