// mcr's configuration (docs/configuration.md): [server], [database], [mcias], [log] plus [storage], [s3] and [auth].
import { z } from "zod";
import { loadConfig } from "../lib/config/load.ts";
import { duration, listenAddr, logLevel, serverLimits } from "../lib/config/types.ts";
import { existsSync } from "node:fs";
import { dirname, join } from "node:path";

export const registryConfigSchema = z
  .object({
    server: z
      .object({
        listen_addr: listenAddr,
        /** URL clients use to reach this registry (token realm, Link headers). Derived from listen_addr when empty. */
        public_url: z.string().url().optional(),
        tls_cert: z.string().default(""),
        tls_key: z.string().default(""),
        /** Serve plain HTTP instead of TLS. Only behind a TLS-terminating proxy (an l7 route of the node's HAProxy); never the default. */
        plain_http: z.boolean().default(false),
        /** Time allowed to receive a request's headers. Bodies (uploads) are bounded by idle_timeout instead. */
        read_timeout: duration("30s"),
        /** 0 = no limit: blob downloads may take as long as they need. */
        write_timeout: duration("0"),
        /** Inactivity on a connection before it is closed. */
        idle_timeout: duration("120s"),
        /** How long SIGTERM waits for in-flight requests (uploads included) before closing them. */
        shutdown_timeout: duration("60s"),
        /** Time allowed to receive a whole request on every route but blob uploads; 0 = none. */
        request_timeout: duration("60s"),
        ...serverLimits({ maxConnections: 1024, maxConnectionsPerAddress: 256 }),
      })
      .strict(),
    database: z
      .object({
        /** SQLite file: the embedded default, one mcr. */
        path: z.string().default(""),
        /** postgres:// URL instead: PostgreSQL, shared by several mcr replicas (docs/scale-out.md). */
        url: z.string().default(""),
        /** PostgreSQL connections per replica. */
        pool_size: z.number().int().positive().max(1000).default(10),
      })
      .strict(),
    storage: z
      .object({
        /** "local": files under layers_path; "s3": the [s3] bucket, shared by replicas. */
        backend: z.enum(["local", "s3"]).default("local"),
        layers_path: z.string().default(""),
        /** Defaults to <layers_path>/../uploads; must be on the same filesystem. */
        uploads_path: z.string().default(""),
        /** Upload bodies bypass the page cache (O_DIRECT) where the filesystem allows it. */
        direct_writes: z.boolean().default(true),
        /** Allow DELETE of manifests, tags and blobs (405 UNSUPPORTED otherwise). */
        delete_enabled: z.boolean().default(true),
        /** Largest manifest accepted, in bytes (the OCI spec asks for at least 4 MiB). */
        max_manifest_bytes: z
          .number()
          .int()
          .positive()
          .default(4 * 1024 * 1024),
        /** Largest blob accepted, in bytes (default 10 GiB); 0 = no limit. */
        max_blob_bytes: z
          .number()
          .int()
          .nonnegative()
          .default(10 * 1024 * 1024 * 1024),
      })
      .strict(),
    s3: z
      .object({
        /** Empty: AWS's endpoint for the region; else the S3-compatible server's URL. */
        endpoint: z.string().default(""),
        region: z.string().min(1).default("us-east-1"),
        bucket: z.string().default(""),
        /** Key prefix for every object ("registry/"), so a bucket can hold other things. */
        prefix: z.string().default(""),
        /** Path-style URLs (endpoint/bucket/key), which most S3-compatible servers need. */
        path_style: z.boolean().default(false),
        /** AWS-format credentials file; empty: AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY or the SDK's default chain. */
        credentials_file: z.string().default(""),
        /** Blob GETs answer 307 with a presigned URL, so bytes flow from the store to the client. */
        redirect: z.boolean().default(false),
        /** Lifetime of those URLs. */
        redirect_ttl: duration("5m"),
      })
      .strict()
      .default({}),
    mcias: z
      .object({
        server_url: z.string().default(""),
        ca_cert: z.string().default(""),
        service_name: z.string().default("mcr"),
        tags: z.array(z.string()).default([]),
      })
      .strict()
      .default({}),
    auth: z
      .object({
        /** Serve every request without authentication or policy. Only when said explicitly. */
        disabled: z.boolean().default(false),
        /** Lifetime of tokens issued by the embedded identity service. */
        token_ttl: duration("12h"),
        /** Login attempts allowed per account and per source address each minute. */
        logins_per_minute: z.number().int().positive().default(10),
      })
      .strict()
      .default({}),
    audit: z
      .object({
        /** Events older than this are deleted (hourly); 0 keeps them for ever. */
        retention: duration("90d"),
        /** Only the newest this many events are kept (the oldest are deleted hourly, as for retention); 0 = no cap. */
        max_rows: z.number().int().nonnegative().default(1_000_000),
      })
      .strict()
      .default({}),
    gc: z
      .object({
        /** Blobs and manifests used (uploaded, mounted, checked, referenced, pushed) more recently are never collected. */
        grace: duration("1h"),
        /** Upload sessions without a new chunk for this long are removed (hourly); 0 keeps them. */
        stale_uploads: duration("24h"),
      })
      .strict()
      .default({}),
    nodes: z
      .object({
        /** The node signer (`mcr init` makes it in <home>/signer/): it signs joined nodes' certificates. Empty: joining is off. */
        signer_cert: z.string().default(""),
        signer_key: z.string().default(""),
        /** The platform CA joining nodes pin by digest; default ca.pem beside [server] tls_cert. */
        ca_cert: z.string().default(""),
        /** Lifetime of a node certificate (never past the signer's); nodes renew at two thirds of it. */
        cert_lifetime: duration("30d"),
      })
      .strict()
      .default({}),
    log: z.object({ level: logLevel }).strict().default({}),
  })
  .strict()
  .superRefine((cfg, ctx) => {
    if (!cfg.server.plain_http) {
      if (!cfg.server.tls_cert)
        ctx.addIssue({ code: "custom", path: ["server", "tls_cert"], message: "is required (or set plain_http = true behind a TLS proxy)" });
      if (!cfg.server.tls_key)
        ctx.addIssue({ code: "custom", path: ["server", "tls_key"], message: "is required (or set plain_http = true behind a TLS proxy)" });
    }
    const db = cfg.database;
    if (!db.path && !db.url) ctx.addIssue({ code: "custom", path: ["database", "path"], message: 'is required (or url = "postgres://…" for PostgreSQL)' });
    if (db.path && db.url)
      ctx.addIssue({ code: "custom", path: ["database", "url"], message: "and path are both set: path is SQLite, url is PostgreSQL; keep one" });
    if (db.url && !/^postgres(ql)?:\/\//.test(db.url)) ctx.addIssue({ code: "custom", path: ["database", "url"], message: "must be a postgres:// URL" });
    if (cfg.storage.backend === "local" && !cfg.storage.layers_path) ctx.addIssue({ code: "custom", path: ["storage", "layers_path"], message: "is required" });
    if (cfg.storage.backend === "s3" && !cfg.s3.bucket)
      ctx.addIssue({ code: "custom", path: ["s3", "bucket"], message: 'is required with [storage] backend = "s3"' });
    if (!!cfg.nodes.signer_cert !== !!cfg.nodes.signer_key)
      ctx.addIssue({
        code: "custom",
        path: ["nodes", cfg.nodes.signer_cert ? "signer_key" : "signer_cert"],
        message: "is required with the other signer file (both or neither)",
      });
    if (cfg.nodes.cert_lifetime < 2000) ctx.addIssue({ code: "custom", path: ["nodes", "cert_lifetime"], message: "must be at least 2s" });
    if (cfg.mcias.server_url && !cfg.mcias.server_url.startsWith("https://")) {
      ctx.addIssue({ code: "custom", path: ["mcias", "server_url"], message: "must be an https:// URL" });
    }
  });

export type RegistryConfig = z.output<typeof registryConfigSchema>;

export function loadRegistryConfig(path: string, env: NodeJS.ProcessEnv = process.env): RegistryConfig {
  const cfg = loadConfig({
    path,
    schema: registryConfigSchema,
    envPrefix: "MCR",
    env,
    pathKeys: [
      "server.tls_cert",
      "server.tls_key",
      "database.path",
      "storage.layers_path",
      "storage.uploads_path",
      "s3.credentials_file",
      "mcias.ca_cert",
      "nodes.signer_cert",
      "nodes.signer_key",
      "nodes.ca_cert",
    ],
  });
  // A home made before the signer: its default place, once `mcr cert signer` has made it.
  const signer = join(dirname(path), "signer");
  if (!cfg.nodes.signer_cert && existsSync(join(signer, "signer.pem"))) {
    cfg.nodes.signer_cert = join(signer, "signer.pem");
    cfg.nodes.signer_key = join(signer, "signer-key.pem");
  }
  if (!cfg.nodes.ca_cert && cfg.server.tls_cert) cfg.nodes.ca_cert = join(dirname(cfg.server.tls_cert), "ca.pem");
  if (!cfg.storage.uploads_path && cfg.storage.layers_path) cfg.storage.uploads_path = join(dirname(cfg.storage.layers_path), "uploads");
  if (cfg.s3.prefix && !cfg.s3.prefix.endsWith("/")) cfg.s3.prefix += "/";
  return cfg;
}
