// SMEP placement of a service-environment on this node: its numbers, its user,
// its storage root (local or NFS), its XDG links, its ports.
import { lstatSync, readFileSync, unlinkSync } from "node:fs";
import { join } from "node:path";
import type { Logger } from "../../lib/log/logger.ts";
import { portIndices, type ServiceDefinition } from "../../lib/services/definition.ts";
import { ephemeralOverlap, machineNumberFor, place, type Placement } from "../../lib/smep/smep.ts";
import { routeKey } from "../controller/plan.ts";
import type { PortAssignment, StateStore } from "../state/store.ts";
import { ensureStorage, ensureXdgLinks, releaseStorage, removeXdgLinks, storageRootFor, type StorageConfig, type StorageRoot } from "./storage.ts";
import { ephemeralRange, reservePorts } from "./ports.ts";
import { withServiceDir, writeFileIn } from "./safe-fs.ts";
import { ensureServiceUser, type ServiceUser } from "./users.ts";
import type { PullOptions } from "../runtime/runtime.ts";

export interface PlacerConfig {
  sheet: string;
  /** 0: the hash of the sheet name. */
  sheetNumber: number;
  isolation: "rootless" | "rootful";
  homeRoot: string;
  reserveEphemeralPorts: boolean;
  storage: StorageConfig;
  /** Node-level exports by `<service>-<env>`. */
  nfsExports: Record<string, string>;
  /** containers.conf copied into each service user's home (rootless). */
  containersConf: string;
  /** Registry host: the agent's certs.d folder for it is copied for rootless users (never its credentials). */
  registryHost: string;
}

export interface ServicePlacement {
  placement: Placement;
  isolation: "rootless" | "rootful";
  storage: StorageRoot;
  ports: PortAssignment[];
  /** SMEP ports inside the kernel's ephemeral range. */
  ephemeral: number[];
  /** The machine number was assigned now: recordNumber stores it in the machine registry. */
  numberAssigned: boolean;
}

export class Placer {
  constructor(
    readonly cfg: PlacerConfig,
    private readonly store: StateStore,
    private readonly log: Logger,
  ) {}

  /**
   * Computes the placement, recording nothing (recordNumber does). `registry` checks against a
   * machine registry not stored yet (Sync). Throws PlacementError.
   */
  async placementFor(def: ServiceDefinition, registry?: Map<string, number>): Promise<ServicePlacement> {
    registry ??= await this.store.machineRegistry();
    const { number, assigned } = machineNumberFor(def.name, registry, def.number);
    const placement = place({
      service: def.name,
      environment: def.environment,
      sheet: this.cfg.sheet,
      sheetNumber: this.cfg.sheetNumber || undefined,
      machineNumber: number,
    });
    const indices = portIndices(def.components, def.name);
    const ports: PortAssignment[] = [];
    for (const c of def.components) {
      for (const r of c.routes)
        ports.push({
          hostPort: placement.ports[indices.get(`${c.name}/${routeKey(r.name)}`)!]!,
          service: def.name,
          component: c.name,
          route: routeKey(r.name),
        });
    }
    const range = ephemeralRange();
    const nfs = def.storage.nfs || this.cfg.nfsExports[placement.user] || "";
    return {
      placement,
      isolation: this.cfg.isolation,
      storage: storageRootFor(placement, nfs, this.cfg.storage),
      ports,
      ephemeral: range ? ephemeralOverlap(placement.ports, range) : [],
      numberAssigned: assigned,
    };
  }

  /** Records a machine number placementFor assigned in the machine registry. */
  async recordNumber(def: ServiceDefinition, sp: ServicePlacement): Promise<void> {
    if (!sp.numberAssigned) return;
    await this.store.registerMachine(def.name, sp.placement.machineNumber);
    this.log.info({ service: def.name, number: sp.placement.machineNumber }, "machine number assigned");
  }

  /** Creates what the service-environment needs before its first start; idempotent. */
  async prepare(def: ServiceDefinition, sp: ServicePlacement, agentPull: PullOptions): Promise<ServiceUser> {
    const user = await ensureServiceUser(sp.placement, this.cfg.homeRoot);
    await ensureStorage(sp.placement, sp.storage, def.storage.nfsOptions, this.cfg.storage);
    ensureXdgLinks(sp.placement, def.name, user.home, sp.storage.path);
    if (sp.isolation === "rootless") this.configurePodman(user, agentPull);
    if (sp.ephemeral.length) {
      if (this.cfg.reserveEphemeralPorts) {
        reservePorts(sp.ephemeral);
        this.log.info({ service: def.name, ports: sp.ephemeral }, "reserved SMEP ports inside the ephemeral range");
      } else {
        this.log.warn(
          { service: def.name, ports: sp.ephemeral },
          "SMEP ports fall in the kernel's ephemeral range; set [placement] reserve_ephemeral_ports = true to reserve them",
        );
      }
    }
    await this.store.setPorts(def.name, sp.ports);
    return user;
  }

  /**
   * The user's podman reads ~/.config/containers: the node's containers.conf and the registry's
   * CA. Its home is the service's to change, so every write goes through safe-fs. The registry
   * credentials stay in the agent's own folder (see pullOptionsFor).
   */
  private configurePodman(user: ServiceUser, agentPull: PullOptions): void {
    const owner = { uid: user.uid, gid: user.uid };
    const dirs = { ...owner, mode: 0o700 };
    withServiceDir(user.home, ".config/containers", dirs, (fd) => {
      if (this.cfg.containersConf) writeFileIn(fd, "containers.conf", readFileSync(this.cfg.containersConf), 0o644, owner);
      // Earlier versions copied the agent's registry login here: take it away.
      try {
        if (lstatSync(`/proc/self/fd/${fd}/registry-auth.json`)) unlinkSync(`/proc/self/fd/${fd}/registry-auth.json`);
      } catch {
        /* not there */
      }
    });
    if (agentPull.certDir && this.cfg.registryHost) {
      const ca = readFileSync(join(agentPull.certDir, "ca.crt"));
      withServiceDir(user.home, `.config/containers/certs.d/${this.cfg.registryHost}`, dirs, (fd) => writeFileIn(fd, "ca.crt", ca, 0o644, owner));
    }
  }

  /**
   * Pull options as the service user's podman sees them: the CA inside its home. Never the
   * agent's auth file: the runtime provider adds a pull token per image (`pipedAuth`).
   */
  pullOptionsFor(user: ServiceUser, agentPull: PullOptions): PullOptions {
    const dir = join(user.home, ".config", "containers");
    return {
      ...(agentPull.certDir && this.cfg.registryHost ? { certDir: join(dir, "certs.d", this.cfg.registryHost) } : {}),
    };
  }

  /** Undoes prepare's links and mounts (data and the user stay). */
  async release(def: ServiceDefinition, sp: ServicePlacement): Promise<void> {
    const home = join(this.cfg.homeRoot, sp.placement.user);
    removeXdgLinks(sp.placement, def.name, home, sp.storage.path);
    await releaseStorage(sp.storage, this.cfg.storage);
  }

  userExists(user: string): boolean {
    return readFileSync("/etc/passwd", "utf8")
      .split("\n")
      .some((l) => l.startsWith(`${user}:`));
  }

  /** The user's home as /etc/passwd has it, or the configured default. */
  homeOf(user: string): string {
    for (const line of readFileSync("/etc/passwd", "utf8").split("\n")) {
      const f = line.split(":");
      if (f[0] === user) return f[5]!;
    }
    return join(this.cfg.homeRoot, user);
  }
}
