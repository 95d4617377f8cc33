// The columns each table screen sorts by: the name its table shows, the Shift letter that
// sorts by it (`<` and `>` reach every column), and the value it sorts by. Letters follow
// one scheme where they can (N the name, O the node, S state or size, C CPU, M memory or
// manifests, A age or time) and never take a letter the screen already uses (the service
// screen's S starts it; G is the bottom everywhere; I inverts).
import type { AgentEventRow, ComponentStatusRow, ReleaseRow } from "../store/types.ts";
import type { AuditRow, GcRunRow, ManifestRow, PolicyRow, RepoRow, TagRow } from "../store/mcr-types.ts";
import type { CommandRecord } from "../store/commands.ts";
import type { ContainerStatsRow } from "../store/resource-types.ts";
import type { NodeLine } from "../views/nodes.ts";
import { byAge, byNumber, byText, byTime, timeValue, type SortColumn } from "../views/sort.ts";
import type { ServiceRow } from "./rows.ts";

export const SERVICES_SORT: SortColumn<ServiceRow>[] = [
  byText("service", (r) => r.service, "N"),
  byText("component", (r) => r.component),
  byText("node", (r) => r.node, "O"),
  byText("version", (r) => r.version, "V"),
  byText("state", (r) => r.state, "S"),
  byNumber("cpu", (r) => r.cpuPercent, "C"),
  byNumber("mem", (r) => r.memBytes, "M"),
  byAge("uptime", (r) => r.startedAt, "A"),
  byText("ports", (r) => r.ports, "P"),
  byText("drift", (r) => r.drift, "D"),
];

/** A component of the service screen, with what its container uses. */
export interface ComponentLine extends ComponentStatusRow {
  usage: ContainerStatsRow | undefined;
}

export const SERVICE_SORT: SortColumn<ComponentLine>[] = [
  byText("component", (c) => c.component, "N"),
  byText("desired", (c) => c.desiredState),
  byText("observed", (c) => c.observedState),
  byNumber("cpu", (c) => c.usage?.cpuPercent, "C"),
  byNumber("mem", (c) => c.usage?.memUsedBytes, "M"),
  byText("drift", (c) => c.drift, "D"),
  byText("image", (c) => c.observedImage || c.desiredImage),
  byText("ports", (c) => c.ports.map((p) => p.hostPort).join(",")),
  byAge("uptime", (c) => (c.observedState === "running" ? c.startedAt : ""), "A"),
];

export const REGISTRY_SORT: SortColumn<RepoRow>[] = [
  byText("repository", (r) => r.name, "N"),
  byNumber("tags", (r) => r.tagCount, "T"),
  byNumber("manifests", (r) => r.manifestCount, "M"),
  byNumber("size", (r) => r.totalSize, "S"),
  byTime("pushed", (r) => r.pushedAt, "A"),
];

/** A tag of the repository screen, with its manifest when the repository lists it. */
export interface TagLine {
  tag: TagRow;
  manifest: ManifestRow | undefined;
}

export const tagSize = (m: ManifestRow | undefined) => (m ? m.size + m.blobsSize : null);
export const tagLayers = (m: ManifestRow | undefined) => (m ? m.blobs.filter((b) => b.role === "layer").length : null);

export const REPOSITORY_SORT: SortColumn<TagLine>[] = [
  byText("tag", (t) => t.tag.name, "N"),
  byText("digest", (t) => t.tag.digest),
  byNumber("size", (t) => tagSize(t.manifest), "S"),
  byNumber("layers", (t) => tagLayers(t.manifest), "L"),
  byTime("updated", (t) => t.tag.updatedAt, "A"),
];

/** An audit event with the name of who did it. */
export interface AuditLine {
  event: AuditRow;
  actor: string;
}

export const AUDIT_SORT: SortColumn<AuditLine>[] = [
  byTime("time", (a) => a.event.time, "A"),
  byText("type", (a) => a.event.type, "T"),
  byText("actor", (a) => a.actor, "U"),
  byText("repository", (a) => a.event.repository, "R"),
  byText("digest", (a) => a.event.digest),
  byText("details", (a) =>
    Object.entries(a.event.details)
      .map(([k, v]) => `${k}=${v}`)
      .join(" "),
  ),
];

export const POLICIES_SORT: SortColumn<PolicyRow>[] = [
  byNumber("id", (p) => p.id),
  byNumber("prio", (p) => p.priority, "P"),
  byText("effect", (p) => p.effect, "E"),
  byText("enabled", (p) => (p.enabled ? "yes" : "no")),
  byText("actions", (p) => p.actions.join(",") || "*"),
  byText("roles", (p) => p.roles.join(",") || "*"),
  byText("on", (p) => [...p.repositories, ...p.services].join(",") || "*"),
  byText("description", (p) => p.description, "D"),
];

// a adds a node: the certificate's expiry sorts by C, the soonest first.
export const NODES_SORT: SortColumn<NodeLine>[] = [
  byText("node", (n) => n.name, "N"),
  byText("url", (n) => n.url),
  byText("state", (n) => n.state, "S"),
  byText("agent", (n) => n.version, "V"),
  byText("podman", (n) => n.podmanVersion),
  byText("cert", (n) => timeValue(n.certExpiresAt), "C"),
  byText("from", (n) => n.source),
  byText("reason", (n) => n.reason),
];

export type GcItemRow = GcRunRow["items"][number];

export const GC_SORT: SortColumn<GcItemRow>[] = [
  byText("kind", (i) => i.kind, "K"),
  byText("repository", (i) => i.repository, "R"),
  byText("digest", (i) => i.digest),
  byNumber("size", (i) => i.size, "S"),
];

// r reloads the command log: its where column sorts by W.
export const COMMANDS_SORT: SortColumn<CommandRecord>[] = [
  byTime("time", (r) => r.time, "A"),
  byText("where", (r) => r.where, "W"),
  byText("command", (r) => r.command, "C"),
  byText("target", (r) => r.target, "T"),
  byText("result", (r) => r.outcome, "S"),
  byNumber("duration", (r) => r.durationMs, "D"),
  byText("error", (r) => r.error, "E"),
];

// R is roll back and r reload on the history screen: the release number sorts by N.
export const HISTORY_SORT: SortColumn<ReleaseRow>[] = [
  byNumber("release", (r) => r.number, "N"),
  byAge("age", (r) => r.time, "A"),
  byText("by", (r) => r.actor, "B"),
  byText("version", (r) => r.version, "V"),
  byText("result", (r) => r.result, "S"),
];

export const EVENTS_SORT: SortColumn<AgentEventRow>[] = [
  byTime("time", (e) => e.time, "A"),
  byText("node", (e) => e.node, "O"),
  byText("service", (e) => e.service, "N"),
  byText("component", (e) => e.component),
  byText("action", (e) => e.action, "K"),
];
