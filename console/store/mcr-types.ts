// The registry's state as the console keeps it (commands print these shapes with --json,
// screens render them): mcr's admin messages as plain objects with numbers (wire.ts).
import { CheckResponseSchema, SnapshotResponseSchema, type CheckResponse, type SnapshotResponse, type StorageHealth } from "../../proto/gen/mcr/v1/admin_pb.ts";
import { AuditEventSchema, type AuditEvent, type ListEventsRequest } from "../../proto/gen/mcr/v1/audit_pb.ts";
import { GcRunSchema, type GcOptions, type GcRun } from "../../proto/gen/mcr/v1/gc_pb.ts";
import { PolicyRuleSchema, type PolicyRule } from "../../proto/gen/mcr/v1/policy_pb.ts";
import {
  ManifestSummarySchema,
  RepositorySummarySchema,
  TagSchema,
  type BlobRef,
  type ManifestSummary,
  type RepositorySummary,
  type Tag,
} from "../../proto/gen/mcr/v1/registry_pb.ts";
import { plain, type Plain } from "./wire.ts";

export type RepoRow = Plain<RepositorySummary>;
export type BlobRow = Plain<BlobRef>;
export type ManifestRow = Plain<ManifestSummary>;
export type TagRow = Plain<Tag>;

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

export type GcOptionsRow = Plain<GcOptions>;

export interface GcRunRow extends Omit<Plain<GcRun>, "options"> {
  options: GcOptionsRow;
}

/** One Watch message, numbered for NDJSON writers. */
export interface GcUpdate {
  seq: number;
  run: GcRunRow;
}

export interface PolicyRow extends Omit<Plain<PolicyRule>, "enabled"> {
  /** Unset on the wire means enabled. */
  enabled: boolean;
}

export type AuditRow = Plain<AuditEvent>;
export type AuditFilter = Pick<ListEventsRequest, "type" | "actor" | "repository" | "since" | "until">;
export type SnapshotRow = Plain<SnapshotResponse>;

/** What AdminService/Check found (`mcp registry check`): as `mcr check --json` prints it. */
export type CheckRow = Plain<CheckResponse>;

/** How many blobs a check reads back and hashes: a number chosen at random, or every one. */
export type VerifySample = number | "all";

export interface CheckState {
  /** A check is in progress (mcr answers when it ends). */
  running: boolean;
  /** What the check in progress, or the last one, read back; null: none. */
  verify: VerifySample | null;
  /** The last check's answer; null until one ended. */
  result: CheckRow | null;
  /** When the last check ended (RFC 3339); "" before. */
  endedAt: string;
}

/**
 * The registry's readiness as AdminService/Health says it: `ok` (its database and its blob
 * store answer), `unavailable` (mcr answered that one of them does not: `error` names it, the
 * database, the bucket or the blob folder) or `unreachable` (mcr did not answer: `error` says why).
 */
export interface RegistryHealth {
  url: string;
  status: "ok" | "unavailable" | "unreachable";
  /** mcr's version; "" unless it answered ok. */
  version: string;
  /** "ok"; "" unless it answered ok (the message names the database when it is down). */
  database: string;
  /** The blob store checked; null unless it answered ok (or an mcr too old to say). */
  storage: Plain<StorageHealth> | null;
  error: string;
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
  /** The registry's readiness, as last asked (registryHealth); null until asked, or without a [registry] url. */
  health: RegistryHealth | null;
  /** The integrity check (checkRegistry). */
  check: CheckState;
  /** Account id → username, as far as the console can tell (resolveActors); null until asked. */
  actors: Record<string, string> | null;
  /** Changes to repositories and tags seen on mcr's audit stream (followChanges). */
  changes: number;
  /** The last failure of each area, for the screens (commands get the thrown error). */
  errors: Partial<Record<"repos" | "repo" | "manifest" | "gc" | "policies" | "audit" | "snapshot" | "check", McrError>>;
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
    health: null,
    check: { running: false, verify: null, result: null, endedAt: "" },
    actors: null,
    changes: 0,
    errors: {},
  };
}

export const repoRow = (r: RepositorySummary): RepoRow => plain(RepositorySummarySchema, r);
export const tagRow = (t: Tag): TagRow => plain(TagSchema, t);
export const manifestRow = (m: ManifestSummary): ManifestRow => plain(ManifestSummarySchema, m);
export const auditRow = (e: AuditEvent): AuditRow => plain(AuditEventSchema, e);
export const snapshotRow = (r: SnapshotResponse): SnapshotRow => plain(SnapshotResponseSchema, r);
export const checkRow = (r: CheckResponse): CheckRow => plain(CheckResponseSchema, r);

const NO_GC_OPTIONS: GcOptionsRow = { dryRun: false, untagged: false, reconcile: false, grace: "" };

export function gcRunRow(r: GcRun): GcRunRow {
  const run = plain(GcRunSchema, r);
  return { ...run, options: run.options ?? { ...NO_GC_OPTIONS } };
}

export function policyRow(p: PolicyRule): PolicyRow {
  // `services` is printed after `repositories`, where --json has always had it.
  const { services, enabled, createdBy, createdAt, updatedAt, ...rule } = plain(PolicyRuleSchema, p);
  return { ...rule, services, enabled: enabled ?? true, createdBy, createdAt, updatedAt };
}

/** The names an audit `actor` filter stands for: itself, and the ids or the name it is known by. */
export function actorAliases(actor: string, actors: Record<string, string>): string[] {
  if (!actor) return [""];
  const ids = Object.entries(actors)
    .filter(([, name]) => name === actor)
    .map(([id]) => id);
  const name = actors[actor];
  return [...new Set([actor, ...ids, ...(name ? [name] : [])])];
}
