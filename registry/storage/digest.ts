// Content digests (`algorithm:hex`), the addresses of everything stored.
import { createHash, type Hash } from "node:crypto";

export type DigestAlgorithm = "sha256" | "sha512";

const HEX_LENGTH: Record<DigestAlgorithm, number> = { sha256: 64, sha512: 128 };
const DIGEST_RE = /^([a-z0-9]+(?:[+._-][a-z0-9]+)*):([a-zA-Z0-9=_-]+)$/;

export interface Digest {
  algorithm: DigestAlgorithm;
  hex: string;
  /** The canonical `algorithm:hex` string. */
  text: string;
}

export class DigestError extends Error {
  override name = "DigestError";
  /** True for a well-formed digest of an algorithm this registry does not support. */
  constructor(
    message: string,
    readonly unsupported = false,
  ) {
    super(message);
  }
}

/** Parses and validates a digest; only lower-case hex of the right length passes. */
export function parseDigest(text: string): Digest {
  const m = DIGEST_RE.exec(text);
  if (!m) throw new DigestError(`invalid digest ${JSON.stringify(text.slice(0, 200))}`);
  const algorithm = m[1] as DigestAlgorithm;
  const hex = m[2]!;
  if (!(algorithm in HEX_LENGTH)) throw new DigestError(`unsupported digest algorithm ${JSON.stringify(m[1])}`, true);
  if (hex.length !== HEX_LENGTH[algorithm] || !/^[a-f0-9]+$/.test(hex)) {
    throw new DigestError(`invalid ${algorithm} digest ${JSON.stringify(text.slice(0, 200))}`);
  }
  return { algorithm, hex, text };
}

export function isDigest(text: string): boolean {
  try {
    parseDigest(text);
    return true;
  } catch {
    return false;
  }
}

export function digestOf(data: Uint8Array, algorithm: DigestAlgorithm = "sha256"): string {
  return `${algorithm}:${createHash(algorithm).update(data).digest("hex")}`;
}

export function newHash(algorithm: DigestAlgorithm = "sha256"): Hash {
  return createHash(algorithm);
}
