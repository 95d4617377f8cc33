// Parses a pushed manifest and lists what it references, per media type.
import { OciError } from "./errors.ts";
import { isDigest } from "../storage/digest.ts";

export const MEDIA = {
  ociManifest: "application/vnd.oci.image.manifest.v1+json",
  ociIndex: "application/vnd.oci.image.index.v1+json",
  dockerManifest: "application/vnd.docker.distribution.manifest.v2+json",
  dockerList: "application/vnd.docker.distribution.manifest.list.v2+json",
} as const;

const IMAGE_TYPES = new Set<string>([MEDIA.ociManifest, MEDIA.dockerManifest]);
const INDEX_TYPES = new Set<string>([MEDIA.ociIndex, MEDIA.dockerList]);

export interface Descriptor {
  mediaType: string;
  digest: string;
  size: number;
  artifactType?: string;
  annotations?: Record<string, string>;
  urls?: string[];
}

export interface ParsedManifest {
  mediaType: string;
  blobDigests: string[];
  childDigests: string[];
  subject: Descriptor | null;
  artifactType: string | null;
  annotations: Record<string, string> | undefined;
}

function invalid(message: string): never {
  throw new OciError("MANIFEST_INVALID", message);
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

/** The OCI image spec's annotations: a map of string to string (nothing nested). */
export function isStringMap(value: unknown): value is Record<string, string> {
  return isObject(value) && Object.values(value).every((v) => typeof v === "string");
}

// Optional fields may be absent or null (Go clients' decoders read null as absent); when
// present they must have the spec's type, so that nothing stored can surprise a reader.
function optionalString(value: unknown, where: string): void {
  if (value != null && typeof value !== "string") invalid(`${where} must be a string`);
}

function optionalStrings(value: unknown, where: string): void {
  if (value != null && (!Array.isArray(value) || !value.every((u) => typeof u === "string"))) invalid(`${where} must be an array of strings`);
}

function optionalAnnotations(value: unknown, where: string): Record<string, string> | undefined {
  if (value == null) return undefined;
  if (!isObject(value)) invalid(`${where} must be an object whose values are strings`);
  for (const [k, v] of Object.entries(value)) {
    if (typeof v !== "string")
      invalid(`${where}[${JSON.stringify(k.slice(0, 100))}] must be a string, not ${Array.isArray(v) ? "an array" : v === null ? "null" : typeof v}`);
  }
  return value as Record<string, string>;
}

function optionalPlatform(value: unknown, where: string): void {
  if (value == null) return;
  if (!isObject(value)) invalid(`${where} must be an object`);
  for (const f of ["architecture", "os"]) if (typeof value[f] !== "string") invalid(`${where}.${f} must be a string`);
  for (const f of ["os.version", "variant"]) optionalString(value[f], `${where}.${f}`);
  for (const f of ["os.features", "features"]) optionalStrings(value[f], `${where}.${f}`);
}

function descriptor(value: unknown, where: string): Descriptor {
  if (!isObject(value)) invalid(`${where} is not a descriptor object`);
  const d = value;
  if (typeof d.mediaType !== "string" || d.mediaType === "") invalid(`${where}.mediaType must be a non-empty string`);
  if (typeof d.digest !== "string" || !isDigest(d.digest)) invalid(`${where}.digest is not a valid digest`);
  if (typeof d.size !== "number" || !Number.isSafeInteger(d.size) || d.size < 0) invalid(`${where}.size must be a non-negative integer`);
  optionalStrings(d.urls, `${where}.urls`);
  optionalAnnotations(d.annotations, `${where}.annotations`);
  optionalString(d.artifactType, `${where}.artifactType`);
  optionalString(d.data, `${where}.data`);
  optionalPlatform(d.platform, `${where}.platform`);
  return d as unknown as Descriptor;
}

function descriptors(value: unknown, where: string): Descriptor[] {
  if (value === undefined) return [];
  if (!Array.isArray(value)) invalid(`${where} must be an array`);
  return value.map((v, i) => descriptor(v, `${where}[${i}]`));
}

/** A layer fetched from elsewhere (foreign or non-distributable) need not be pushed. */
function isExternal(d: Descriptor): boolean {
  return Array.isArray(d.urls) && d.urls.length > 0;
}

/**
 * Validates a manifest body. `contentType` is the request's Content-Type; when the body
 * carries `mediaType` too, the two must agree.
 */
export function parseManifest(body: Buffer, contentType: string | undefined): ParsedManifest {
  let doc: unknown;
  try {
    doc = JSON.parse(body.toString("utf8"));
  } catch (err) {
    invalid(`manifest is not valid JSON: ${(err as Error).message}`);
  }
  if (!isObject(doc)) invalid("manifest must be a JSON object");
  const m = doc;
  if (m.schemaVersion !== 2) invalid("schemaVersion must be 2");
  optionalString(m.mediaType, "mediaType");
  const declared = typeof m.mediaType === "string" ? m.mediaType : undefined;
  const header = contentType?.split(";")[0]?.trim() || undefined;
  if (declared && header && header !== declared && header !== "application/json") {
    invalid(`Content-Type ${header} does not match the manifest's mediaType ${declared}`);
  }
  const mediaType = declared ?? header ?? (m.manifests !== undefined ? MEDIA.ociIndex : MEDIA.ociManifest);
  const subject = m.subject == null ? null : descriptor(m.subject, "subject");
  optionalString(m.artifactType, "artifactType");
  const artifactType = typeof m.artifactType === "string" ? m.artifactType : undefined;
  const annotations = optionalAnnotations(m.annotations, "annotations");

  if (IMAGE_TYPES.has(mediaType)) {
    if (m.manifests !== undefined) invalid("an image manifest must not have manifests");
    const config = descriptor(m.config, "config");
    const layers = descriptors(m.layers, "layers");
    if (mediaType === MEDIA.dockerManifest && m.layers === undefined) invalid("layers is required");
    const blobDigests = [config, ...layers].filter((d) => !isExternal(d)).map((d) => d.digest);
    return { mediaType, blobDigests: [...new Set(blobDigests)], childDigests: [], subject, artifactType: artifactType ?? config.mediaType, annotations };
  }
  if (INDEX_TYPES.has(mediaType)) {
    if (m.layers !== undefined || m.config !== undefined) invalid("an index must not have config or layers");
    if (!Array.isArray(m.manifests)) invalid("manifests must be an array");
    const children = descriptors(m.manifests, "manifests");
    return {
      mediaType,
      blobDigests: [],
      childDigests: [...new Set(children.map((d) => d.digest))],
      subject,
      artifactType: artifactType ?? null,
      annotations,
    };
  }
  invalid(`unsupported manifest media type ${JSON.stringify(mediaType)}`);
}
