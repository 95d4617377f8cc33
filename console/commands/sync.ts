// `mcp sync`: builds and pushes images the registry lacks (when the source tree is there,
// saying which ones it could not build), then ships every definition and the machine
// registry to the agents of their nodes. Deploys nothing.
import { cell } from "../output/screen.ts";
import { EXIT_CODES } from "../output/errors.ts";
import type { CommandSpec } from "./command.ts";
import { nodeNotes, stateCell } from "../views/format.ts";
import { finite, withWarnings } from "./present.ts";
import { imagesSection, warningNotes } from "../views/progress.ts";

const command: CommandSpec = {
  name: "sync",
  args: "",
  summary: "ship every service definition (and the machine registry) to its node; build missing images",
  options: [],
  async run(ctx) {
    const store = ctx.store();
    const { results } = await withWarnings(ctx, () =>
      finite(
        ctx,
        () => store.getState().sync(ctx.signal),
        (r) => ({
          services: r.results,
          images: r.images.map(({ layers: _l, ...i }) => i),
        }),
        (s, done) => ({
          sections: [
            imagesSection(s),
            {
              title: "definitions",
              columns: ["service", "node", "outcome", "error"],
              rows: s.syncResults.map((r) => [cell(r.service), cell(r.node), stateCell(r.outcome), cell(r.error?.message ?? "", "bad")]),
            },
          ],
          notes: [
            ...warningNotes(s),
            ...Object.values(s.images)
              .filter((i) => i.phase === "cannot_build")
              .map((i) => cell(`not built: ${i.message}`, "warn")),
            ...nodeNotes(Object.values(s.nodes)),
          ],
          ...(done ? {} : { pending: "syncing" }),
        }),
      ),
    );
    const failed = results.find((r) => r.error);
    return failed?.error ? EXIT_CODES[failed.error.code] : 0;
  },
};

export default command;
