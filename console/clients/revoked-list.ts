// The revoked node certificates the registry last listed, kept per registry URL in
// `$XDG_STATE_HOME/mcp/revoked.json`. The console refuses a node whose certificate serial is
// revoked before it sends that node the agent token (clients/agents.ts). When the registry
// cannot be read (down, unreachable, slow), the config's [[nodes]] are still asked; without
// this file a removed node written there would be sent the token, so that whoever keeps a
// removed node's key and can keep the console from its registry would get it. A fresh listing
// always replaces what is kept: the registry's answer is the authority.
import { existsSync, mkdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { writeFileAtomic } from "../../lib/fs/atomic.ts";
import { normalSerial } from "../../lib/tls/serial.ts";
import { ConsoleError } from "../output/errors.ts";

export interface KeptRevoked {
  /** Serials as the registry lists them (upper-case hex). */
  serials: string[];
  /** When the registry listed them (ISO 8601). */
  listedAt: string;
}

interface RevokedFile {
  registries: Record<string, { serials: string[]; listed_at: string }>;
}

export class RevokedList {
  readonly file: string;
  private last: string | undefined;

  constructor(
    readonly dir: string,
    /** The registry's URL, as the console config names it. */
    private readonly registry: string,
    private readonly now: () => number = Date.now,
  ) {
    this.file = join(dir, "revoked.json");
  }

  /** What this registry last listed, if it ever was. */
  read(): KeptRevoked | undefined {
    const kept = this.readFile().registries[this.registry];
    if (!kept) return undefined;
    this.last = key(kept.serials);
    return { serials: kept.serials, listedAt: kept.listed_at };
  }

  /** Keeps the registry's fresh list; nothing is written when it is the one kept. */
  save(serials: readonly string[]): void {
    const normal = [...new Set(serials.map(normalSerial))].sort();
    if (this.last === undefined) this.read();
    if (this.last === key(normal)) return;
    const doc = this.readFile();
    doc.registries[this.registry] = { serials: normal, listed_at: new Date(this.now()).toISOString() };
    mkdirSync(this.dir, { recursive: true, mode: 0o700 });
    writeFileAtomic(this.file, `${JSON.stringify(doc, null, 2)}\n`, 0o600);
    this.last = key(normal);
  }

  private readFile(): RevokedFile {
    if (!existsSync(this.file)) return { registries: {} };
    let doc: unknown;
    try {
      doc = JSON.parse(readFileSync(this.file, "utf8"));
    } catch (err) {
      throw this.invalid(`is not valid JSON (${(err as Error).message})`);
    }
    const registries = (doc as RevokedFile | null)?.registries;
    if (typeof registries !== "object" || registries === null || Array.isArray(registries)) throw this.invalid('has no "registries" object');
    for (const [url, r] of Object.entries(registries))
      if (!Array.isArray(r?.serials) || !r.serials.every((s) => typeof s === "string") || typeof r.listed_at !== "string")
        throw this.invalid(`has an entry for ${url} without a "serials" list of strings and a "listed_at" time`);
    return { registries };
  }

  private invalid(what: string): ConsoleError {
    return new ConsoleError("invalid", `${this.file} ${what}: delete it (the next command that reads the registry's node list writes it again)`);
  }
}

const key = (serials: readonly string[]) => [...serials].sort().join(",");
