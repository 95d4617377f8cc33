// OCI Distribution error codes and the `{"errors":[...]}` envelope.
import type { ServerResponse } from "node:http";

export const OCI_ERRORS = {
  BLOB_UNKNOWN: 404,
  BLOB_UPLOAD_INVALID: 400,
  BLOB_UPLOAD_UNKNOWN: 404,
  DIGEST_INVALID: 400,
  MANIFEST_BLOB_UNKNOWN: 400,
  MANIFEST_INVALID: 400,
  MANIFEST_UNKNOWN: 404,
  NAME_INVALID: 400,
  NAME_UNKNOWN: 404,
  SIZE_INVALID: 400,
  UNAUTHORIZED: 401,
  DENIED: 403,
  UNSUPPORTED: 405,
  TOOMANYREQUESTS: 429,
  /** Not in the spec's table; distribution's code for an out-of-order chunk (416). */
  RANGE_INVALID: 416,
  /** Distribution's code for a bad `n` on list endpoints. */
  PAGINATION_NUMBER_INVALID: 400,
  /** Distribution's code when a dependency (the identity server) is down. */
  UNAVAILABLE: 503,
  UNKNOWN: 500,
} as const;

export type OciErrorCode = keyof typeof OCI_ERRORS;

export class OciError extends Error {
  override name = "OciError";
  readonly status: number;
  constructor(
    readonly code: OciErrorCode,
    message: string,
    readonly detail?: unknown,
    status?: number,
    /** Extra response headers (Range on a 416, for example). */
    readonly headers: Record<string, string> = {},
  ) {
    super(message);
    this.status = status ?? OCI_ERRORS[code];
  }
}

export function writeOciError(res: ServerResponse, err: OciError, head = false): void {
  const body = JSON.stringify({ errors: [{ code: err.code, message: err.message, ...(err.detail !== undefined ? { detail: err.detail } : {}) }] });
  res.writeHead(err.status, {
    ...err.headers,
    "Content-Type": "application/json; charset=utf-8",
    "Content-Length": Buffer.byteLength(body),
  });
  res.end(head ? undefined : body);
}
