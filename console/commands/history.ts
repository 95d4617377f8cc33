// `mcp history <service>`: the service's releases on its node, newest first: each deploy
// (and rollback) with who, when, the version, each component's image digest and the result.
import type { CommandSpec } from "./command.ts";
import { finite } from "./present.ts";
import { releasesSection } from "../views/releases.ts";

const command: CommandSpec = {
  name: "history",
  args: "<service>",
  summary: "a service's releases (each deploy and rollback), newest first",
  options: [],
  async run(ctx, [service]) {
    const store = ctx.store();
    await finite(
      ctx,
      () => store.getState().history(service!),
      (releases) => ({
        service,
        releases: releases.map(({ definitionJson, ...r }) => ({ ...r, definition: JSON.parse(definitionJson || "null") })),
      }),
      (s, done) => ({
        sections: done ? [releasesSection(service!, s.releases[service!] ?? [])] : [],
        notes: [],
        ...(done ? {} : { pending: `asking ${service}'s node` }),
      }),
    );
    return 0;
  },
};

export default command;
