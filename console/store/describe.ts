// Describe: one service's components in detail (or one component), from the agent of the
// service's node, kept by target (`service` or `service/component`) for `mcp describe` and
// the TUI's describe screen.
import { fanOut } from "./nodes.ts";
import { splitTarget } from "./services.ts";
import { serviceDescription } from "./describe-types.ts";
import type { DescribeActions, GetState, SetState, StoreDeps } from "./state.ts";

export function describeActions(set: SetState, get: GetState, deps: StoreDeps): DescribeActions {
  return {
    async describe(target) {
      const { service, part: component } = splitTarget(target);
      const node = await get().nodeOf(service);
      const [out] = await fanOut(get, [node], async (n) =>
        serviceDescription(n, await deps.agents.client(n).describe({ service, component }, deps.agents.call())),
      );
      if (!out!.ok) throw out!.error;
      const described = out!.value;
      set((s) => ({ describes: { ...s.describes, [target]: described } }));
      return described;
    },
  };
}
