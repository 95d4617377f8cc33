// Builds the registry's parts from its config: database, blob store, identity
// (embedded, external or disabled), policy engine, audit log, and the request deps.
import { readFileSync } from "node:fs";
import type { Kysely } from "kysely";
import type { IncomingMessage, ServerResponse } from "node:http";
import { CachedIdentity } from "../../lib/auth/cache.ts";
import { RemoteIdentity } from "../../lib/auth/remote.ts";
import type { IdentityProvider } from "../../lib/auth/types.ts";
import type { Logger } from "../../lib/log/logger.ts";
import { guardedConnectHandler } from "../../lib/net/rpc-guard.ts";
import { BodyBudget } from "../../lib/net/body-budget.ts";
import { warnAtMostEveryMinute } from "../../lib/log/throttle.ts";
import { AdminService } from "../../proto/gen/mcr/v1/admin_pb.ts";
import { adminAuthInterceptor } from "../admin/interceptor.ts";
import { adminRoutes } from "../admin/routes.ts";
import { AuditLog } from "../audit/audit-log.ts";
import { RegistryAccess } from "../auth/access.ts";
import { PullTokenStore } from "../auth/pull-tokens.ts";
import type { RegistryConfig } from "../config.ts";
import { Metadata } from "../db/metadata.ts";
import { openRegistryDb } from "../db/open.ts";
import type { RegistryDatabase } from "../db/schema.ts";
import { EmbeddedIdentity } from "../identity/embedded.ts";
import type { IdentityHttpDeps } from "../identity/http.ts";
import type { PullTokenHttpDeps } from "../identity/pull-token-http.ts";
import type { OciDeps } from "../oci/deps.ts";
import { reconcileUploads } from "../oci/uploads.ts";
import { PolicyEngine } from "../policy/engine.ts";
import { PolicyStore } from "../policy/store.ts";
import type { BlobStore } from "../storage/blob-store.ts";
import { openBlobStore } from "../storage/open.ts";
import { StorageHealth, storageProbe } from "../storage/health.ts";
import { advisoryLocks } from "../locks/advisory.ts";
import { localLocks } from "../locks/local.ts";
import { Maintenance } from "./maintenance.ts";
import { version } from "../../lib/version.ts";
import { Inventory } from "../db/inventory.ts";
import { snapshot } from "../db/backup.ts";
import { GarbageCollector, type GcHooks } from "../gc/collector.ts";
import { checkRegistry } from "../gc/check.ts";
import type { VerifySample } from "../gc/verify.ts";
import { GcManager } from "../gc/manager.ts";
import { removeStaleUploads } from "../gc/stale-uploads.ts";
import { adminImplementations } from "../admin/routes.ts";
import { handleAdminRest } from "../admin/rest.ts";
import { NodeRegistrar } from "../nodes/registrar.ts";
import { NodeStore } from "../nodes/store.ts";
import type { NodeHttpDeps } from "../nodes/http.ts";
import { acquireLock, socketPath, type InstanceLock } from "./instance-lock.ts";
import { serveLocalAdmin, type LocalAdmin } from "./local-admin.ts";

export interface RegistryParts {
  db: Kysely<RegistryDatabase>;
  oci: OciDeps;
  /** Null when authentication is disabled. */
  identityHttp: IdentityHttpDeps | null;
  /** POST /v1/auth/pull-token; null when authentication is disabled. */
  pullTokenHttp: PullTokenHttpDeps | null;
  /** /v1/nodes/ca, join and renew. */
  nodeHttp: NodeHttpDeps;
  rpc: (req: IncomingMessage, res: ServerResponse) => void | Promise<void>;
  /** The budget of buffered request bodies, shared by every route that buffers one. */
  bodyBudget: { pool: BodyBudget; refused(): void };
  /** The admin REST routes under /v1/; false when `path` is none of them. */
  rest: (req: IncomingMessage, res: ServerResponse, path: string, query: URLSearchParams) => Promise<boolean>;
  gc: GcManager;
  /** Whether the blob store answers (the bucket or the blob folder), for /v1/health. */
  storageHealth: StorageHealth;
  /** Ends streaming RPCs (audit follow, GC watch) so that a shutdown does not wait for them. */
  endStreams(): void;
  /** Prunes expired tokens and old audit events on a timer; close() stops it. */
  maintenance: Maintenance;
  close(): Promise<void>;
}

