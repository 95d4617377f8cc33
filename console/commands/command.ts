// What a command file describes, once: its name, arguments, options (used to parse argv
// and to write --help), and `run`, which wires the arguments to the store's actions and
// hands the state to the output of the chosen mode.
import { readFileSync } from "node:fs";
import { RemoteIdentity } from "../../lib/auth/remote.ts";
import { parseMachineRegistry } from "../../lib/smep/smep.ts";
import { AgentPool } from "../clients/agents.ts";
import { CommandLog } from "../clients/command-log.ts";
import { AGENT_SERVICE, Credentials, REGISTRY_SERVICE } from "../clients/credentials.ts";
import { PodmanBuilder } from "../clients/podman.ts";
import { mcrAdmin, type McrAdmin } from "../clients/mcr-admin.ts";
import { RevokedList } from "../clients/revoked-list.ts";
import { RegistryClient, type RegistryApi } from "../clients/registry.ts";
import { identityCa, identityUrl, loadConsoleConfig, registryCa, registryHost, stateHome, type ConsoleConfig } from "../config.ts";
import { Definitions } from "../definitions.ts";
import { ConsoleError } from "../output/errors.ts";
import type { Output } from "../output/output.ts";
import type { ConsoleStore, StoreDeps } from "../store/state.ts";
import { createConsoleStore } from "../store/store.ts";

export interface OptionSpec {
  /** Commander syntax: "-f, --follow", "--tail <n>". */
  flags: string;
  description: string;
  default?: string | boolean | number;
  /** Parses and checks the value; throws ConsoleError("usage") when it is wrong. */
  parse?: (value: string) => unknown;
}

export interface CommandSpec {
  name: string;
  /** Positional arguments in commander syntax: "<service>", "[service]". */
  args: string;
  summary: string;
  options: OptionSpec[];
  /** Resolves to the exit code. */
  run(ctx: Context, args: string[], opts: Record<string, unknown>): Promise<number>;
}

export interface ContextOptions {
  configPath?: string;
  out: Output;
  env: NodeJS.ProcessEnv;
  signal: AbortSignal;
  /** What the console reads (`mcp exec`); default process.stdin. */
  stdin?: NodeJS.ReadStream;
  /** For tests: replaces parts of what the store is built from. */
  deps?: Partial<StoreDeps>;
}

/** What a command runs with; the config, credentials and store are made on first use. */
export class Context {
  readonly out: Output;
  readonly env: NodeJS.ProcessEnv;
  readonly signal: AbortSignal;
  readonly stdin: NodeJS.ReadStream;
  private cfg?: ConsoleConfig;
  private st?: ConsoleStore;
  private pool?: AgentPool;
  private reg?: RegistryApi;
  private admin?: McrAdmin;

  constructor(private readonly o: ContextOptions) {
    this.out = o.out;
    this.env = o.env;
    this.signal = o.signal;
    this.stdin = o.stdin ?? process.stdin;
  }

  get mode() {
    return this.out.mode;
  }

  config(): ConsoleConfig {
    return (this.cfg ??= loadConsoleConfig(this.o.configPath, this.env));
  }

  credentials(): Credentials {
    return new Credentials(stateHome(this.env));
  }

  /** The identity URL sessions are kept under. */
  identity(): string {
    const url = identityUrl(this.config());
    if (!url) throw new ConsoleError("usage", `no [registry] url (or [identity] url) in ${this.config().file}: the console logs in there`);
    return url;
  }

  readPem(path: string, what: string): string {
    if (!path) return "";
    try {
      return readFileSync(path, "utf8");
    } catch (err) {
      throw new ConsoleError("invalid", `${what} ${path}: ${(err as Error).message}`);
    }
  }

  store(): ConsoleStore {
    if (this.st) return this.st;
    const cfg = this.config();
    const token = (service: typeof AGENT_SERVICE | typeof REGISTRY_SERVICE) => () => this.credentials().token(this.identity(), service);
    // The revoked node certificates the registry last listed hold until it answers again.
    const revokedList = cfg.registry.url ? new RevokedList(stateHome(this.env), cfg.registry.url) : undefined;
    this.pool = new AgentPool({
      nodes: cfg.nodes,
      token: token(AGENT_SERVICE),
      timeoutMs: cfg.node_timeout,
      caPem: this.readPem(cfg.ca_cert, "ca_cert"),
      revoked: revokedList?.read()?.serials ?? [],
    });
    const regCa = () => this.readPem(registryCa(cfg), "[registry] ca_cert");
    const deps: StoreDeps = {
      agents: this.pool,
      definitions: new Definitions(cfg.services.dir),
      registryHost: registryHost(cfg),
      registry: () => (this.reg ??= new RegistryClient(cfg.registry.url, regCa(), token(REGISTRY_SERVICE))),
      builder: () => {
        const session = this.credentials().session(this.identity());
        return new PodmanBuilder({
          podman: cfg.build.podman,
          registryHost: registryHost(cfg),
          caPem: regCa(),
          username: session?.username ?? "",
          token: token(REGISTRY_SERVICE),
        });
      },
      ...(cfg.registry.url ? { mcrAdmin: () => (this.admin ??= mcrAdmin({ url: cfg.registry.url, caPem: regCa(), token: token(REGISTRY_SERVICE) })) } : {}),
      whoami: async () => {
        const identity = new RemoteIdentity({
          serverUrl: this.identity(),
          caCert: this.readPem(identityCa(cfg), "identity CA") || undefined,
          timeoutMs: cfg.node_timeout * 3,
        });
        const claims = await identity.validate(token(REGISTRY_SERVICE)());
        return claims ? { subject: claims.subject, username: claims.username } : null;
      },
      workspace: cfg.build.workspace,
      commandLog: new CommandLog(stateHome(this.env)),
      ...(revokedList ? { revokedList } : {}),
      machineRegistry: () => {
        const file = cfg.placement.machine_registry;
        let text: string;
        try {
          text = readFileSync(file, "utf8");
        } catch {
          return {};
        }
        return Object.fromEntries(parseMachineRegistry(text, file));
      },
      ...this.o.deps,
    };
    return (this.st = createConsoleStore(deps));
  }

  /** Closes connections so the process can exit. */
  close(): void {
    this.pool?.close();
    this.reg?.close();
    this.admin?.close();
  }
}

/** A positive integer option value. */
export function intOption(name: string) {
  return (v: string) => {
    if (!/^\d+$/.test(v)) throw new ConsoleError("usage", `${name} must be a whole number, not ${JSON.stringify(v)}`);
    return Number(v);
  };
}
