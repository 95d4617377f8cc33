// The built `mcp-agent` binary starts here (scripts/build.mjs): lib/cli/launch.ts checks the
// build and answers --version before main.ts (commander and the rest) is loaded.
import { launch } from "../lib/cli/launch.ts";

await launch("mcp-agent", import.meta.url, () => import("./main.ts"));
