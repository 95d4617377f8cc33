// The operator console's configuration: `mcp.toml` in `$XDG_CONFIG_HOME/mcp/` (default
// ~/.config/mcp/) or `--config`. The agents of every node, the registry and the identity
// server, the platform CA, the build workspace and the SMEP sheet. Every key can be
// overridden by `$MCP_<SECTION>_<KEY>` (`$MCP_CA_CERT` for the top-level key); an unknown
// section or key is an error that names it and the file.
import { existsSync } from "node:fs";
import { homedir } from "node:os";
import { join } from "node:path";
import { z } from "zod";
import { loadConfig, resolveConfig } from "../lib/config/load.ts";
import { duration } from "../lib/config/types.ts";
import { NAME_RE } from "../lib/services/definition.ts";

/** `~/x` → `<home>/x`; relative paths are resolved against the config's folder by the loader. */
const path = (fallback: string) =>
  z
    .string()
    .default(fallback)
    .transform((p) => (p === "~" ? homedir() : p.startsWith("~/") ? join(homedir(), p.slice(2)) : p));

const httpsUrl = z
  .string()
  .url()
  .refine((u) => u.startsWith("https://"), "must be an https:// URL (every connection is TLS)")
  .transform((u) => u.replace(/\/+$/, ""));

export const consoleConfigSchema = z
  .object({
    /** The platform CA (`<mcr home>/certs/ca.pem`): trusted for agents, and for the registry and identity server unless they name their own. */
    ca_cert: path(""),
    /** How long an agent may take to answer before it is shown as unreachable. */
    node_timeout: duration("3s"),
    nodes: z
      .array(
        z
          .object({
            name: z.string().regex(NAME_RE, "must be a node name ([a-z0-9][a-z0-9_.-]*)"),
            /** The agent's Connect-RPC URL, e.g. https://rift.example:9444. */
            url: httpsUrl,
          })
          .strict(),
      )
      .default([])
      .superRefine((nodes, ctx) => {
        const seen = new Set<string>();
        for (const [i, n] of nodes.entries()) {
          if (seen.has(n.name)) ctx.addIssue({ code: z.ZodIssueCode.custom, path: [i, "name"], message: `duplicate node ${JSON.stringify(n.name)}` });
          seen.add(n.name);
        }
      }),
    registry: z
      .object({
        /** mcr's URL, e.g. https://mcr.example:8443; images are tagged `<host:port>/<image>:<version>`. */
        url: httpsUrl.or(z.literal("")).default(""),
        ca_cert: path(""),
      })
      .strict()
      .default({}),
    identity: z
      .object({
        /** The MCIAS-compatible identity API; empty: the registry's embedded one. */
        url: httpsUrl.or(z.literal("")).default(""),
        ca_cert: path(""),
      })
      .strict()
      .default({}),
    build: z
      .object({
        /** Each service's source is `<workspace>/<path>` (path defaults to the service name). */
        workspace: path("~/src"),
        podman: z.string().default("podman"),
      })
      .strict()
      .default({}),
    placement: z
      .object({
        sheet: z.string().default("dynamicalsystem"),
        /** 0: the hash of the sheet name (docs/smep.md). */
        sheet_number: z.number().int().min(0).max(9).default(0),
        /** The sheet's machine registry (`name=NN` lines); the console owns it and ships it with sync. */
        machine_registry: path("machine-registry"),
      })
      .strict()
      .default({}),
    services: z
      .object({
        /** Folder of service definitions, one `<service>.toml` each (docs/service-definitions.md). */
        dir: path("services"),
      })
      .strict()
      .default({}),
    storage: z
      .object({
        /** Mirrors the agents' [storage] root and mount_root, for reporting storage paths. */
        root: z.string().default("/srv"),
        mount_root: z.string().default("/mnt"),
      })
      .strict()
      .default({}),
    users: z
      .object({ home_root: z.string().default("/var/lib/mcp-services") })
      .strict()
      .default({}),
    tui: z
      .object({
        /** Wheel and clicks in the TUI; false leaves the mouse to the terminal (its text selection). */
        mouse: z.boolean().default(true),
        /** "dark" or "light"; empty: $MCP_THEME, else dark (console/tui/theme.ts). */
        theme: z.enum(["", "dark", "light"]).default(""),
        /** A theme file overriding elements' colours; empty: $XDG_CONFIG_HOME/mcp/theme.toml when it exists. */
        theme_file: path(""),
      })
      .strict()
      .default({}),
  })
  .strict();

export type ConsoleConfig = z.output<typeof consoleConfigSchema> & {
  /** The file the config came from (or would have, when it does not exist). */
  file: string;
};

const PATH_KEYS = ["ca_cert", "registry.ca_cert", "identity.ca_cert", "build.workspace", "placement.machine_registry", "services.dir", "tui.theme_file"];

export function configHome(env: NodeJS.ProcessEnv = process.env): string {
  return env.XDG_CONFIG_HOME ? join(env.XDG_CONFIG_HOME, "mcp") : join(homedir(), ".config", "mcp");
}

export function stateHome(env: NodeJS.ProcessEnv = process.env): string {
  return env.XDG_STATE_HOME ? join(env.XDG_STATE_HOME, "mcp") : join(homedir(), ".local", "state", "mcp");
}

export function defaultConfigPath(env: NodeJS.ProcessEnv = process.env): string {
  return join(configHome(env), "mcp.toml");
}

/**
 * Loads the console config. A missing file at the default path means the config of `mcp up`'s
 * platform home when there is one, else all defaults (paths relative to that folder); a
 * missing `--config` file is an error.
 */
export function loadConsoleConfig(path: string | undefined, env: NodeJS.ProcessEnv = process.env): ConsoleConfig {
  // Without a config of its own, the console uses the platform `mcp up` runs on this machine.
  const upConfig = join(env.XDG_DATA_HOME || join(homedir(), ".local", "share"), "metacircular", "mcp.toml");
  if (path === undefined && !existsSync(defaultConfigPath(env)) && existsSync(upConfig)) path = upConfig;
  const file = path ?? defaultConfigPath(env);
  // $MCP_ is the agent's prefix too (envSiblings): its keys are not this file's mistakes.
  const opts = { path: file, schema: consoleConfigSchema, envPrefix: "MCP", env, pathKeys: PATH_KEYS, envForeignPrefixes: ["MCP_AGENT_"] };
  const cfg = path === undefined && !existsSync(file) ? resolveConfig({}, opts) : loadConfig(opts);
  return { ...cfg, file };
}

/** The registry's host:port as image references name it. */
export function registryHost(cfg: ConsoleConfig): string {
  return cfg.registry.url ? new URL(cfg.registry.url).host : "";
}

export function identityUrl(cfg: ConsoleConfig): string {
  return cfg.identity.url || cfg.registry.url;
}

export function identityCa(cfg: ConsoleConfig): string {
  return cfg.identity.ca_cert || (cfg.identity.url ? "" : cfg.registry.ca_cert) || cfg.ca_cert;
}

export function registryCa(cfg: ConsoleConfig): string {
  return cfg.registry.ca_cert || cfg.ca_cert;
}
