// Assembles mcp-agent from its config and serves AgentService over HTTP/2 + TLS 1.3.
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { createSecureServer, type Http2SecureServer, type ServerHttp2Session } from "node:http2";
import type { AddressInfo } from "node:net";
import { join } from "node:path";
import { CachedIdentity } from "../lib/auth/cache.ts";
import { RemoteIdentity } from "../lib/auth/remote.ts";
import { listenOn } from "../lib/net/listen.ts";
import { closeIdleConnections, limitRequestTime } from "../lib/net/request-limits.ts";
import { guardConnections, handshakeTimeout } from "../lib/net/guard-config.ts";
import { guardedConnectHandler } from "../lib/net/rpc-guard.ts";
import { BodyBudget } from "../lib/net/body-budget.ts";
import { warnAtMostEveryMinute } from "../lib/log/throttle.ts";
import { isolateRequests } from "../lib/net/request-context.ts";
import { openSqlite } from "../lib/db/sqlite.ts";
import type { Logger } from "../lib/log/logger.ts";
import { serverTlsOptions } from "../lib/tls/server-options.ts";
import { AgentService } from "../proto/gen/mcp/agent/v1/agent_pb.ts";
import { dataDir, type AgentConfig } from "./config.ts";
import { ServiceController } from "./controller/controller.ts";
import { publisherFor } from "./controller/publisher-config.ts";
import { DriftWatch } from "./reconcile/drift-watch.ts";
import { Reconciler } from "./reconcile/reconciler.ts";
import { agentService } from "./rpc/agent-service.ts";
import { agentAuthInterceptor } from "./rpc/interceptor.ts";
import { agentAccess, AgentPolicy } from "./rpc/access.ts";
import { StreamLimits } from "./rpc/stream-limits.ts";
import { EventHub } from "./runtime/event-hub.ts";
import { LABELS } from "./controller/plan.ts";
import { execAuditFor } from "./registry/exec-audit.ts";
import { policyRulesFetcher } from "./registry/policy-rules.ts";
import { podmanNode } from "./runtime/podman-node.ts";
import type { PullOptions, Runtime } from "./runtime/runtime.ts";
import { agentMigrations } from "./state/migrations.ts";
import { ReleaseStore } from "./state/releases.ts";
import type { AgentDatabase } from "./state/schema.ts";
import { StateStore } from "./state/store.ts";
import { Placer } from "./placement/placer.ts";
import { ServiceUserRuntimes, SharedRuntime, type RuntimeProvider } from "./runtime/provider.ts";
import { mcrSessionFor } from "./registry/mcr-session.ts";
import { CertRenewal, completeRenewal } from "./registry/cert-renewal.ts";
import { RevokedCerts } from "./registry/revoked-certs.ts";
import { sheetNumber } from "../lib/smep/smep.ts";
import { version } from "../lib/version.ts";

/** Concurrent streams one HTTP/2 connection may open (Node's default is unlimited). */
const MAX_STREAMS_PER_SESSION = 100;

export interface RunningAgent {
  address: AddressInfo;
  reconciler: Reconciler;
  shutdown(): Promise<void>;
}

/** The environment every podman call gets: the agent's containers.conf/storage.conf if configured. */
export function podmanEnv(cfg: AgentConfig): NodeJS.ProcessEnv {
  const env = { ...process.env };
  if (cfg.runtime.containers_conf) env.CONTAINERS_CONF = cfg.runtime.containers_conf;
  if (cfg.runtime.storage_conf) env.CONTAINERS_STORAGE_CONF = cfg.runtime.storage_conf;
  return env;
}

/** Trust for the registry (a certs.d folder with the platform CA) and its credentials (an auth file). */
async function registryAccess(cfg: AgentConfig, runtime: Runtime, log: Logger): Promise<PullOptions> {
  const opts: PullOptions = {};
  if (!cfg.registry.host) return opts;
  const data = dataDir(cfg);
  if (cfg.registry.ca_cert) {
    const certDir = join(data, "certs.d", cfg.registry.host);
    mkdirSync(certDir, { recursive: true, mode: 0o700 });
    writeFileSync(join(certDir, "ca.crt"), readFileSync(cfg.registry.ca_cert));
    opts.certDir = certDir;
  }
  if (cfg.registry.username) {
    opts.authFile = join(data, "registry-auth.json");
    const password = readFileSync(cfg.registry.password_file, "utf8").trim();
    try {
      await runtime.login(cfg.registry.host, cfg.registry.username, password, opts);
      log.info({ registry: cfg.registry.host, username: cfg.registry.username }, "logged in to the registry");
    } catch (err) {
      // Not fatal: images already on the node still run; deploys report the pull error.
      log.error({ err: (err as Error).message, registry: cfg.registry.host }, "registry login failed");
    }
  }
  return opts;
}

