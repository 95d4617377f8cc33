// Service definitions on the operator's workstation: `<services dir>/<name>.toml`
// (docs/service-definitions.md), the one TOML loader of definitions.
// lib/services/definition.ts validates what the agents receive; the console also reads the
// build fields (`path`, `[build.images]`) that only it uses. A bad file is reported with its
// path, the field and, when it can be found, the line.
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { isAbsolute, join, normalize } from "node:path";
import { parse as parseToml } from "smol-toml";
import { DefinitionError, NAME_RE, validateDefinition, type ComponentDefinition, type ServiceDefinition } from "../lib/services/definition.ts";
import { ConsoleError } from "./output/errors.ts";

export interface LoadedDefinition {
  def: ServiceDefinition;
  file: string;
  /** Source folder relative to the build workspace (default: the service name). */
  path: string;
  /** `[build.images]`: image (repository) name → Containerfile, relative to the source folder. */
  images: Record<string, string>;
}

type Raw = Record<string, unknown>;

function fail(file: string, text: string, field: string, message: string): never {
  const line = findLine(text, field);
  throw new ConsoleError("invalid", `${file}${line ? `:${line}` : ""}: ${field}: ${message}`);
}

/**
 * The line of a field such as `components[1].routes[0].port`: the n-th `[[components]]`
 * header, then the m-th `[[components.routes]]` after it, then `port =`. 0 when not found.
 */
