// A tiny HTTPS client for protocol tests: trusts the test CA, never disables verification.
import { request as httpsRequest, Agent } from "node:https";
import type { IncomingHttpHeaders } from "node:http";
import type { Readable } from "node:stream";

export interface Response {
  status: number;
  headers: IncomingHttpHeaders;
  body: Buffer;
  text: string;
  json<T = any>(): T;
}

export interface RequestOptions {
  headers?: Record<string, string | number>;
  body?: string | Buffer | Readable;
}

export class RegistryClient {
  readonly agent: Agent;
  /** With `token`, every request carries it as a bearer token unless it sets Authorization itself. */
  constructor(
    readonly url: string,
    ca: string,
    private readonly token?: string,
  ) {
    this.agent = new Agent({ ca, keepAlive: true, maxSockets: 16 });
  }

  request(method: string, path: string, opts: RequestOptions = {}): Promise<Response> {
    return new Promise((resolve, reject) => {
      const headers = this.token ? { Authorization: `Bearer ${this.token}`, ...opts.headers } : opts.headers;
      const req = httpsRequest(new URL(path, this.url), { method, agent: this.agent, headers }, (res) => {
        const chunks: Buffer[] = [];
        res.on("data", (c: Buffer) => chunks.push(c));
        res.on("error", reject);
        res.on("end", () => {
          const body = Buffer.concat(chunks);
          const text = body.toString("utf8");
          resolve({ status: res.statusCode!, headers: res.headers, body, text, json: () => JSON.parse(text) });
        });
      });
      req.on("error", reject);
      const body = opts.body;
      if (body === undefined) req.end();
      else if (typeof body === "string" || Buffer.isBuffer(body)) req.end(body);
      else body.pipe(req);
    });
  }

  close(): void {
    this.agent.destroy();
  }
}
