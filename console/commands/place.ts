// `mcp place <service> [--env E] [--json]`: where a service-environment would
// land by SMEP — numbers, user, ports by route, storage, XDG links — without
// deploying anything. A refused placement exits non-zero with the reason.
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { portIndices } from "../../lib/services/definition.ts";
import { machineNumberFor, parseMachineRegistry, place } from "../../lib/smep/smep.ts";
import type { ConsoleConfig } from "../config.ts";
import { parseDefinitionFile } from "../definitions.ts";
import { ConsoleError } from "../output/errors.ts";
import type { CommandSpec } from "./command.ts";

export interface PlaceReport {
  service: string;
  sheet: string;
  sheetNumber: number;
  machineNumber: number;
  /** True when the service is not in the registry yet: the number it would get. */
  newMachineNumber: boolean;
  environment: string;
  environmentNumber: number;
  uid: number;
  user: string;
  ports: { index: number; port: number; route: string }[];
  storageRoot: string;
  nfs: string;
  xdgLinks: { link: string; target: string }[];
}

export function placeService(cfg: ConsoleConfig, service: string, envOverride?: string): PlaceReport {
  const file = join(cfg.services.dir, `${service}.toml`);
  if (!existsSync(file)) throw new ConsoleError("not_found", `no service definition ${file}`);
  const def = parseDefinitionFile(file).def;
  const environment = envOverride ?? def.environment;
  const registry = existsSync(cfg.placement.machine_registry)
    ? parseMachineRegistry(readFileSync(cfg.placement.machine_registry, "utf8"), cfg.placement.machine_registry)
    : new Map<string, number>();
  const { number, assigned } = machineNumberFor(def.name, registry, def.number);
  const p = place({ service: def.name, environment, sheet: cfg.placement.sheet, sheetNumber: cfg.placement.sheet_number || undefined, machineNumber: number });
  const indices = portIndices(def.components, def.name);
  const byIndex = new Map<number, string>();
  for (const [key, i] of indices) byIndex.set(i, key);
  const storageRoot = def.storage.nfs ? join(cfg.storage.mount_root, p.user) : join(cfg.storage.root, p.user);
  const home = join(cfg.users.home_root, p.user);
  return {
    service: def.name,
    sheet: p.sheet,
    sheetNumber: p.sheetNumber,
    machineNumber: p.machineNumber,
    newMachineNumber: assigned,
    environment: p.environment,
    environmentNumber: p.environmentNumber,
    uid: p.uid,
    user: p.user,
    ports: p.ports.map((port, index) => ({ index, port, route: byIndex.get(index) ?? "" })),
    storageRoot,
    nfs: def.storage.nfs,
    xdgLinks: [
      ["state", ".local/state"],
      ["data", ".local/share"],
      ["config", ".config"],
    ].map(([dir, base]) => ({ link: join(home, base!, p.sheet, `@${def.name}`), target: join(storageRoot, dir!) })),
  };
}

export function formatPlacement(r: PlaceReport): string {
  const lines = [
    `${r.user}  (sheet ${r.sheet} S=${r.sheetNumber}, machine M=${String(r.machineNumber).padStart(2, "0")}${r.newMachineNumber ? " — new, assigned on first deploy" : ""}, environment ${r.environment} E=${r.environmentNumber})`,
    `  UID/GID   ${r.uid}`,
    `  storage   ${r.storageRoot}${r.nfs ? `  (NFS ${r.nfs})` : ""}`,
    "  ports",
    ...r.ports.map((p) => `    P=${p.index}  ${p.port}${p.route ? `  ${p.route}` : ""}`),
    "  XDG links",
    ...r.xdgLinks.map((x) => `    ${x.link} -> ${x.target}`),
  ];
  return lines.join("\n") + "\n";
}

const command: CommandSpec = {
  name: "place",
  args: "<service>",
  summary: "show where a service-environment lands by SMEP (UID, ports, storage, XDG links) without deploying",
  options: [{ flags: "--env <environment>", description: "environment (default: the definition's, else prod)" }],
  async run(ctx, [service], opts) {
    let report: PlaceReport;
    try {
      report = placeService(ctx.config(), service!, opts.env as string | undefined);
    } catch (err) {
      if (err instanceof ConsoleError) throw err;
      // A refused placement (past port 65535, an unknown environment) is the answer, not a crash.
      throw new ConsoleError(/unknown environment/.test((err as Error).message) ? "usage" : "failed", (err as Error).message);
    }
    if (ctx.mode === "json") ctx.out.document(report);
    else ctx.out.text(formatPlacement(report));
    return 0;
  },
};

export default command;
