// The platform's nodes as the console keeps them (store/platform.ts): mcr's NodeService
// messages made plain (wire.ts), and what the console knows of the last time it asked.
import { NodeSchema, type Node } from "../../proto/gen/mcr/v1/node_pb.ts";
import { plain, type Plain } from "./wire.ts";

/** A node as the registry lists it: "pending" (a join token issued, not used yet) or "joined". */
export type PlatformNodeRow = Plain<Node>;

export interface PlatformData {
  /** The registry's nodes as NodeService last listed them (pending and joined), with what this console added or removed since. */
  nodes: PlatformNodeRow[];
  /** Serials of the certificates of removed nodes: the agents' connections refuse them. */
  revokedSerials: string[];
  /** Whether the registry's list has been read (false: the config's nodes only). */
  listed: boolean;
  /** Why the last ask for the list failed (no session, the registry unreachable); "" when it answered or no registry is configured. */
  error: string;
  /** What that means for the nodes, for the operator ("" when the list was read). */
  note: string;
}

export const initialPlatform = (): PlatformData => ({ nodes: [], revokedSerials: [], listed: false, error: "", note: "" });

export const platformNodeRow = (n: Node): PlatformNodeRow => plain(NodeSchema, n);

/** What `mcp node add` and the nodes screen's `a` ask the registry for. */
export interface NewNode {
  name: string;
  /** Empty: the registry's default, https://<name>:9444. */
  url: string;
  hostnames: string[];
  /** How long the join token works; 0: the registry's default (an hour). */
  expiresSeconds: number;
}

export interface AddedNode {
  node: PlatformNodeRow;
  /** The one-time join token: shown once, the registry keeps only its hash. */
  token: string;
  /** The registry's URL, which the node joins at. */
  registryUrl: string;
}

export interface RemovedNode {
  node: PlatformNodeRow;
  /** The serials of the node's certificates the registry revoked with it. */
  revokedSerials: string[];
}
