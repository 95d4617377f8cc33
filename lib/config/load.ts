// Loads a program's TOML config (docs/configuration.md): file → `$<PREFIX>_<SECTION>_<KEY>`
// overrides → `$PORT` → schema validation. Every failure names the field. Schemas are
// strict (unknown sections and keys are errors), and so are the overrides: a
// `$<PREFIX>_<A>_<B>` that names no key is refused rather than ignored.
import { readFileSync } from "node:fs";
import { dirname, isAbsolute, resolve } from "node:path";
import { parse as parseToml } from "smol-toml";
import { z } from "zod";

export class ConfigError extends Error {
  override name = "ConfigError";
}

export interface LoadConfigOptions<S extends z.ZodTypeAny> {
  path: string;
  schema: S;
  /** "MCR", "MCP_AGENT" or "MCP": env overrides are `$MCR_SERVER_LISTEN_ADDR` and so on. */
  envPrefix: string;
  env?: NodeJS.ProcessEnv;
  /** Dotted keys ("storage.layers_path") whose relative values resolve against the config file's folder. */
  pathKeys?: string[];
  /**
   * Longer prefixes that belong to another program (`$MCP_AGENT_` is the agent's, under the
   * console's `$MCP_`): their variables are left alone.
   */
  envForeignPrefixes?: string[];
}

type Table = Record<string, unknown>;

export function loadConfig<S extends z.ZodTypeAny>(opts: LoadConfigOptions<S>): z.output<S> {
  let text: string;
  try {
    text = readFileSync(opts.path, "utf8");
  } catch (err) {
    throw new ConfigError(`config ${opts.path}: cannot read: ${(err as Error).message}`);
  }
  let raw: Table;
  try {
    raw = parseToml(text) as Table;
  } catch (err) {
    throw new ConfigError(`config ${opts.path}: invalid TOML: ${(err as Error).message}`);
  }
  return resolveConfig(raw, opts);
}

/** The part of loadConfig after the file is parsed; exported for tests and for `init`. */
export function resolveConfig<S extends z.ZodTypeAny>(raw: Table, opts: LoadConfigOptions<S>): z.output<S> {
  const env = opts.env ?? process.env;
  applyEnvOverrides(raw, opts, env);
  applyPortOverrides(raw, env);
  const result = opts.schema.safeParse(raw);
  if (!result.success) {
    // An unknown key first: a misspelled [databse] would otherwise be reported as "[database] is required".
    const issues = result.error.issues;
    const issue = issues.find((i) => i.code === "unrecognized_keys") ?? issues[0]!;
    if (issue.code === "unrecognized_keys") throw new ConfigError(`config ${opts.path}: ${describeUnknown(issue, raw)}`);
    throw new ConfigError(`config ${opts.path}: ${describePath(issue.path)} ${describeIssue(issue)}`);
  }
  const cfg = result.data as Table;
  for (const key of opts.pathKeys ?? []) resolvePathKey(cfg, key, dirname(resolve(opts.path)));
  return cfg as z.output<S>;
}

function describePath(path: (string | number)[]): string {
  if (path.length === 0) return "(top level)";
  if (path.length === 1) return `[${path[0]}]`;
  return `[${path[0]}] ${path.slice(1).join(".")}`;
}

function describeUnknown(issue: z.ZodUnrecognizedKeysIssue, raw: Table): string {
  const keys = issue.keys;
  if (issue.path.length === 0) {
    const isTable = (k: string) => typeof raw[k] === "object" && raw[k] !== null && !Array.isArray(raw[k]);
    return keys.map((k) => (isTable(k) ? `unknown section [${k}]` : `unknown key ${k}`)).join(", ");
  }
  return `${describePath(issue.path)} unknown key${keys.length > 1 ? "s" : ""} ${keys.join(", ")}`;
}

function describeIssue(issue: z.ZodIssue): string {
  if (issue.code === "invalid_type" && issue.received === "undefined") return "is required";
  return issue.message.charAt(0).toLowerCase() + issue.message.slice(1);
}

/** Unwraps optional/default/effects wrappers to reach the underlying zod type. */
function baseType(t: z.ZodTypeAny): z.ZodTypeAny {
  for (;;) {
    if (t instanceof z.ZodOptional || t instanceof z.ZodNullable) t = t.unwrap();
    else if (t instanceof z.ZodDefault) t = t._def.innerType;
    else if (t instanceof z.ZodEffects) t = t.innerType();
    else return t;
  }
}

