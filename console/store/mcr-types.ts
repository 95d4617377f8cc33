// The registry's state as the console keeps it (commands print these shapes with --json,
// screens render them): plain objects with numbers, converted from mcr's admin messages.
import type { AuditEvent } from "../../proto/gen/mcr/v1/audit_pb.ts";
import type { GcRun } from "../../proto/gen/mcr/v1/gc_pb.ts";
import type { PolicyRule } from "../../proto/gen/mcr/v1/policy_pb.ts";
import type { ManifestSummary, RepositorySummary, Tag } from "../../proto/gen/mcr/v1/registry_pb.ts";

export interface RepoRow {
  name: string;
  tagCount: number;
  manifestCount: number;
  totalSize: number;
  createdAt: string;
  pushedAt: string;
}

export interface BlobRow {
  digest: string;
  size: number;
  mediaType: string;
  role: string;
}

export interface ManifestRow {
  digest: string;
  mediaType: string;
  size: number;
  createdAt: string;
  tags: string[];
  blobs: BlobRow[];
  blobsSize: number;
  childDigests: string[];
  subjectDigest: string;
  artifactType: string;
}

export interface TagRow {
  name: string;
  digest: string;
  updatedAt: string;
}

export interface RepoDetail {
  repository: RepoRow;
  tags: TagRow[];
  manifests: ManifestRow[];
}

export interface ManifestDetail {
  repository: string;
  reference: string;
  manifest: ManifestRow;
  /** The manifest's JSON as pushed. */
  content: string;
}

export interface GcOptionsRow {
  dryRun: boolean;
  untagged: boolean;
  reconcile: boolean;
  grace: string;
}

export interface GcRunRow {
  id: string;
  options: GcOptionsRow;
  actor: string;
  phase: string;
  running: boolean;
  startedAt: string;
  completedAt: string;
  manifestsRemoved: number;
  blobsMarked: number;
  bytesMarked: number;
  blobsSwept: number;
  bytesFreed: number;
  blobsKept: number;
  orphanFiles: number;
  orphanBytes: number;
  missingFiles: number;
  error: string;
  items: { kind: string; repository: string; digest: string; size: number }[];
  itemsOmitted: number;
}

/** One Watch message, numbered for NDJSON writers. */
export interface GcUpdate {
  seq: number;
  run: GcRunRow;
}

export interface PolicyRow {
  id: number;
  priority: number;
  description: string;
  effect: string;
  actions: string[];
  roles: string[];
  accountTypes: string[];
  subjectUuid: string;
  repositories: string[];
  services: string[];
  enabled: boolean;
  createdBy: string;
  createdAt: string;
  updatedAt: string;
}

export interface AuditRow {
  id: number;
  time: string;
  type: string;
  actor: string;
  repository: string;
  digest: string;
  ip: string;
  details: Record<string, string>;
}

export interface AuditFilter {
  type: string;
  actor: string;
  repository: string;
  since: string;
  until: string;
}

export interface SnapshotRow {
  path: string;
  size: number;
  createdAt: string;
}

export interface McrError {
  code: string;
  message: string;
}

export interface McrData {
  repos: RepoRow[];
  reposLoaded: boolean;
  repo: RepoDetail | null;
  manifest: ManifestDetail | null;
  gc: { current: GcRunRow | null; last: GcRunRow | null; watching: boolean };
  gcUpdates: GcUpdate[];
  gcSeq: number;
  policies: PolicyRow[];
  policiesLoaded: boolean;
  audit: { filter: AuditFilter; offset: number; limit: number; events: AuditRow[]; loaded: boolean; following: boolean };
  /** Events received by a follow (and the listed ones before them), oldest first; `id` orders them. */
  auditFeed: AuditRow[];
  snapshot: SnapshotRow | null;
  /** The last failure of each area, for the screens (commands get the thrown error). */
  errors: Partial<Record<"repos" | "repo" | "manifest" | "gc" | "policies" | "audit" | "snapshot", McrError>>;
}

export const emptyFilter = (): AuditFilter => ({ type: "", actor: "", repository: "", since: "", until: "" });

export function initialMcr(): McrData {
  return {
    repos: [],
    reposLoaded: false,
    repo: null,
    manifest: null,
    gc: { current: null, last: null, watching: false },
    gcUpdates: [],
    gcSeq: 0,
    policies: [],
    policiesLoaded: false,
    audit: { filter: emptyFilter(), offset: 0, limit: 50, events: [], loaded: false, following: false },
    auditFeed: [],
    snapshot: null,
    errors: {},
  };
}

const n = (v: bigint | number) => Number(v);

export const repoRow = (r: RepositorySummary): RepoRow => ({ name: r.name, tagCount: r.tagCount, manifestCount: r.manifestCount, totalSize: n(r.totalSize), createdAt: r.createdAt, pushedAt: r.pushedAt });
export const tagRow = (t: Tag): TagRow => ({ name: t.name, digest: t.digest, updatedAt: t.updatedAt });

export function manifestRow(m: ManifestSummary): ManifestRow {
  return {
    digest: m.digest,
    mediaType: m.mediaType,
    size: n(m.size),
    createdAt: m.createdAt,
    tags: [...m.tags],
    blobs: m.blobs.map((b) => ({ digest: b.digest, size: n(b.size), mediaType: b.mediaType, role: b.role })),
    blobsSize: n(m.blobsSize),
    childDigests: [...m.childDigests],
    subjectDigest: m.subjectDigest,
    artifactType: m.artifactType,
  };
}

export function gcRunRow(r: GcRun): GcRunRow {
  const o = r.options;
  return {
    id: r.id,
    options: { dryRun: o?.dryRun ?? false, untagged: o?.untagged ?? false, reconcile: o?.reconcile ?? false, grace: o?.grace ?? "" },
    actor: r.actor,
    phase: r.phase,
    running: r.running,
    startedAt: r.startedAt,
    completedAt: r.completedAt,
    manifestsRemoved: n(r.manifestsRemoved),
    blobsMarked: n(r.blobsMarked),
    bytesMarked: n(r.bytesMarked),
    blobsSwept: n(r.blobsSwept),
    bytesFreed: n(r.bytesFreed),
    blobsKept: n(r.blobsKept),
    orphanFiles: n(r.orphanFiles),
    orphanBytes: n(r.orphanBytes),
    missingFiles: n(r.missingFiles),
    error: r.error,
    items: r.items.map((i) => ({ kind: i.kind, repository: i.repository, digest: i.digest, size: n(i.size) })),
    itemsOmitted: n(r.itemsOmitted),
  };
}

export function policyRow(p: PolicyRule): PolicyRow {
  return {
    id: n(p.id),
    priority: p.priority,
    description: p.description,
    effect: p.effect,
    actions: [...p.actions],
    roles: [...p.roles],
    accountTypes: [...p.accountTypes],
    subjectUuid: p.subjectUuid,
    repositories: [...p.repositories],
    services: [...p.services],
    enabled: p.enabled ?? true,
    createdBy: p.createdBy,
    createdAt: p.createdAt,
    updatedAt: p.updatedAt,
  };
}

export const auditRow = (e: AuditEvent): AuditRow => ({ id: n(e.id), time: e.time, type: e.type, actor: e.actor, repository: e.repository, digest: e.digest, ip: e.ip, details: { ...e.details } });
