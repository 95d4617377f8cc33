// Service definitions (docs/service-definitions.md): the validated form the console ships to
// agents. Validation lives here so that the console refuses a bad file (console/definitions.ts
// reads the TOML) and the agent refuses a bad RPC the same way.
import { isAbsolute, normalize } from "node:path/posix";
import { ENVIRONMENTS, PORTS_PER_PLACEMENT, isEnvironment } from "../smep/smep.ts";
import { quote } from "../text/quote.ts";

export interface RouteDefinition {
  /** Decides `$PORT_<NAME>`; required when a component has several routes. */
  name: string;
  /** External port on the node's proxy (HAProxy). */
  port: number;
  mode: "l4" | "l7";
  hostname: string;
  /** SMEP port index (0-9); undefined: the next free one in declaration order. */
  index?: number;
}

export interface ComponentDefinition {
  name: string;
  /** Full image reference; empty: derived from the service name and the registry. */
  image: string;
  /** Empty: the service's version. */
  version: string;
  volumes: string[];
  cmd: string[];
  network: string;
  user: string;
  restart: string;
  env: Record<string, string>;
  routes: RouteDefinition[];
}

export interface StorageDefinition {
  /** NFS export `server:/path` for the service-environment's storage root; empty: local disk. */
  nfs: string;
  /** Extra mount options for the NFS export. */
  nfsOptions: string;
}

export interface ServiceDefinition {
  name: string;
  node: string;
  version: string;
  active: boolean;
  /** SMEP environment (docs/smep.md): prod, test, dev, ... */
  environment: string;
  /** Pins the SMEP machine number (01-99) instead of the machine registry's. */
  number?: number;
  storage: StorageDefinition;
  components: ComponentDefinition[];
}

export class DefinitionError extends Error {
  override name = "DefinitionError";
}