export function findLine(text: string, field: string): number {
  const lines = text.split("\n");
  const parts = field.split(".");
  const key = parts.pop()!.replace(/\[\d+\]$/, "");
  let from = 0;
  let table = "";
  for (const part of parts) {
    const m = /^([a-z_]+)(?:\[(\d+)\])?$/.exec(part);
    if (!m) return 0;
    table = table ? `${table}.${m[1]}` : m[1]!;
    const header = m[2] === undefined ? `[${table}]` : `[[${table}]]`;
    let seen = -1;
    const at = lines.findIndex((l, i) => i >= from && l.trim() === header && ++seen === Number(m[2] ?? 0));
    if (at < 0) return 0;
    from = at + 1;
  }
  const re = new RegExp(`^\\s*["']?${key}["']?\\s*=`);
  for (let i = from; i < lines.length && !/^\s*\[/.test(lines[i]!); i++) if (re.test(lines[i]!)) return i + 1;
  // A table of that name: `[table.key]` or `[[table.key]]`.
  const header = table ? `${table}.${key}` : key;
  const at = lines.findIndex((l, i) => i >= from - 1 && (l.trim() === `[${header}]` || l.trim() === `[[${header}]]`));
  return at < 0 ? 0 : at + 1;
}

/** Parses one definition file; errors name the file, the field and the line. */
export function parseDefinitionFile(file: string): LoadedDefinition {
  let text: string;
  try {
    text = readFileSync(file, "utf8");
  } catch (err) {
    throw new ConsoleError("not_found", `cannot read ${file}: ${(err as Error).message}`);
  }
  return parseDefinitionText(text, file);
}

/** Parses a definition's TOML text; errors name `file`, the field and the line in `text`. */
export function parseDefinitionText(text: string, file: string): LoadedDefinition {
  let raw: Raw;
  try {
    raw = parseToml(text) as Raw;
  } catch (err) {
    throw new ConsoleError("invalid", `${file}: invalid TOML: ${(err as Error).message.split("\n")[0]}`);
  }
  const { build, path, ...rest } = raw;
  let def: ServiceDefinition;
  try {
    def = validateDefinition(rest);
  } catch (err) {
    if (!(err instanceof DefinitionError)) throw err;
    // "shop: components[0].routes[1].port: must be …" → the field after the service name.
    const m = /^(?:[^:]+: )?([A-Za-z0-9_-]+(?:\[\d+\])?(?:\.[A-Za-z0-9_-]+(?:\[\d+\])?)*): (.*)$/s.exec(err.message);
    if (m) fail(file, text, m[1]!, m[2]!);
    throw new ConsoleError("invalid", `${file}: ${err.message}`);
  }
  if (path !== undefined && (typeof path !== "string" || path === "" || isAbsolute(path) || normalize(path).startsWith("..")))
    fail(file, text, "path", "must be a folder relative to the build workspace");
  const images: Record<string, string> = {};
  if (build !== undefined) {
    if (typeof build !== "object" || build === null || Array.isArray(build)) fail(file, text, "build", "must be a table");
    for (const [k, v] of Object.entries(build as Raw)) {
      if (k !== "images") fail(file, text, `build.${k}`, "unknown key (only [build.images])");
    }
    const imgs = (build as Raw).images ?? {};
    if (typeof imgs !== "object" || imgs === null || Array.isArray(imgs)) fail(file, text, "build.images", 'must be a table of image = "Containerfile"');
    for (const [image, cf] of Object.entries(imgs as Raw)) {
      if (!/^[a-z0-9]+([._-][a-z0-9]+)*(\/[a-z0-9]+([._-][a-z0-9]+)*)*$/.test(image))
        fail(file, text, "build.images", `${JSON.stringify(image)} is not a valid image name`);
      if (typeof cf !== "string" || cf === "" || isAbsolute(cf) || normalize(cf).startsWith(".."))
        fail(file, text, `build.images`, `${image}: the Containerfile must be a path inside the source folder`);
      images[image] = cf;
    }
  }
  return { def, file, path: (path as string | undefined) ?? def.name, images };
}

export class Definitions {
  constructor(readonly dir: string) {}

  /** One service's definition, or `not_found`. */
  get(name: string): LoadedDefinition {
    if (!NAME_RE.test(name)) throw new ConsoleError("usage", `${JSON.stringify(name)} is not a service name`);
    const file = join(this.dir, `${name}.toml`);
    if (!existsSync(file)) throw new ConsoleError("not_found", `no service definition ${file}`);
    const loaded = parseDefinitionFile(file);
    if (loaded.def.name !== name)
      throw new ConsoleError("invalid", `${file}: name is ${JSON.stringify(loaded.def.name)}, not ${JSON.stringify(name)} as the file name says`);
    return loaded;
  }

  has(name: string): boolean {
    return NAME_RE.test(name) && existsSync(join(this.dir, `${name}.toml`));
  }

  /** Every definition in the folder (sorted by name); a bad file fails the whole list. */
  all(): LoadedDefinition[] {
    if (!existsSync(this.dir)) return [];
    return readdirSync(this.dir)
      .filter((f) => f.endsWith(".toml"))
      .sort()
      .map((f) => this.get(f.slice(0, -5)));
  }
}

/** The image a component runs: its own `image`, else `<registry host>/<service>[-<component>]`, tagged with its version. */
export function componentImage(
  def: ServiceDefinition,
  c: ComponentDefinition,
  registryHost: string,
): { ref: string; repository: string; tag: string; inRegistry: boolean } {
  const version = c.version || def.version;
  if (c.image) {
    const at = c.image.indexOf("@");
    const slash = c.image.lastIndexOf("/");
    const colon = c.image.lastIndexOf(":");
    const hasTag = colon > slash && at < 0;
    const name = hasTag ? c.image.slice(0, colon) : at >= 0 ? c.image.slice(0, at) : c.image;
    const tag = hasTag ? c.image.slice(colon + 1) : version;
    const host = name.includes("/") ? name.slice(0, name.indexOf("/")) : "";
    const inRegistry = host === registryHost;
    return { ref: hasTag || at >= 0 ? c.image : `${c.image}:${version}`, repository: inRegistry ? name.slice(host.length + 1) : name, tag, inRegistry };
  }
  const repository = c.name === "api" ? def.name : `${def.name}-${c.name}`;
  return { ref: `${registryHost}/${repository}:${version}`, repository, tag: version, inRegistry: true };
}

/** Why a component runs the image it does, in the operator's words. */
export function imageReason(def: ServiceDefinition, c: ComponentDefinition): string {
  if (c.image) return `it sets image = ${JSON.stringify(c.image)}`;
  return c.name === "api"
    ? `a component without image = runs the service's name; the one named api, ${def.name}`
    : `a component without image = runs <service>-<component>, ${def.name}-${c.name}`;
}

/** `[build.images]` entries no component runs from the registry (a name that does not match is the usual mistake). */
export function unusedImageEntries(d: LoadedDefinition, registryHost: string): string[] {
  const used = new Set(
    d.def.components
      .map((c) => componentImage(d.def, c, registryHost))
      .filter((i) => i.inRegistry)
      .map((i) => i.repository),
  );
  return Object.keys(d.images)
    .filter((name) => !used.has(name))
    .map(
      (name) =>
        `${d.file}: [build.images] entry ${JSON.stringify(name)} is run by no component (they run ${[...used].map((u) => JSON.stringify(u)).join(", ") || "no image of the registry"})`,
    );
}
