// What the agents say about resources, as the console keeps it: each node's containers'
// use (Stats) and what a prune of its images did (PruneImages), as plain objects with
// numbers (wire.ts). Types only, besides the conversions from the wire.
import {
  ContainerStatsSchema,
  PrunedImageSchema,
  type ContainerStats,
  type PrunedImage,
  type PruneImagesResponse,
} from "../../proto/gen/mcp/agent/v1/resources_pb.ts";
import type { ErrorInfo } from "./types.ts";
import { plain, type Plain } from "./wire.ts";

/** One running container's use, as its node's Stats answered it. */
export interface ContainerStatsRow extends Plain<ContainerStats> {
  node: string;
}

export interface PruneImageRow extends Plain<PrunedImage> {
  node: string;
}

/** One node's answer to a prune. */
export interface PruneNodeResult extends Omit<Plain<PruneImagesResponse>, "images"> {
  node: string;
  images: PruneImageRow[];
}

export interface PruneOptions {
  /** One node; absent: every node. */
  node?: string;
  /** Images younger than this are kept (0: no age limit). */
  olderThanSeconds: number;
  dryRun: boolean;
}

/** The last prune: what was asked, each node's answer or error, and whether it is still running. */
export interface PruneState {
  options: PruneOptions;
  running: boolean;
  results: PruneNodeResult[];
  errors: (ErrorInfo & { node: string })[];
}

export const statsRow = (node: string, c: ContainerStats): ContainerStatsRow => ({ node, ...plain(ContainerStatsSchema, c) });

export function pruneResult(node: string, r: PruneImagesResponse): PruneNodeResult {
  return {
    node,
    images: r.images.map((i) => ({ node, ...plain(PrunedImageSchema, i) })),
    bytesFreed: Number(r.bytesFreed),
    dryRun: r.dryRun,
    warnings: [...r.warnings],
  };
}