export const NAME_RE = /^[a-z0-9][a-z0-9_.-]{0,62}$/;
const TAG_RE = /^[a-zA-Z0-9_][a-zA-Z0-9._-]{0,127}$/;
const ENV_KEY_RE = /^[A-Za-z_][A-Za-z0-9_]{0,127}$/;
const ROUTE_NAME_RE = /^[a-z][a-z0-9_]{0,31}$/;
const RESTART_RE = /^(no|always|unless-stopped|on-failure(:\d{1,4})?)$/;
const USER_RE = /^[a-z0-9_][a-z0-9_.-]*(:[a-z0-9_][a-z0-9_.-]*)?$/i;
const HOSTNAME_RE = /^(?=.{1,253}$)[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?(\.[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)*$/;
const IMAGE_RE = /^[a-z0-9]+([._-][a-z0-9]+)*(:[0-9]{1,5})?(\/[a-z0-9]+([._-]+[a-z0-9]+)*)*(:[a-zA-Z0-9_][a-zA-Z0-9._-]{0,127})?(@sha256:[a-f0-9]{64})?$/;
const VOLUME_OPTS = new Set(["ro", "rw", "z", "Z"]);

/**
 * Most entries of each list a definition may have (docs/agent.md), checked before any entry
 * is: neither an RPC nor a file makes the agent validate, store or plan without end.
 */
export const LIMITS = { components: 64, routes: PORTS_PER_PLACEMENT, volumes: 64, cmd: 256, env: 256, node: 253 } as const;

type Raw = Record<string, unknown>;

function fail(where: string, message: string): never {
  throw new DefinitionError(`${where}: ${message}`);
}

function atMost(count: number, max: number, where: string, what: string): void {
  if (count > max) fail(where, `${count} ${what} given; at most ${max} are allowed`);
}

// C0 controls and DEL: a NUL cannot reach podman's argv, and a newline or escape in a name
// or path would split log lines, env files and the machine registry's name=NN lines.
const CONTROL_RE = /[\u0000-\u001f\u007f]/;

/** Refuses a control character (U+0000-U+001F, U+007F), naming the first and where it is. */
export function refuseControl(v: string, where: string): void {
  const m = CONTROL_RE.exec(v);
  if (m) fail(where, `${quote(v)} contains the control character U+${m[0].charCodeAt(0).toString(16).toUpperCase().padStart(4, "0")} at position ${m.index}`);
}

/** A string field: names, paths, references, options. None may hold a control character. */
function str(v: unknown, where: string, fallback = ""): string {
  if (v === undefined) return fallback;
  if (typeof v !== "string") fail(where, "must be a string");
  refuseControl(v, where);
  return v;
}

/** `control`: "none" refuses every control character (paths); "nul" only NUL (command arguments may hold tabs and newlines). */
function strList(v: unknown, where: string, max: number, what: string, control: "none" | "nul"): string[] {
  if (v === undefined) return [];
  if (!Array.isArray(v)) fail(where, "must be a list of strings");
  atMost(v.length, max, where, what);
  if (!v.every((x) => typeof x === "string")) fail(where, "must be a list of strings");
  for (const [i, x] of (v as string[]).entries()) {
    if (control === "none") refuseControl(x, `${where}[${i}]`);
    else if (x.includes("\0")) fail(`${where}[${i}]`, `${quote(x)} contains a NUL character at position ${x.indexOf("\0")}`);
  }
  return v as string[];
}

function checkName(v: string, where: string): void {
  if (!NAME_RE.test(v)) fail(where, `${quote(v)} is not a valid name ([a-z0-9][a-z0-9_.-]*, at most 63 characters)`);
}

/** `host:container[:opts]`, both absolute, no `..`; host paths are checked against the node's roots by the agent. */
export function parseVolume(spec: string, where: string): { host: string; container: string; options: string[] } {
  refuseControl(spec, where);
  const parts = spec.split(":");
  if (parts.length < 2 || parts.length > 3) fail(where, `${quote(spec)} must be host:container[:options]`);
  const [host, container, opts] = parts as [string, string, string | undefined];
  for (const [p, label] of [
    [host, "host"],
    [container, "container"],
  ] as const) {
    if (!isAbsolute(p)) fail(where, `${label} path ${quote(p)} must be absolute`);
    if (p !== "/" && (normalize(p) !== p || p.endsWith("/"))) fail(where, `${label} path ${quote(p)} must be normalised (no "..", ".", "//" or trailing "/")`);
  }
  const options = opts ? opts.split(",") : [];
  for (const o of options) if (!VOLUME_OPTS.has(o)) fail(where, `volume option ${quote(o)} is not one of ro, rw, z, Z`);
  return { host, container, options };
}

/** The keys each table may have (docs/service-definitions.md); any other is an error that names it. */
const KEYS = {
  service: new Set(["name", "node", "version", "active", "environment", "number", "storage", "components"]),
  storage: new Set(["nfs", "nfs_options", "nfsOptions"]),
  component: new Set(["name", "image", "version", "volumes", "cmd", "network", "user", "restart", "env", "routes"]),
  route: new Set(["name", "port", "mode", "hostname", "index"]),
};

/** `field(k)` names the key as errors do ("shop: components[0].imgae"). */
function knownKeys(t: Raw, allowed: Set<string>, field: (k: string) => string): void {
  for (const k of Object.keys(t)) {
    if (allowed.has(k)) continue;
    fail(field(/^[A-Za-z0-9_-]{1,64}$/.test(k) ? k : "?"), `unknown key ${quote(k)} (known: ${[...allowed].filter((a) => a !== "nfsOptions").join(", ")})`);
  }
}

function route(raw: unknown, where: string): RouteDefinition {
  if (typeof raw !== "object" || raw === null || Array.isArray(raw)) fail(where, "must be a table");
  const r = raw as Raw;
  knownKeys(r, KEYS.route, (k) => `${where}.${k}`);
  const name = str(r.name, `${where}.name`);
  if (name && !ROUTE_NAME_RE.test(name)) fail(`${where}.name`, `${quote(name)} must be [a-z][a-z0-9_]*, at most 32 characters (it becomes $PORT_<NAME>)`);
  const port = r.port;
  if (typeof port !== "number" || !Number.isInteger(port) || port < 1 || port > 65535) fail(`${where}.port`, "must be an integer between 1 and 65535");
  const mode = str(r.mode, `${where}.mode`, "l4");
  if (mode !== "l4" && mode !== "l7") fail(`${where}.mode`, 'must be "l4" or "l7"');
  const hostname = str(r.hostname, `${where}.hostname`);
  if (hostname && !HOSTNAME_RE.test(hostname)) fail(`${where}.hostname`, `${quote(hostname)} is not a valid host name`);
  const out: RouteDefinition = { name, port, mode, hostname };
  if (r.index !== undefined) {
    if (typeof r.index !== "number" || !Number.isInteger(r.index) || r.index < 0 || r.index >= PORTS_PER_PLACEMENT)
      fail(`${where}.index`, "must be an integer from 0 to 9");
    out.index = r.index;
  }
  return out;
}

function component(raw: unknown, where: string): ComponentDefinition {
  if (typeof raw !== "object" || raw === null || Array.isArray(raw)) fail(where, "must be a table");
  const c = raw as Raw;
  knownKeys(c, KEYS.component, (k) => `${where}.${k}`);
  const name = str(c.name, `${where}.name`);
  checkName(name, `${where}.name`);
  const env: Record<string, string> = {};
  if (c.env !== undefined) {
    if (typeof c.env !== "object" || c.env === null || Array.isArray(c.env)) fail(`${where}.env`, "must be a table of strings");
    const entries = Object.entries(c.env as Raw);
    atMost(entries.length, LIMITS.env, `${where}.env`, "variables");
    for (const [k, v] of entries) {
      refuseControl(k, `${where}.env`);
      if (!ENV_KEY_RE.test(k)) fail(`${where}.env`, `${quote(k)} is not a valid variable name (at most 128 characters)`);
      if (k === "PORT" || k.startsWith("PORT_") || k.startsWith("TIN_")) fail(`${where}.env`, `${k} is set by the agent and cannot be defined`);
      if (typeof v !== "string" || /[\r\n\0]/.test(v)) fail(`${where}.env.${k}`, "must be a single-line string");
      env[k] = v;
    }
  }
  if (Array.isArray(c.routes)) atMost(c.routes.length, LIMITS.routes, `${where}.routes`, "routes");
  const routes = Array.isArray(c.routes)
    ? c.routes.map((r, i) => route(r, `${where}.routes[${i}]`))
    : c.routes === undefined
      ? []
      : fail(`${where}.routes`, "must be a list of tables");
  if (routes.length > 1) {
    const seen = new Set<string>();
    for (const [i, r] of routes.entries()) {
      if (!r.name) fail(`${where}.routes[${i}].name`, "is required when a component has several routes");
      if (seen.has(r.name)) fail(`${where}.routes[${i}].name`, `duplicate route name ${quote(r.name)}`);
      seen.add(r.name);
    }
  }
  const image = str(c.image, `${where}.image`);
  if (image && !IMAGE_RE.test(image)) fail(`${where}.image`, `${quote(image)} is not a valid image reference`);
  const version = str(c.version, `${where}.version`);
  if (version && !TAG_RE.test(version)) fail(`${where}.version`, `${quote(version)} is not a valid tag`);
  const volumes = strList(c.volumes, `${where}.volumes`, LIMITS.volumes, "volumes", "none");
  volumes.forEach((v, i) => parseVolume(v, `${where}.volumes[${i}]`));
  const network = str(c.network, `${where}.network`);
  if (network && !NAME_RE.test(network)) fail(`${where}.network`, `${quote(network)} is not a valid network name`);
  const user = str(c.user, `${where}.user`);
  if (user && !USER_RE.test(user)) fail(`${where}.user`, `${quote(user)} must be uid[:gid] or a user name`);
  const restart = str(c.restart, `${where}.restart`, "unless-stopped");
  if (!RESTART_RE.test(restart)) fail(`${where}.restart`, `${quote(restart)} must be no, always, unless-stopped or on-failure[:N]`);
  return { name, image, version, volumes, cmd: strList(c.cmd, `${where}.cmd`, LIMITS.cmd, "arguments", "nul"), network, user, restart, env, routes };
}

/** Validates a definition given as a plain object (parsed TOML, or an RPC message converted to one). */
export function validateDefinition(raw: unknown): ServiceDefinition {
  if (typeof raw !== "object" || raw === null || Array.isArray(raw)) throw new DefinitionError("a service definition must be a table");
  const d = raw as Raw;
  const name = str(d.name, "name");
  if (!name) fail("name", "is required");
  checkName(name, "name");
  knownKeys(d, KEYS.service, (k) => `${name}: ${k}`);
  const node = str(d.node, `${name}: node`);
  if (!node) fail(`${name}: node`, "is required");
  if (node.length > LIMITS.node) fail(`${name}: node`, `${quote(node)} is longer than ${LIMITS.node} characters`);
  const version = str(d.version, `${name}: version`);
  if (!version) fail(`${name}: version`, "is required (pin an explicit tag such as v1.0.0)");
  if (!TAG_RE.test(version)) fail(`${name}: version`, `${quote(version)} is not a valid tag`);
  if (version === "latest") fail(`${name}: version`, '"latest" is not allowed: pin an explicit tag so deploys are reproducible');
  if (d.active !== undefined && typeof d.active !== "boolean") fail(`${name}: active`, "must be true or false");
  if (!Array.isArray(d.components) || d.components.length === 0) fail(`${name}: components`, "at least one [[components]] is required");
  atMost(d.components.length, LIMITS.components, `${name}: components`, "components");
  const components = d.components.map((c, i) => component(c, `${name}: components[${i}]`));
  const names = new Set<string>();
  const external = new Map<string, string>();
  for (const c of components) {
    if (names.has(c.name)) fail(`${name}: components`, `duplicate component ${quote(c.name)}`);
    names.add(c.name);
    for (const r of c.routes) {
      const key = `${r.hostname || name}:${r.port}`;
      const owner = external.get(key);
      if (owner) fail(`${name}: components.${c.name}.routes`, `duplicate route ${key}, already used by ${owner}`);
      external.set(key, `${c.name}${r.name ? `/${r.name}` : ""}`);
    }
  }
  const environment = str(d.environment, `${name}: environment`, "prod");
  if (!isEnvironment(environment)) fail(`${name}: environment`, `${quote(environment)} is not one of ${Object.keys(ENVIRONMENTS).join(", ")}`);
  let number: number | undefined;
  if (d.number !== undefined) {
    if (typeof d.number !== "number" || !Number.isInteger(d.number) || d.number < 1 || d.number > 99)
      fail(`${name}: number`, "must be an integer from 1 to 99 (00 is the station)");
    number = d.number;
  }
  portIndices(components, name); // refuses more than ten routes or clashing indices
  const storageRaw = (d.storage ?? {}) as Raw;
  if (typeof storageRaw !== "object" || Array.isArray(storageRaw)) fail(`${name}: storage`, "must be a table");
  knownKeys(storageRaw, KEYS.storage, (k) => `${name}: storage.${k}`);
  const nfs = str(storageRaw.nfs, `${name}: storage.nfs`);
  if (nfs && !/^[a-zA-Z0-9.-]+:\/[^\s,]*$/.test(nfs)) fail(`${name}: storage.nfs`, `${quote(nfs)} must be server:/path`);
  const nfsOptions = str(storageRaw.nfs_options ?? storageRaw.nfsOptions, `${name}: storage.nfs_options`);
  if (nfsOptions && !/^[a-zA-Z0-9_=.,:-]+$/.test(nfsOptions)) fail(`${name}: storage.nfs_options`, `${quote(nfsOptions)} is not a mount option list`);
  const def: ServiceDefinition = {
    name,
    node,
    version,
    active: d.active === undefined ? true : (d.active as boolean),
    environment,
    storage: { nfs, nfsOptions },
    components,
  };
  if (number !== undefined) def.number = number;
  return def;
}

/**
 * SMEP port index of every route, in declaration order across components: explicit `index`
 * values first, the others take the lowest free index. Keyed `<component>/<route key>`.
 */
export function portIndices(components: ComponentDefinition[], service = "service"): Map<string, number> {
  const out = new Map<string, number>();
  const used = new Map<number, string>();
  for (const c of components) {
    for (const r of c.routes) {
      if (r.index === undefined) continue;
      const key = `${c.name}/${r.name || "default"}`;
      if (used.has(r.index)) fail(`${service}: components.${c.name}.routes`, `port index ${r.index} is already used by ${used.get(r.index)}`);
      used.set(r.index, key);
      out.set(key, r.index);
    }
  }
  let next = 0;
  for (const c of components) {
    for (const r of c.routes) {
      const key = `${c.name}/${r.name || "default"}`;
      if (out.has(key)) continue;
      while (used.has(next)) next++;
      if (next >= PORTS_PER_PLACEMENT)
        fail(`${service}: components`, `a service-environment has ${PORTS_PER_PLACEMENT} ports (SMEP P=0-9); these routes need more`);
      used.set(next, key);
      out.set(key, next);
    }
  }
  return out;
}
