// `mcp snapshot`: a consistent copy of the registry's database written by the running mcr
// (SQLite online backup to <home>/backups/mcr-YYYYMMDD-HHMMSS.db). Admin only.
import { cell } from "../output/screen.ts";
import { bytes } from "../../lib/text/bytes.ts";
import type { CommandSpec } from "./command.ts";
import { finite } from "./present.ts";

const command: CommandSpec = {
  name: "snapshot",
  args: "",
  summary: "back up the registry's database (a file on the registry's host)",
  options: [],
  async run(ctx) {
    const store = ctx.store();
    await finite(
      ctx,
      () => store.getState().snapshot(),
      (r) => r,
      (s, done) => ({
        sections: s.mcr.snapshot
          ? [{ columns: ["path", "size", "created"], rows: [[cell(s.mcr.snapshot.path), cell(bytes(s.mcr.snapshot.size)), cell(s.mcr.snapshot.createdAt)]] }]
          : [],
        notes: [],
        ...(done ? {} : { pending: "writing the snapshot" }),
      }),
    );
    return 0;
  },
};

export default command;
