// SMEP numbering (docs/smep.md): a service-environment's UID and its ten
// ports are S·10000 + M·100 + E·10 + P, where S is the sheet number, M the
// machine (service) number, E the environment and P the port index.
import { createHash } from "node:crypto";
import { quote } from "../text/quote.ts";

export const ENVIRONMENTS = { prod: 0, test: 1, dev: 2, staging: 3, demo: 4, qa: 5, uat: 6, preview: 7, canary: 8, local: 9 } as const;
export type Environment = keyof typeof ENVIRONMENTS;
export const PORTS_PER_PLACEMENT = 10;
const MAX_PORT = 65535;

export class PlacementError extends Error {
  override name = "PlacementError";
}

export function isEnvironment(e: string): e is Environment {
  return Object.hasOwn(ENVIRONMENTS, e);
}

/**
 * the reference get_sheet_number exactly: `echo "$sheet" | md5sum | cut -c1-1`, that hex digit
 * mod 9, plus 1. `echo` appends a newline, so the hash is of the name and "\n".
 */
export function sheetNumber(sheet: string): number {
  const first = createHash("md5").update(`${sheet}\n`).digest("hex")[0]!;
  return (parseInt(first, 16) % 9) + 1;
}

const MACHINE_NAME_RE = /^[a-z0-9][a-z0-9_.-]{0,62}$/;

/** The machine registry: `name=NN` lines; `#` comments and blank lines allowed. */
export function parseMachineRegistry(text: string, source = "machine registry"): Map<string, number> {
  const out = new Map<string, number>();
  const used = new Map<number, string>();
  for (const [i, raw] of text.split("\n").entries()) {
    const line = raw.replace(/#.*/, "").trim();
    if (!line) continue;
    const m = /^([a-z0-9][a-z0-9_.-]{0,62})\s*=\s*(\d{1,2})$/.exec(line);
    if (!m) throw new PlacementError(`${source} line ${i + 1}: expected name=NN, got ${quote(raw.trim())}`);
    const name = m[1]!;
    const n = Number(m[2]);
    if (out.has(name)) throw new PlacementError(`${source} line ${i + 1}: ${name} is listed twice`);
    if (used.has(n)) throw new PlacementError(`${source} line ${i + 1}: number ${String(n).padStart(2, "0")} is already ${used.get(n)}'s`);
    if (n === 0 && name !== "station") throw new PlacementError(`${source} line ${i + 1}: 00 is the station's number`);
    out.set(name, n);
    used.set(n, name);
  }
  return out;
}

/** The registry as its file has it; a name that would not read back as one `name=NN` line (a newline, `=` or `#` in it) is refused. */
export function formatMachineRegistry(registry: Map<string, number>): string {
  for (const name of registry.keys()) {
    if (!MACHINE_NAME_RE.test(name))
      throw new PlacementError(`machine registry: ${quote(name)} is not a valid service name ([a-z0-9][a-z0-9_.-]*, at most 63 characters)`);
  }
  return [...registry]
    .sort((a, b) => a[1] - b[1])
    .map(([name, n]) => `${name}=${String(n).padStart(2, "0")}\n`)
    .join("");
}

/** The service's machine number: pinned, registered, or the lowest free one (01-99), which is then registered. */
export function machineNumberFor(service: string, registry: Map<string, number>, pinned?: number): { number: number; assigned: boolean } {
  if (pinned !== undefined) {
    if (!Number.isInteger(pinned) || pinned < 1 || pinned > 99) throw new PlacementError(`number ${pinned} for ${service} must be 01-99 (00 is the station)`);
    const owner = [...registry].find(([name, n]) => n === pinned && name !== service);
    if (owner)
      throw new PlacementError(`number ${String(pinned).padStart(2, "0")} pinned by ${service} already belongs to ${owner[0]} in the machine registry`);
    return { number: pinned, assigned: registry.get(service) !== pinned };
  }
  const known = registry.get(service);
  if (known !== undefined) return { number: known, assigned: false };
  const taken = new Set(registry.values());
  for (let n = 1; n <= 99; n++) if (!taken.has(n)) return { number: n, assigned: true };
  throw new PlacementError("the machine registry is full: every number 01-99 is taken");
}

export interface Placement {
  sheet: string;
  sheetNumber: number;
  machineNumber: number;
  environment: Environment;
  environmentNumber: number;
  /** UID and GID of the service-environment's user (P=0). */
  uid: number;
  /** `<service>-<environment>`. */
  user: string;
  /** uid + 0 .. uid + 9. */
  ports: number[];
}

export interface PlaceInput {
  service: string;
  environment: string;
  sheet: string;
  /** Overrides the hash of the sheet name (config `sheet_number`). */
  sheetNumber?: number;
  machineNumber: number;
}

export function place(i: PlaceInput): Placement {
  if (!isEnvironment(i.environment)) {
    throw new PlacementError(`unknown environment ${JSON.stringify(i.environment)}: use one of ${Object.keys(ENVIRONMENTS).join(", ")}`);
  }
  const S = i.sheetNumber ?? sheetNumber(i.sheet);
  if (!Number.isInteger(S) || S < 1 || S > 9) throw new PlacementError(`sheet number ${S} must be 1-9`);
  const M = i.machineNumber;
  const E = ENVIRONMENTS[i.environment];
  const uid = S * 10000 + M * 100 + E * 10;
  const last = uid + PORTS_PER_PLACEMENT - 1;
  if (last > MAX_PORT) {
    const hashed = i.sheetNumber === undefined ? ` (the hash of sheet "${i.sheet}" gives ${S})` : "";
    // Highest machine number whose every environment still fits (E=9, P=9).
    const room = Math.floor((MAX_PORT - S * 10000 - 99) / 100);
    throw new PlacementError(
      `${i.service}-${i.environment} would get UID ${uid} and ports ${uid}-${last}, past the last TCP port 65535: sheet number ${S}${hashed} ` +
        `${room < 1 ? "leaves no room for any machine" : `leaves room only for machine numbers up to ${String(room).padStart(2, "0")}`}. ` +
        "Set sheet_number (1-6) in the agent and console config to place this sheet lower",
    );
  }
  return {
    sheet: i.sheet,
    sheetNumber: S,
    machineNumber: M,
    environment: i.environment,
    environmentNumber: E,
    uid,
    user: `${i.service}-${i.environment}`,
    ports: Array.from({ length: PORTS_PER_PLACEMENT }, (_, p) => uid + p),
  };
}

/** The kernel's ephemeral port range, which SMEP ports may fall into. */
export function ephemeralOverlap(ports: number[], range: [number, number]): number[] {
  return ports.filter((p) => p >= range[0] && p <= range[1]);
}
