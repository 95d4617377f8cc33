// Secret redaction for log records. pino's own `redact` paths are exact and
// case-sensitive, so a password one level deeper than a listed path, or a header
// spelt `Authorization`, went out verbatim. This walks whatever is logged instead:
// keys that name a secret (any case, any depth) lose their value, and strings lose
// embedded credentials (Bearer/Basic values, user:pass@ in URLs, password=…, PEM
// private keys).
// Objects are copied only where something changed, so the hot path (a flat request
// record with nothing to hide) allocates nothing.
import { stdSerializers } from "pino";

export const REDACTED = "[redacted]";
/** Deeper values are replaced: log records are small, and the walk must stay bounded. */
export const MAX_DEPTH = 8;

// `auth` is the base64 user:password of a podman/Docker auth.json entry.
const SECRET_KEYS = new Set([
  "authorization",
  "proxyauthorization",
  "auth",
  "cookie",
  "setcookie",
  "password",
  "passwd",
  "pass",
  "pwd",
  "passphrase",
  "secret",
  "token",
  "apikey",
  "privatekey",
  "credentials",
]);
const SECRET_SUFFIXES = ["password", "passwd", "pwd", "token", "secret", "apikey", "privatekey"];
const keyCache = new Map<string, boolean>();

/** True for keys such as `password`, `Authorization`, `access_token`, `X-Api-Key`, `auth` (case and `-`/`_` ignored; `author` is not one). */
export function isSecretKey(key: string): boolean {
  const cached = keyCache.get(key);
  if (cached !== undefined) return cached;
  const k = key.toLowerCase().replace(/[-_]/g, "");
  const secret = SECRET_KEYS.has(k) || SECRET_SUFFIXES.some((s) => k.endsWith(s));
  // Keys may come from clients (header names): cap the cache rather than grow without bound.
  if (keyCache.size < 1000) keyCache.set(key, secret);
  return secret;
}

// A cheap first test; the replacements below run only on strings that pass it.
const SUSPECT = /bearer|basic|:\/\/[^\s@]*@|pass|pwd|token|secret|api_?key|auth|cookie|private key/i;
// `Bearer <token>` / `Basic <base64>`, but not auth-params such as `Bearer realm="…"`.
const AUTH_VALUE = /\b(bearer|basic)(\s+)(?![a-z]+=")[A-Za-z0-9\-._~+/]+=*/gi;
// Bounded or anchored repetitions only: these run on client-supplied text, so no
// pattern may backtrack quadratically.
const URL_USERINFO = /\b([a-z][a-z0-9+.-]{0,30}:\/\/)[^\s/?#@]+@/gi;
// `access_token=…`, `password=…` (the suffix is enough: `access_` is kept); `pass=`
// and `pwd=` only as whole words, so `bypass=` stays.
const KEY_EQUALS = /(password|passwd|token|secret|api_?key|(?<![a-z])pass|(?<![a-z])pwd)=[^\s&;,"']+/gi;
// `password: …` (YAML, or a colon in prose). Not `token: …`: messages such as "cannot
// validate the token: identity server … is unreachable" must stay readable.
const KEY_COLON = /(password|passwd|passphrase)([ \t]*:[ \t]*)(?:"(?:[^"\\\n]|\\.)*"|'[^'\n]*'|[^\s,;"'}\]]+)/gi;
// `"Password": "…"` inside a string that holds JSON; `"auth": "…"` of an auth.json.
const JSON_PAIR = /(password|passwd|pwd|token|secret|api_?key|authorization|cookie|(?<=")auth|(?<=")pass)"(\s*:\s*)"(?:[^"\\]|\\.)*"/gi;
// A PEM private key (RSA, EC, OPENSSH, ENCRYPTED…): everything up to its END line, or up
// to the next `-----` when the key was cut off. The body pattern cannot backtrack: each
// `-` is either the start of `-----` or a single `-`.
const PEM_PRIVATE_KEY = /-----BEGIN ((?:[A-Z0-9]+ ){0,4})PRIVATE KEY-----[^-]*(?:-(?!----)[^-]*)*(?:-----END (?:[A-Z0-9]+ ){0,4}PRIVATE KEY-----)?/g;

/** Removes credentials embedded in free text: header values, URLs, query strings, JSON. */
export function redactString(s: string): string {
  if (s.length < 6 || !SUSPECT.test(s)) return s;
  return s
    .replace(AUTH_VALUE, `$1$2${REDACTED}`)
    .replace(URL_USERINFO, `$1${REDACTED}@`)
    .replace(PEM_PRIVATE_KEY, `-----BEGIN $1PRIVATE KEY----- ${REDACTED}`)
    .replace(KEY_EQUALS, `$1=${REDACTED}`)
    .replace(KEY_COLON, `$1$2${REDACTED}`)
    .replace(JSON_PAIR, `$1"$2"${REDACTED}"`);
}

/**
 * A copy of `value` with secrets removed (the same reference when there was nothing to
 * remove). Errors become pino's serialized form ({type, message, stack, …}) so that their
 * messages and extra fields are redacted too; cycles become "[Circular]".
 */
export function redactValue(value: unknown): unknown {
  return walk(value, 0, []);
}

function walk(value: unknown, depth: number, ancestors: object[]): unknown {
  if (typeof value === "string") return redactString(value);
  if (typeof value !== "object" || value === null) return value;
  if (ancestors.includes(value)) return "[Circular]";
  if (depth >= MAX_DEPTH) return "[too deep]";
  if (value instanceof Error) return walkObject(stdSerializers.err(value), depth, ancestors, true);
  if (value instanceof URL) return redactString(value.href);
  if (value instanceof Date || ArrayBuffer.isView(value) || value instanceof Map || value instanceof Set) return value;
  if (Array.isArray(value)) {
    ancestors.push(value);
    let out: unknown[] | undefined;
    for (let i = 0; i < value.length; i++) {
      const v = walk(value[i], depth + 1, ancestors);
      if (v !== value[i]) (out ??= value.slice())[i] = v;
    }
    ancestors.pop();
    return out ?? value;
  }
  const toJSON = (value as { toJSON?: unknown }).toJSON;
  if (typeof toJSON === "function") return walk(toJSON.call(value), depth, ancestors);
  return walkObject(value as Record<string, unknown>, depth, ancestors, false);
}

/** `pass` also names a round of work (the agent logs its reconcile pass number): a number under it stays. */
function isCount(key: string, value: unknown): boolean {
  return typeof value === "number" && key.length === 4 && key.toLowerCase() === "pass";
}

function walkObject(obj: Record<string, unknown>, depth: number, ancestors: object[], copy: boolean): unknown {
  ancestors.push(obj);
  let out: Record<string, unknown> | undefined = copy ? {} : undefined;
  const keys = Object.keys(obj);
  for (let i = 0; i < keys.length; i++) {
    const k = keys[i]!;
    const v = obj[k];
    const r = v === undefined || v === null ? v : isSecretKey(k) && !isCount(k, v) ? REDACTED : walk(v, depth + 1, ancestors);
    if (out) out[k] = r;
    else if (r !== v) {
      out = {};
      for (let j = 0; j < i; j++) out[keys[j]!] = obj[keys[j]!];
      out[k] = r;
    }
  }
  ancestors.pop();
  return out ?? obj;
}