/** For tests: the clock (database upkeep, external identity's validation cache) and the upkeep's period. */
export interface AssembleOptions {
  now?: () => number;
  maintenanceIntervalMs?: number;
  /** Run between GC's phases (the re-upload-during-sweep test). */
  gcHooks?: GcHooks;
}

export function identityFor(
  cfg: RegistryConfig,
  db: Kysely<RegistryDatabase>,
  now?: () => number,
): { identity: IdentityProvider | null; embedded: EmbeddedIdentity | null; remote: RemoteIdentity | null } {
  if (cfg.auth.disabled) return { identity: null, embedded: null, remote: null };
  if (cfg.mcias.server_url) {
    const remote = new RemoteIdentity({ serverUrl: cfg.mcias.server_url, caCert: cfg.mcias.ca_cert ? readFileSync(cfg.mcias.ca_cert, "utf8") : undefined });
    return { identity: new CachedIdentity(remote, { now }), embedded: null, remote };
  }
  const embedded = new EmbeddedIdentity(db, { tokenTtlMs: cfg.auth.token_ttl, loginsPerMinute: cfg.auth.logins_per_minute });
  return { identity: embedded, embedded, remote: null };
}

/** How often a replica on PostgreSQL reloads the policy rules that other replicas may have changed. */
export const RULE_RELOAD_MS = 5_000;

export async function assembleRegistry(cfg: RegistryConfig, log: Logger, opts: AssembleOptions = {}): Promise<RegistryParts> {
  // One process per SQLite database: a second server, or an offline `mcr gc` or `mcr restore`, is
  // refused. Replicas on PostgreSQL share their database by design, and exclude each other with
  // advisory locks instead (registry/locks/).
  const embedded = !cfg.database.url && cfg.database.path !== ":memory:";
  const lock: InstanceLock | null = embedded ? acquireLock(cfg.database.path, "server", socketPath(cfg.database.path)) : null;
  try {
    return await assembleLocked(cfg, log, opts, lock);
  } catch (err) {
    lock?.release();
    throw err;
  }
}

