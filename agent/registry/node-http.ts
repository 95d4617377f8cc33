// The registry's node endpoints, as the agent calls them (docs/nodes.md): the CA a joining
// node checks against its token, the join itself, and certificate renewals.
import { request } from "node:https";
import { MIN_TLS_VERSION } from "../../lib/tls/server-options.ts";

export interface HttpAnswer {
  status: number;
  body: string;
}

const MAX_ANSWER = 1024 * 1024;

/**
 * One HTTPS request. `ca`: the CA to verify the registry against; null verifies nothing (only
 * for fetching the CA itself, whose digest the caller then checks before trusting it).
 */
export function httpsCall(
  url: string,
  o: { method: "GET" | "POST"; ca: string | null; body?: unknown; token?: string; timeoutMs?: number },
): Promise<HttpAnswer> {
  return new Promise((resolve, reject) => {
    const data = o.body === undefined ? undefined : JSON.stringify(o.body);
    const req = request(
      url,
      {
        method: o.method,
        minVersion: MIN_TLS_VERSION,
        ...(o.ca === null ? { rejectUnauthorized: false } : { ca: o.ca }),
        timeout: o.timeoutMs ?? 15_000,
        headers: {
          ...(data ? { "content-type": "application/json", "content-length": Buffer.byteLength(data) } : {}),
          ...(o.token ? { authorization: `Bearer ${o.token}` } : {}),
        },
      },
      (res) => {
        const chunks: Buffer[] = [];
        let size = 0;
        res.on("data", (c: Buffer) => {
          size += c.length;
          if (size > MAX_ANSWER) req.destroy(new Error(`the answer from ${url} is larger than 1 MiB`));
          else chunks.push(c);
        });
        res.on("end", () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString("utf8") }));
        res.on("error", reject);
      },
    );
    req.on("timeout", () => req.destroy(new Error(`${url} did not answer within ${(o.timeoutMs ?? 15_000) / 1000} s`)));
    req.on("error", reject);
    req.end(data);
  });
}

/** The JSON of a 200 answer; an Error with the registry's own message otherwise. */
export function answerJson<T>(a: HttpAnswer, what: string): T {
  let doc: unknown;
  try {
    doc = JSON.parse(a.body);
  } catch {
    throw new Error(`${what}: HTTP ${a.status}, not JSON: ${a.body.slice(0, 200)}`);
  }
  if (a.status !== 200) throw new Error(`${what}: ${(doc as { error?: string }).error ?? `HTTP ${a.status}`}`);
  return doc as T;
}
