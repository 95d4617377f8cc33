// Keeps HAProxy in step with the route table in the agent's database. Every change goes
// the same way, one at a time: table → rendered file → `haproxy -c` → file swapped in whole
// → reload through the master CLI → the new worker's digest read back. HAProxy therefore has
// the old table or the new one, never part of one; a table HAProxy refuses is put back.
import { constants, accessSync, readFileSync, renameSync, rmSync, writeFileSync } from "node:fs";
import type { Logger } from "../../lib/log/logger.ts";
import type { ServiceDefinition } from "../../lib/services/definition.ts";
import { KeyedLock } from "../../lib/sync/keyed-lock.ts";
import type { PlannedComponent } from "../controller/plan.ts";
import { portIsFree } from "../ports/allocator.ts";
import { portHolder } from "../placement/ports.ts";
import type { RoutingStore } from "../state/routing-store.ts";
import { renderHaproxyConfig, digestOf, type HaproxyOptions as RenderOptions } from "./haproxy-config.ts";
import { HaproxyError, type Haproxy } from "./haproxy.ts";
import { RouteError, checkConflicts, routesFor, withComponents, type RouteEntry, type TableContext } from "./table.ts";

export interface RouteManagerOptions {
  configFile: string;
  render: RenderOptions;
  table: TableContext;
}

export interface ProxyState {
  /** in_sync, drift (file or loaded table differs from the database) or unreachable. */
  state: "in_sync" | "drift" | "unreachable";
  message: string;
}

const readText = (file: string): string | undefined => {
  try {
    return readFileSync(file, "utf8");
  } catch {
    return undefined;
  }
};

/** A readable PEM holding a certificate and its key, or a RouteError naming the file. */
export function checkCertificate(file: string, e: Pick<RouteEntry, "service" | "hostname" | "port">): void {
  const where = `certificate ${file} for ${e.service}'s l7 route ${e.hostname}:${e.port}`;
  let text: string;
  try {
    accessSync(file, constants.R_OK);
    text = readFileSync(file, "utf8");
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    throw new RouteError(`${where} ${code === "ENOENT" ? "is missing" : `cannot be read (${code ?? (err as Error).message})`}`);
  }
  if (!text.includes("-----BEGIN CERTIFICATE-----") || !/-----BEGIN (EC |RSA )?PRIVATE KEY-----/.test(text)) {
    throw new RouteError(`${where} must hold the certificate chain and its private key in one PEM file`);
  }
}

export class RouteManager {
  private readonly lock = new KeyedLock();
  private checks = 0;

  constructor(
    readonly haproxy: Haproxy,
    private readonly store: RoutingStore,
    readonly o: RouteManagerOptions,
    private readonly log: Logger,
  ) {}

  rowsFor(def: ServiceDefinition, p: PlannedComponent): RouteEntry[] {
    return routesFor(def, p, this.o.table);
  }

  /**
   * Everything that can be known before a deploy touches a container: the service's routes
   * do not clash with another's, every l7 certificate is readable, new external ports are
   * free, and HAProxy accepts the resulting table (`haproxy -c`). Throws RouteError.
   */
  async check(def: ServiceDefinition, planned: PlannedComponent[]): Promise<void> {
    const rows = planned.flatMap((p) => this.rowsFor(def, p));
    const current = await this.store.routes();
    const candidate = withComponents(
      current,
      def.name,
      planned.map((p) => p.component),
      rows,
    );
    checkConflicts(candidate);
    for (const r of rows) if (r.mode === "l7") checkCertificate(r.cert, r);
    const inUse = new Set(current.map((r) => r.port));
    for (const port of new Set(rows.map((r) => r.port))) {
      if (inUse.has(port) || (await portIsFree(port, this.o.render.bindAddress))) continue;
      const holder = await portHolder(port);
      throw new RouteError(`external port ${port} of ${def.name} is already in use${holder ? ` by ${holder}` : ""}: HAProxy could not bind it`);
    }
    await this.validate(renderHaproxyConfig(candidate, this.o.render).text);
  }

  /** `haproxy -c` of a candidate file beside the real one (one per check: deploys of several services run at once). */
  private async validate(text: string): Promise<void> {
    const candidate = `${this.o.configFile}.check-${process.pid}-${++this.checks}`;
    writeFileSync(candidate, text, { mode: 0o644 });
    try {
      await this.haproxy.check(candidate);
    } catch (err) {
      throw new RouteError((err as Error).message);
    } finally {
      rmSync(candidate, { force: true });
    }
  }

  /** Sets the rows of some components of a service and applies the table; a table HAProxy refuses is put back. */
  async setRoutes(service: string, components: string[], rows: RouteEntry[]): Promise<void> {
    await this.lock.run("table", async () => {
      const before = await this.store.routes(service);
      checkConflicts(withComponents(await this.store.routes(), service, components, rows));
      await this.store.replaceRoutes(service, components, rows);
      try {
        await this.applyLocked();
      } catch (err) {
        // Unreachable: the table stays, and the file with it, for HAProxy's next start and the next pass.
        if (err instanceof RouteError) {
          await this.store.replaceRoutes(service, before.map((r) => r.component).concat(components), before);
          await this.applyLocked().catch(() => undefined);
        }
        throw err;
      }
    });
  }

  /** Renders the table; writes the file when it differs; reloads when HAProxy runs another table. Returns what it did. */
  apply(): Promise<string | undefined> {
    return this.lock.run("table", () => this.applyLocked());
  }

  private async applyLocked(): Promise<string | undefined> {
    const { text, digest } = renderHaproxyConfig(await this.store.routes(), this.o.render);
    const did: string[] = [];
    const onDisk = readText(this.o.configFile);
    if (onDisk !== text) {
      await this.validate(text);
      const next = `${this.o.configFile}.next`;
      writeFileSync(next, text, { mode: 0o644 });
      renameSync(next, this.o.configFile); // whole, never half a file
      // An empty file (as the install steps create it) is not a hand edit: it is written, not rewritten.
      const fresh = onDisk === undefined || onDisk.trim() === "";
      did.push(fresh ? `wrote ${this.o.configFile}` : `rewrote ${this.o.configFile}${digestOf(onDisk) ? "" : " (it had been changed by hand)"}`);
    }
    let loaded: string | undefined;
    try {
      loaded = await this.haproxy.loadedDigest();
      if (loaded !== digest) {
        await this.haproxy.reload(digest);
        did.push(`reloaded HAProxy (it ran ${loaded ? `table ${loaded}` : "no table of ours"}, now ${digest})`);
      }
    } catch (err) {
      if (err instanceof HaproxyError && /could not load/.test(err.message)) throw new RouteError(err.message);
      throw err;
    }
    if (did.length) this.log.info({ digest, file: this.o.configFile }, did.join("; "));
    return did.length ? did.join("; ") : undefined;
  }

  /** Whether the file and the running HAProxy have the database's table. */
  async state(): Promise<ProxyState> {
    const { text, digest } = renderHaproxyConfig(await this.store.routes(), this.o.render);
    if (readText(this.o.configFile) !== text) return { state: "drift", message: `${this.o.configFile} does not hold the route table` };
    try {
      const loaded = await this.haproxy.loadedDigest();
      if (loaded !== digest) return { state: "drift", message: `HAProxy runs ${loaded ? `table ${loaded}` : "no table of ours"}, not ${digest}` };
      return { state: "in_sync", message: `HAProxy runs table ${digest}` };
    } catch (err) {
      return { state: "unreachable", message: (err as Error).message };
    }
  }
}
