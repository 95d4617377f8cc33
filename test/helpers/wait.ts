// Waiting for things that happen asynchronously (a container starting, a reconcile pass).
import { get } from "node:http";

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Polls `fn` every `everyMs` until it returns a value (errors count as "not yet"), or fails after `ms`. */
export async function until<T>(what: string, fn: () => Promise<T | undefined>, ms = 15_000, everyMs = 250): Promise<T> {
  const end = Date.now() + ms;
  for (;;) {
    const v = await fn().catch(() => undefined);
    if (v !== undefined) return v;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await sleep(everyMs);
  }
}

/** GET http://127.0.0.1:<port><path>, body as text. */
export function httpGet(port: number, path = "/index.html"): Promise<string> {
  return new Promise((resolve, reject) => {
    get({ host: "127.0.0.1", port, path }, (res) => {
      let body = "";
      res.on("data", (d) => (body += d));
      res.on("end", () => resolve(body));
    }).on("error", reject);
  });
}