/** The placer when the node places services by SMEP ([placement] sheet). */
function placerFor(cfg: AgentConfig, store: StateStore, log: Logger): Placer | undefined {
  if (!cfg.placement.sheet) return undefined;
  return new Placer(
    {
      sheet: cfg.placement.sheet,
      sheetNumber: cfg.placement.sheet_number,
      isolation: cfg.placement.isolation,
      homeRoot: cfg.placement.home_root,
      reserveEphemeralPorts: cfg.placement.reserve_ephemeral_ports,
      nfsExports: cfg.storage.nfs_exports,
      containersConf: cfg.runtime.containers_conf,
      registryHost: cfg.registry.host,
      storage: {
        localRoot: cfg.storage.root,
        mountRoot: cfg.storage.mount_root,
        nfsOptions: cfg.storage.nfs_options,
        mountCommand: cfg.storage.mount_command,
        umountCommand: cfg.storage.umount_command,
        mountUnitsDir: cfg.storage.mount_units_dir,
        checkKernel: cfg.storage.mount_command === "mount",
      },
    },
    store,
    log,
  );
}

export async function startAgent(
  cfg: AgentConfig,
  log: Logger,
  /** Instead of podman (unit tests). */
  runtimeOverride?: Runtime,
): Promise<RunningAgent> {
  // The agent's own podman: its API socket is the operator's ([runtime] socket) or one the agent serves.
  const sharedPodman = runtimeOverride
    ? { runtime: runtimeOverride, stop: async () => undefined }
    : podmanNode({
        command: cfg.runtime.podman,
        env: podmanEnv(cfg),
        socketPath: cfg.runtime.socket || join(dataDir(cfg), "podman.sock"),
        external: cfg.runtime.socket !== "",
        what: cfg.runtime.socket ? `podman at ${cfg.runtime.socket}` : "the agent's podman",
        log,
      });
  const runtime = sharedPodman.runtime;
  const { db } = await openSqlite<AgentDatabase>(cfg.database.path, agentMigrations);
  const store = new StateStore(db);
  const agentIdentity = { id: await store.agentId(), node: cfg.node.name, containerPrefix: cfg.runtime.container_prefix };
  const pull = await registryAccess(cfg, runtime, log);
  const placer = placerFor(cfg, store, log);
  // Service users' podman pulls with pull tokens of this session, never with the agent's login.
  const registrySession = await mcrSessionFor(cfg);
  const runtimes: RuntimeProvider =
    placer && cfg.placement.isolation === "rootless"
      ? new ServiceUserRuntimes(
          runtime,
          { command: cfg.runtime.podman, log },
          store,
          placer,
          pull,
          registrySession ? (image) => registrySession.authFileFor(image) : undefined,
        )
      : new SharedRuntime(runtime, pull);
  if (placer) {
    const n = cfg.placement.sheet_number || sheetNumber(cfg.placement.sheet);
    log.info({ sheet: cfg.placement.sheet, sheet_number: n, isolation: cfg.placement.isolation }, "SMEP placement");
  }
  const publisher = publisherFor(cfg, store, log);
  const controller = new ServiceController({
    runtimes,
    store,
    placer,
    log,
    hooks: publisher,
    startGraceMs: cfg.runtime.start_grace,
    stopTimeoutSeconds: cfg.runtime.stop_timeout,
    ports: { start: cfg.ports.range_start, end: cfg.ports.range_end, address: cfg.runtime.publish_address },
    plan: {
      identity: agentIdentity,
      registryHost: cfg.registry.host,
      publishAddress: cfg.runtime.publish_address,
      defaultNetwork: cfg.runtime.default_network,
      storageRoot: cfg.storage.root,
      allowedVolumeRoots: cfg.storage.allowed_volume_roots,
      envDir: join(dataDir(cfg), "env"),
    },
  });
  // Its first pass re-applies the route table and the records (HAProxy or PowerDNS restarted or replaced).
  const reconciler = new Reconciler({ runtimes, store, controller, log, publisher });
  // One podman event subscription per podman, shared by the Events streams and the drift watch.
  const events = new EventHub({ [LABELS.managed]: "true" }, log);
  const driftWatch = new DriftWatch({ runtimes, events, labels: { [LABELS.agent]: agentIdentity.id }, onDrift: () => reconciler.requestPass(), log });

  let identity = null;
  let remote: RemoteIdentity | undefined;
  if (cfg.auth.disabled) log.warn("authentication is disabled ([auth] disabled = true): anyone who reaches the agent controls the node");
  else {
    remote = new RemoteIdentity({ serverUrl: cfg.mcias.server_url, caCert: cfg.mcias.ca_cert ? readFileSync(cfg.mcias.ca_cert, "utf8") : undefined });
    identity = new CachedIdentity(remote);
  }

  // What callers may do per service: the platform's rules, fetched from the registry with the agent's account.
  const registryCa = cfg.registry.ca_cert ? readFileSync(cfg.registry.ca_cert, "utf8") : undefined;
  const policy = identity
    ? new AgentPolicy(log, registrySession ? policyRulesFetcher(registrySession, `https://${cfg.registry.host}`, registryCa) : undefined)
    : null;
  await policy?.start(cfg.auth.policy_refresh);

  // Anonymous calls (but Health) and oversize bodies are refused before the body is read.
  const closing = new AbortController();
  const budget = new BodyBudget(cfg.server.max_buffered_body_bytes);
  const busy = warnAtMostEveryMinute(() =>
    log.warn({ refused: budget.refused, max_buffered_body_bytes: budget.limitBytes }, "request bodies refused: max_buffered_body_bytes reached"),
  );
  const rpc = guardedConnectHandler({
    budget: { pool: budget, refused: busy },
    routes: (router) =>
      router.service(
        AgentService,
        agentService({
          controller,
          publisher,
          store,
          runtimes,
          node: cfg.node.name,
          version,
          log,
          closing: closing.signal,
          access: agentAccess(policy),
          streams: new StreamLimits(cfg.server.max_streams_per_account),
          events,
          releases: new ReleaseStore(db),
          execAudit: registrySession ? execAuditFor(registrySession, `https://${cfg.registry.host}`, registryCa) : undefined,
        }),
      ),
    interceptors: [agentAuthInterceptor(identity, cfg.mcias.service_name)],
    maxMessageBytes: cfg.server.max_rpc_bytes,
    requireToken: identity !== null,
    tokenSubject: identity ? async (token) => (await identity.validate(token))?.subject ?? null : undefined,
    publicPaths: new Set([`/${AgentService.typeName}/${AgentService.method.health.name}`]),
  });
  // A joined node's certificate renews itself; a renewal cut by a crash is finished first.
  completeRenewal(cfg.server.tls_cert, cfg.server.tls_key);
  const revoked = registrySession ? new RevokedCerts(registrySession, `https://${cfg.registry.host}`, registryCa, log) : null;
  void revoked?.start(cfg.auth.policy_refresh);
  const server: Http2SecureServer = createSecureServer({
    ...serverTlsOptions(cfg.server.tls_cert, cfg.server.tls_key),
    // A client certificate is asked for, never required: one of a removed node is refused.
    requestCert: revoked !== null,
    rejectUnauthorized: false,
    allowHTTP1: true,
    ...handshakeTimeout(cfg.server),
    settings: { maxConcurrentStreams: MAX_STREAMS_PER_SESSION },
  });
  // The HTTP/1.1 fallback's own limits; HTTP/2 streams get limitRequestTime and the idle close below.
  Object.assign(server, { headersTimeout: cfg.server.read_timeout, requestTimeout: cfg.server.request_timeout });
  if (revoked) server.on("secureConnection", (socket) => revoked.check(socket));
  const renewal =
    cfg.server.renew_cert && registrySession
      ? new CertRenewal({
          certPath: cfg.server.tls_cert,
          keyPath: cfg.server.tls_key,
          registryUrl: `https://${cfg.registry.host}`,
          registryCa: registryCa ?? null,
          session: registrySession,
          apply: (cert, key) => server.setSecureContext({ ...serverTlsOptions(cfg.server.tls_cert, cfg.server.tls_key), cert, key }),
          log,
        })
      : null;
  if (cfg.server.renew_cert && !registrySession) log.warn("[server] renew_cert needs a [registry] account: the certificate will not renew");
  const connections = guardConnections(cfg.server, log);
  connections.attach(server);
  const idle = closeIdleConnections(server, cfg.server.idle_timeout);
  server.on(
    "request",
    isolateRequests(log, (req, res) => {
      connections.trackRequest(req, res);
      idle.track(req, res);
      limitRequestTime(req, res, cfg.server.request_timeout);
      return rpc(req, res);
    }),
  );
  const sessions = new Set<ServerHttp2Session>();
  server.on("session", (s: ServerHttp2Session) => {
    sessions.add(s);
    s.on("close", () => sessions.delete(s));
  });
  const address = await listenOn(server, cfg.server.listen_addr);
  reconciler.start(cfg.runtime.reconcile_interval);
  driftWatch.start();
  renewal?.start();
  log.info(
    { address: address.address, port: address.port, node: cfg.node.name, agent: agentIdentity.id, container_prefix: agentIdentity.containerPrefix },
    "mcp-agent listening",
  );

  return {
    address,
    reconciler,
    async shutdown() {
      driftWatch.stop();
      await reconciler.stop();
      policy?.stop();
      revoked?.stop();
      renewal?.stop();
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      closing.abort(); // log and event follows end; a deploy in flight runs to its end
      for (const s of sessions) s.close(); // graceful: lets open streams finish
      const timer = setTimeout(() => {
        log.warn({ sessions: sessions.size }, "shutdown timeout: closing remaining sessions");
        for (const s of sessions) s.destroy();
      }, cfg.server.shutdown_timeout);
      await closed;
      clearTimeout(timer);
      remote?.close();
      registrySession?.close();
      await runtimes.stop();
      await sharedPodman.stop();
      await db.destroy();
      log.info("mcp-agent stopped");
    },
  };
}
