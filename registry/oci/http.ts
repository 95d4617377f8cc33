// Small request/response helpers shared by the OCI handlers.
import type { IncomingMessage, ServerResponse } from "node:http";
import { OciError } from "./errors.ts";

export type Headers = Record<string, string | number>;

export function sendJson(res: ServerResponse, status: number, value: unknown, headers: Headers = {}, head = false): void {
  const body = JSON.stringify(value);
  res.writeHead(status, { "Content-Type": "application/json; charset=utf-8", "Content-Length": Buffer.byteLength(body), ...headers });
  res.end(head ? undefined : body);
}

export function sendEmpty(res: ServerResponse, status: number, headers: Headers = {}): void {
  res.writeHead(status, { "Content-Length": 0, ...headers });
  res.end();
}

/** Content-Length as a number; undefined when absent (chunked); throws on nonsense. */
export function contentLength(req: IncomingMessage): number | undefined {
  const raw = req.headers["content-length"];
  if (raw === undefined) return undefined;
  if (!/^\d{1,15}$/.test(raw)) throw new OciError("SIZE_INVALID", `invalid Content-Length ${JSON.stringify(raw)}`);
  return Number(raw);
}

/** Whether the request carries a body at all. */
export function hasBody(req: IncomingMessage): boolean {
  const len = req.headers["content-length"];
  return len !== undefined ? len !== "0" : req.headers["transfer-encoding"] !== undefined;
}

/**
 * Reads a whole (small) body into memory, refusing more than `limit` bytes with 413
 * before reading when Content-Length says so, or as soon as the limit is passed.
 */
export async function readBody(req: IncomingMessage, limit: number, what: string, code: "MANIFEST_INVALID" | "SIZE_INVALID"): Promise<Buffer> {
  const declared = contentLength(req);
  const tooLarge = () => new OciError(code, `${what} exceeds the limit of ${limit} bytes`, { limit }, 413, { Connection: "close" });
  if (declared !== undefined && declared > limit) throw tooLarge();
  const chunks: Buffer[] = [];
  let total = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    total += chunk.length;
    if (total > limit) throw tooLarge();
    chunks.push(chunk);
  }
  if (declared !== undefined && total !== declared) {
    throw new OciError("SIZE_INVALID", `${what} carried ${total} bytes, ${declared} were declared`);
  }
  return Buffer.concat(chunks, total);
}

/** Parses `n` for the list endpoints; undefined when absent. */
export function pageSize(query: URLSearchParams, max: number): number | undefined {
  const raw = query.get("n");
  if (raw === null || raw === "") return undefined;
  if (!/^\d{1,9}$/.test(raw)) throw new OciError("PAGINATION_NUMBER_INVALID", `invalid page size n=${JSON.stringify(raw)}`);
  return Math.min(Number(raw), max);
}