/** Every `<rest>` of `$<PREFIX>_<REST>` (lower case) that names a key: top-level scalars and `<section>_<key>`. */
export function envKeys(schema: z.ZodTypeAny): Set<string> {
  const out = new Set<string>();
  const root = baseType(schema);
  if (!(root instanceof z.ZodObject)) return out;
  for (const [name, type] of Object.entries(root.shape as Record<string, z.ZodTypeAny>)) {
    const t = baseType(type);
    if (t instanceof z.ZodObject) for (const key of Object.keys(t.shape as object)) out.add(`${name}_${key}`);
    else if (!(t instanceof z.ZodArray)) out.add(name);
  }
  return out;
}

function applyEnvOverrides(raw: Table, opts: LoadConfigOptions<z.ZodTypeAny>, env: NodeJS.ProcessEnv): void {
  const root = baseType(opts.schema);
  if (!(root instanceof z.ZodObject)) return;
  const sections = root.shape as Record<string, z.ZodTypeAny>;
  const lead = `${opts.envPrefix}_`;
  let known: Set<string> | undefined;
  const unknown = (name: string, rest: string): void => {
    known ??= envKeys(opts.schema);
    if (known.has(rest)) return;
    const cut = rest.indexOf("_");
    const section = rest.slice(0, cut);
    const why = section in sections ? `[${section}] has no key ${rest.slice(cut + 1)}` : `there is no section [${section}]`;
    throw new ConfigError(`config ${opts.path}: $${name} names no config key (${why}); $${lead}<SECTION>_<KEY> must name one`);
  };
  for (const [name, value] of Object.entries(env)) {
    if (!name.startsWith(lead) || value === undefined) continue;
    if (opts.envForeignPrefixes?.some((p) => name.startsWith(p))) continue;
    const rest = name.slice(lead.length).toLowerCase();
    // A top-level scalar key ("ca_cert" → $MCP_CA_CERT) before a section's key.
    const topType = sections[rest] && baseType(sections[rest]);
    if (topType && !(topType instanceof z.ZodObject) && !(topType instanceof z.ZodArray)) {
      raw[rest] = coerceEnv(value, topType);
      continue;
    }
    const cut = rest.indexOf("_");
    if (cut <= 0) continue; // $MCR_HOME, $MCR_BIN: not shaped like a config key
    const section = rest.slice(0, cut);
    const key = rest.slice(cut + 1);
    const sectionType = sections[section] && baseType(sections[section]);
    const fieldType = sectionType instanceof z.ZodObject ? (sectionType.shape as Record<string, z.ZodTypeAny>)[key] : undefined;
    if (!fieldType) {
      unknown(name, rest);
      continue;
    }
    const table = (raw[section] ??= {}) as Table;
    table[key] = coerceEnv(value, baseType(fieldType));
  }
}

function coerceEnv(value: string, type: z.ZodTypeAny): unknown {
  if (type instanceof z.ZodNumber) return value.trim() === "" ? Number.NaN : Number(value);
  if (type instanceof z.ZodBoolean) {
    if (/^(true|1|yes)$/i.test(value)) return true;
    if (/^(false|0|no)$/i.test(value)) return false;
    return value; // left as a string so validation reports it
  }
  if (type instanceof z.ZodArray) return value === "" ? [] : value.split(",").map((s) => s.trim());
  return value;
}

/**
 * `$PORT` replaces the port of `[server] listen_addr`. An older layout also had `$PORT_GRPC`,
 * but every daemon here serves gRPC/Connect on its one listener, so it is not read: a
 * service placed with `PORT_GRPC` in its environment must not have it rewrite anything.
 */
function applyPortOverrides(raw: Table, env: NodeJS.ProcessEnv): void {
  const port = env.PORT;
  if (port === undefined || port === "") return;
  if (!/^\d{1,5}$/.test(port) || Number(port) > 65535) throw new ConfigError(`$PORT value ${JSON.stringify(port)} is not a port number`);
  const server = (raw.server ??= {}) as Table;
  const current = typeof server.listen_addr === "string" ? server.listen_addr : "";
  server.listen_addr = `${splitHostPort(current).host}:${port}`;
}

export function splitHostPort(addr: string): { host: string; port: number } {
  const m = /^(?:\[([^\]]+)\]|([^:]*)):(\d+)$/.exec(addr);
  if (!m) return { host: "", port: Number.NaN };
  return { host: m[1] ?? m[2] ?? "", port: Number(m[3]) };
}

function resolvePathKey(cfg: Table, dotted: string, base: string): void {
  const [first, second] = dotted.split(".") as [string, string | undefined];
  // "ca_cert": a top-level key; "storage.root": a key of a section.
  const [table, key] = second === undefined ? [cfg, first] : [cfg[first] as Table | undefined, second];
  const value = table?.[key];
  if (typeof value === "string" && value !== "" && !isAbsolute(value)) table![key] = resolve(base, value);
}
