// The operator console's configuration (~/.config/mcp/mcp.toml): where service
// definitions and the sheet's machine registry live, and the sheet itself.
import { homedir } from "node:os";
import { join } from "node:path";
import { z } from "zod";
import { loadConfig } from "../lib/config/load.ts";

export const consoleConfigSchema = z.object({
  placement: z
    .object({
      sheet: z.string().default("dynamicalsystem"),
      /** 0: the hash of the sheet name (seed 004's get_sheet_number). */
      sheet_number: z.number().int().min(0).max(9).default(0),
      /** The sheet's machine registry (`name=NN` lines); the console owns it and ships it with sync. */
      machine_registry: z.string().default(join(homedir(), ".config", "mcp", "machine-registry")),
    })
    .default({}),
  services: z
    .object({
      /** Folder of service definitions, one `<service>.toml` each (seed 000 §2). */
      dir: z.string().default(join(homedir(), ".config", "mcp", "services")),
    })
    .default({}),
  storage: z
    .object({
      /** Mirrors the agents' [storage] root and mount_root, for reporting storage paths. */
      root: z.string().default("/srv"),
      mount_root: z.string().default("/mnt"),
    })
    .default({}),
  users: z.object({ home_root: z.string().default("/var/lib/mcp-services") }).default({}),
});

export type ConsoleConfig = z.output<typeof consoleConfigSchema>;

export const DEFAULT_CONSOLE_CONFIG = join(homedir(), ".config", "mcp", "mcp.toml");

/** Loads the console config; a missing file at the default path means all defaults. */
export function loadConsoleConfig(path: string | undefined, env: NodeJS.ProcessEnv = process.env): ConsoleConfig {
  const file = path ?? DEFAULT_CONSOLE_CONFIG;
  if (path === undefined) {
    try {
      return loadConfig({ path: file, schema: consoleConfigSchema, envPrefix: "MCP", env, pathKeys: ["placement.machine_registry", "services.dir"] });
    } catch (err) {
      if (/cannot read/.test((err as Error).message)) return consoleConfigSchema.parse({});
      throw err;
    }
  }
  return loadConfig({ path: file, schema: consoleConfigSchema, envPrefix: "MCP", env, pathKeys: ["placement.machine_registry", "services.dir"] });
}
