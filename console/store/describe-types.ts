// What an agent's Describe answered, as the console keeps it (`mcp describe`, the TUI's
// describe screen): the generated messages made plain (wire.ts), with the console's name for
// the node, the placement null when there is none and a stopped container's exit code null
// while it runs. Types only, besides the conversion from the wire.
import {
  ComponentDescriptionSchema,
  DescribedPlacementSchema,
  DescribeResponseSchema,
  type ComponentDescription,
  type DescribedPlacement,
  type DescribeResponse,
} from "../../proto/gen/mcp/agent/v1/describe_pb.ts";
import { plain, type Plain } from "./wire.ts";

export interface ComponentDescriptionRow extends Omit<Plain<ComponentDescription>, "exitCode"> {
  /** null unless the container has stopped. */
  exitCode: number | null;
}

export interface ServiceDescription extends Omit<Plain<DescribeResponse>, "placement" | "components"> {
  /** null: the service has no SMEP placement on its node. */
  placement: Plain<DescribedPlacement> | null;
  components: ComponentDescriptionRow[];
}

/** `r` from node `node` (the console's name for it). */
export function serviceDescription(node: string, r: DescribeResponse): ServiceDescription {
  const s = plain(DescribeResponseSchema, r);
  return {
    ...s,
    node,
    placement: r.placement ? plain(DescribedPlacementSchema, r.placement) : null,
    components: r.components.map((c) => ({ ...plain(ComponentDescriptionSchema, c), exitCode: c.exitCode ?? null })),
  };
}
