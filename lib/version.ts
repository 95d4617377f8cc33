// The version of this build. The bundle has it inlined by scripts/build.mjs (esbuild
// `define`); the TypeScript sources (tsx, tests) read package.json.
import { readFileSync } from "node:fs";

declare const __MCP_VERSION__: string | undefined;

export const version: string =
  typeof __MCP_VERSION__ === "string"
    ? __MCP_VERSION__
    : (JSON.parse(readFileSync(new URL("../package.json", import.meta.url), "utf8")) as { version: string }).version;