async function assembleLocked(cfg: RegistryConfig, log: Logger, opts: AssembleOptions, lock: InstanceLock | null): Promise<RegistryParts> {
  const { db, sqlite, dialect, label, stopWorkers } = await openRegistryDb(cfg.database, log, true);
  let store: BlobStore;
  try {
    store = await openBlobStore(cfg);
  } catch (err) {
    await stopWorkers();
    await db.destroy();
    throw err;
  }
  const locks = dialect === "postgres" ? await advisoryLocks(cfg.database.url, log) : localLocks();
  log.info(
    { database: label, dialect, storage: cfg.storage.backend === "s3" ? `s3://${cfg.s3.bucket}/${cfg.s3.prefix}` : cfg.storage.layers_path },
    "metadata and blob storage",
  );
  const meta = new Metadata(db);
  const storageHealth = new StorageHealth(storageProbe(cfg), log);
  const audit = new AuditLog(db, log);
  const policies = new PolicyStore(db, audit);
  const engine = new PolicyEngine(policies);
  policies.attach(engine);
  await engine.reload();
  // A rule changed through another replica reaches this one within RULE_RELOAD_MS.
  const ruleReload =
    dialect === "postgres"
      ? setInterval(() => engine.reload().catch((err: Error) => log.warn({ err }, "policy rules could not be reloaded")), RULE_RELOAD_MS)
      : undefined;
  ruleReload?.unref();

  const { identity, embedded, remote } = identityFor(cfg, db, opts.now);
  if (identity === null) log.warn("authentication is disabled ([auth] disabled = true): every client may pull, push and delete");
  else log.info({ identity: embedded ? "embedded" : cfg.mcias.server_url }, "identity service");

  const pullTokens = new PullTokenStore(db, cfg.mcias.service_name, opts.now);
  const access = new RegistryAccess({ identity, engine, audit, serviceName: cfg.mcias.service_name, publicUrl: cfg.server.public_url, log, pullTokens });
  const oci: OciDeps = {
    meta,
    store,
    log,
    audit,
    access,
    uploadLocks: locks.uploads,
    blobLocks: { digests: locks.digests, commits: locks.commits },
    limits: {
      deleteEnabled: cfg.storage.delete_enabled,
      maxManifestBytes: cfg.storage.max_manifest_bytes,
      maxBlobBytes: cfg.storage.max_blob_bytes,
      // A blob HEAD restarts the grace window at most this often (docs/gc.md).
      blobTouchMs: Math.max(1000, Math.min(60_000, cfg.gc.grace / 4)),
      redirect: cfg.storage.backend === "s3" && cfg.s3.redirect,
    },
  };
  await reconcileUploads(oci);
  const nodeStore = new NodeStore(db);
  const maintenance = new Maintenance({
    nodeCerts: nodeStore,
    audit,
    tokens: embedded,
    pullTokens,
    auditRetentionMs: cfg.audit.retention,
    auditMaxRows: cfg.audit.max_rows,
    staleUploads: () => removeStaleUploads({ db, store, uploadLocks: oci.uploadLocks, log, now: opts.now }, cfg.gc.stale_uploads),
    log,
    intervalMs: opts.maintenanceIntervalMs,
    now: opts.now,
  });
  maintenance.start();

  const collector = new GarbageCollector({ db, store, locks: oci.blobLocks, log, hooks: opts.gcHooks, now: opts.now });
  const gc = new GcManager(collector, audit, log, locks.gcRun);
  const nodes = new NodeRegistrar({
    store: nodeStore,
    accounts: embedded?.accounts,
    policies,
    audit,
    log,
    signerCert: cfg.nodes.signer_cert,
    signerKey: cfg.nodes.signer_key,
    caCert: cfg.nodes.ca_cert,
    certLifetimeMs: cfg.nodes.cert_lifetime,
  });
  const admin = {
    nodes,
    meta,
    storage: storageHealth,
    version,
    log,
    policies,
    audit,
    gc,
    defaultGraceMs: cfg.gc.grace,
    snapshot: async () => {
      if (!sqlite) throw new Error("snapshots are of the embedded SQLite database; back up PostgreSQL with pg_dump (docs/scale-out.md)");
      return snapshot(sqlite, cfg.database.path);
    },
    check: (verify?: VerifySample) => checkRegistry(sqlite, db, collector, { store, verify }),
    registry: {
      inventory: new Inventory(db),
      meta,
      store,
      uploadLocks: oci.uploadLocks,
      audit,
      deleteEnabled: cfg.storage.delete_enabled,
      allowed: identity ? access.allowed.bind(access) : undefined,
    },
  };
  const impls = adminImplementations(admin);
  const streams = new AbortController();
  const local: LocalAdmin | null = lock ? await serveLocalAdmin(lock.holder.socket!, adminRoutes(admin), log, streams.signal) : null;

  // Anonymous calls (but Health), made-up tokens and oversize bodies are refused before the body is read.
  const budget = new BodyBudget(cfg.server.max_buffered_body_bytes);
  const bodyBudget = {
    pool: budget,
    refused: warnAtMostEveryMinute(() =>
      log.warn({ refused: budget.refused, max_buffered_body_bytes: budget.limitBytes }, "request bodies refused: max_buffered_body_bytes reached"),
    ),
  };
  const rpc = guardedConnectHandler({
    budget: bodyBudget,
    routes: adminRoutes(admin),
    shutdownSignal: streams.signal,
    interceptors: [adminAuthInterceptor(identity, cfg.mcias.service_name)],
    maxMessageBytes: cfg.server.max_rpc_bytes,
    requireToken: identity !== null,
    tokenSubject: identity ? async (token) => (await identity.validate(token))?.subject ?? null : undefined,
    publicPaths: new Set([`/${AdminService.typeName}/${AdminService.method.health.name}`]),
  });

  return {
    db,
    oci,
    identityHttp: identity ? { identity, embedded: embedded !== null, audit, serviceName: cfg.mcias.service_name, pullTokens } : null,
    nodeHttp: { registrar: nodes, identity, serviceName: cfg.mcias.service_name },
    pullTokenHttp: identity ? { identity, access, pullTokens, audit, serviceName: cfg.mcias.service_name } : null,
    rpc,
    bodyBudget,
    rest: (req, res, path, query) =>
      handleAdminRest({ identity, serviceName: cfg.mcias.service_name, impls, maxBodyBytes: cfg.server.max_rpc_bytes, log }, req, res, path, query),
    gc,
    storageHealth,
    endStreams: () => streams.abort(),
    maintenance,
    async close() {
      clearInterval(ruleReload);
      streams.abort();
      await local?.close();
      await gc.stop();
      await maintenance.stop();
      await audit.close();
      remote?.close();
      await locks.close();
      await stopWorkers();
      await db.destroy();
      store.close?.();
      storageHealth.close();
      lock?.release();
    },
  };
}
