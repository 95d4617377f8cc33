// What stop, start and restart share (each is its own command file): the operation on the
// service's node, one component or all, and the components' states after it.
import { cell } from "../output/screen.ts";
import { splitTarget } from "../store/services.ts";
import type { OpResult } from "../store/types.ts";
import type { CommandSpec } from "./command.ts";
import { stateCell } from "../views/format.ts";
import { finite } from "./present.ts";

export function opScreen(r: OpResult | null, done: boolean, what: string) {
  // remove reports containers without their components: no empty COMPONENT column.
  const withComponent = r?.components.some((c) => c.component) ?? false;
  const row = (c: OpResult["components"][number]) => [...(withComponent ? [cell(c.component)] : []), cell(c.container), stateCell(c.state)];
  return {
    sections: r
      ? [
          {
            title: `${r.op} ${r.service}${r.component ? `/${r.component}` : ""} on ${r.node}`,
            columns: [...(withComponent ? ["component"] : []), "container", "state"],
            rows: r.components.map(row),
          },
        ]
      : [],
    notes: [],
    ...(done ? {} : { pending: what }),
  };
}

export function lifecycleCommand(op: "stop" | "start" | "restart", summary: string): CommandSpec {
  return {
    name: op,
    args: "<target>",
    summary,
    options: [],
    async run(ctx, [target]) {
      const { service, part } = splitTarget(target!);
      const store = ctx.store();
      await finite(
        ctx,
        () => store.getState().lifecycle(op, service, part || undefined),
        (r) => r,
        (s, done) => opScreen(s.lastOp, done, `${op} ${target}`),
      );
      return 0;
    },
  };
}
