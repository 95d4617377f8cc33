// mcp-agent's configuration schema: [server], [database], [mcias], [auth], [log], [node],
// [runtime], [registry], [ports], [storage], [placement] and the optional [proxy] and [dns]
// (docs/agent.md). Loaded by config.ts, with $MCP_AGENT_<SECTION>_<KEY> overrides.
import { isIP } from "node:net";
import { hostname } from "node:os";
import { z } from "zod";
import { duration, listenAddr, logLevel, serverLimits } from "../lib/config/types.ts";
import { quote } from "../lib/text/quote.ts";

const nonEmpty = z.string().min(1, "must not be empty");
/** Empty, or what may begin a podman container name (docs/agent.md, "Whose containers"). */
const CONTAINER_PREFIX_RE = /^(?:[a-z0-9][a-z0-9_.-]{0,31})?$/;

/** Why `prefix` cannot be a [runtime] container_prefix, or undefined when it can. */
export function containerPrefixProblem(prefix: string): string | undefined {
  if (CONTAINER_PREFIX_RE.test(prefix)) return undefined;
  return `${quote(prefix)} is not a container name prefix: empty, or up to 32 of a-z 0-9 _ . - starting with a letter or digit (e.g. "a1b2c3-")`;
}
const ZONE_RE = /^(?=.{1,253}$)[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?(\.[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)*$/;

const proxySchema = z
  .object({
    /** The file the agent writes its route table into; HAProxy loads it with a second -f. */
    config_file: z.string().default("/etc/haproxy/mcp-routes.cfg"),
    /** HAProxy's master CLI (-S): the agent reloads through it and reads what is loaded. */
    master_socket: z.string().default("/run/haproxy-master.sock"),
    /** The haproxy binary, for `haproxy -c` of a new table before it is swapped in. */
    haproxy: z.string().default("haproxy"),
    /** Address the routes' frontends bind ("::" for every IPv4 and IPv6 address). */
    bind_address: z.string().default("0.0.0.0"),
    /** l7 certificate (PEM: certificate chain then key); {service} and {hostname} are replaced. */
    cert_path: z.string().default("/srv/mc-proxy/certs/{service}.pem"),
    /** How long HAProxy waits for a connection to a container; also the pause between retries. */
    connect_timeout: duration("250ms"),
    /** How long a request may wait for a restarting container (retried every connect_timeout) before it fails. */
    retry_window: duration("15s"),
    /** true: a deploy fails when HAProxy cannot take its routes; false: it succeeds with a warning and reconciliation retries. */
    required: z.boolean().default(true),
  })
  .strict();

/** "192.0.2.1:53" or "[2001:db8::1]:53": what a resolver can be pointed at. */
function dnsServerAddress(v: string): boolean {
  const m = /^(?:\[([0-9a-fA-F:.]+)\]|([0-9.]+)):(\d{1,5})$/.exec(v);
  if (!m || Number(m[3]) < 1 || Number(m[3]) > 65535) return false;
  return m[1] ? isIP(m[1]) === 6 : isIP(m[2]!) === 4;
}

const dnsSchema = z
  .object({
    /** Only "powerdns" today; the driver interface (agent/dns/driver.ts) leaves room for RFC 2136. */
    driver: z.enum(["powerdns"]).default("powerdns"),
    /** PowerDNS's HTTP API (webserver-address/webserver-port). */
    api_url: z.string().url().default("http://127.0.0.1:8081"),
    /** A file holding PowerDNS's api-key (one line, mode 0600). */
    api_key_file: nonEmpty,
    /** PowerDNS's server id. */
    server_id: z.string().default("localhost"),
    /** The zone on the DNS server that records go into; default [node] zone. Names outside it get no record. */
    zone: z.string().default(""),
    /** The node's addresses: IPv4 ones become A records, IPv6 ones AAAA. */
    addresses: z.array(z.string().ip()).min(1, "must name at least one address of this node"),
    ttl: z.number().int().min(1).max(86400).default(60),
    /** CA of an https api_url whose certificate is not publicly trusted. */
    ca_cert: z.string().default(""),
    /** true: a deploy fails when the DNS server cannot take its records; false: warning and retries. */
    required: z.boolean().default(true),
    /** "address:port" of the DNS server answering for the zone, asked by Status; default: api_url's host (an address), port 53; "off": not asked. */
    server: z
      .string()
      .default("")
      .refine((v) => v === "" || v === "off" || dnsServerAddress(v), 'must be "address:port" (an IPv6 address in brackets, e.g. "[::1]:53") or "off"'),
  })
  .strict();

export const agentConfigSchema = z
  .object({
    server: z
      .object({
        listen_addr: listenAddr,
        tls_cert: nonEmpty,
        tls_key: nonEmpty,
        /** A joined node's certificate: renewed from the registry at two thirds of its life, served without a restart. */
        renew_cert: z.boolean().default(false),
        shutdown_timeout: duration("30s"),
        /** TLS handshake and (HTTP/1.1) request headers must arrive within this. */
        read_timeout: duration("30s"),
        /** A request's body must arrive within this; responses (Logs, Events, Deploy streams) are not limited. */
        request_timeout: duration("60s"),
        /** Connections with no request in flight are closed after this. */
        idle_timeout: duration("120s"),
        ...serverLimits({ maxConnections: 256, maxConnectionsPerAddress: 64 }),
        /** Follows (Logs with follow, Events) one account may hold open at once. */
        max_streams_per_account: z.number().int().positive().default(32),
      })
      .strict(),
    database: z.object({ path: nonEmpty }).strict(),
    mcias: z
      .object({
        /** The identity server that validates callers' tokens (usually mcr's embedded one). */
        server_url: z.string().default(""),
        ca_cert: z.string().default(""),
        service_name: z.string().default("mcp-agent"),
      })
      .strict()
      .default({}),
    auth: z
      .object({
        disabled: z.boolean().default(false),
        /** How often the policy rules are fetched from the registry (with the [registry] account); 0 = only at start. */
        policy_refresh: duration("30s"),
      })
      .strict()
      .default({}),
    node: z
      .object({
        name: z.string().default(hostname()),
        /** Services are named <service>.svc.<zone> on the proxy and in DNS; required with [proxy] or [dns]. */
        zone: z.string().default(""),
      })
      .strict()
      .default({}),
    runtime: z
      .object({
        podman: z.string().default("podman"),
        /** podman's API socket when the operator runs one (podman.socket); empty: the agent runs `podman system service` on its own. */
        socket: z.string().default(""),
        /** containers.conf for every podman call (CONTAINERS_CONF); empty: podman's own lookup. */
        containers_conf: z.string().default(""),
        /** storage.conf for every podman call (CONTAINERS_STORAGE_CONF); empty: podman's own lookup. */
        storage_conf: z.string().default(""),
        reconcile_interval: duration("30s"),
        /** Seconds podman waits after SIGTERM before SIGKILL on stop. */
        stop_timeout: z.number().int().nonnegative().default(10),
        /** How long a new container must stay up before a deploy calls it started. */
        start_grace: duration("1s"),
        /** Host address published ports bind to (the node's proxy, HAProxy, runs on the node). */
        publish_address: z.string().default("127.0.0.1"),
        /** Network for components that do not name one; empty: podman's default. */
        default_network: z.string().default(""),
        /** Put before every container name (`<prefix><service>-<component>`) so that agents sharing a podman never want the same name. */
        container_prefix: z.string().default(""),
      })
      .strict()
      .default({}),
    registry: z
      .object({
        /** host:port of mcr; convention-derived images are <host>/<service>[-<component>]:<version>. */
        host: z.string().default(""),
        /** The platform CA that signed mcr's certificate. */
        ca_cert: z.string().default(""),
        username: z.string().default(""),
        /** File holding the password (one line, mode 0600). */
        password_file: z.string().default(""),
      })
      .strict()
      .default({}),
    ports: z
      .object({
        range_start: z.number().int().min(1024).max(65535).default(10000),
        range_end: z.number().int().min(1024).max(65535).default(60000),
      })
      .strict()
      .default({}),
    storage: z
      .object({
        /** Default volume of a service: <root>/<service> (or <root>/<service>-<env> with SMEP) mounted at /srv/<service>. */
        root: z.string().default("/srv"),
        /** Host paths volumes may use; empty: only under root (and mount_root for NFS). */
        allowed_volume_roots: z.array(z.string()).default([]),
        /** NFS exports mount at <mount_root>/<service>-<env>. */
        mount_root: z.string().default("/mnt"),
        /** NFS mount options before the definition's own (NFSv4, hard mounts). */
        nfs_options: z.string().default("nfsvers=4.2,hard,timeo=600,retrans=2"),
        mount_command: z.string().default("mount"),
        umount_command: z.string().default("umount"),
        /** Node-level NFS exports by `<service>-<env>`, used when the definition names none. */
        nfs_exports: z.record(z.string()).default({}),
        /** When set, a systemd .mount unit for each NFS mount is written here (e.g. /etc/systemd/system). */
        mount_units_dir: z.string().default(""),
      })
      .strict()
      .default({}),
    placement: z
      .object({
        /** SMEP sheet name; empty: no SMEP (ports from [ports], containers as the agent's podman). */
        sheet: z.string().default(""),
        /** Overrides the sheet name's hash (1-9). */
        sheet_number: z.number().int().min(0).max(9).default(0),
        /** rootless: each service-environment's own user runs its podman; rootful: the agent's podman with --user UID:GID. */
        isolation: z.enum(["rootless", "rootful"]).default("rootless"),
        /** Homes of the service users (local disk: their podman storage lives there). */
        home_root: z.string().default("/var/lib/mcp-services"),
        /** Reserve SMEP ports that fall in the kernel's ephemeral range (ip_local_reserved_ports). */
        reserve_ephemeral_ports: z.boolean().default(false),
      })
      .strict()
      .default({}),
    /** Routes through HAProxy (docs/routing.md); absent: no routes are programmed. */
    proxy: proxySchema.optional(),
    /** Records through PowerDNS (docs/routing.md); absent: no records are written. */
    dns: dnsSchema.optional(),
    log: z.object({ level: logLevel }).strict().default({}),
  })
  .strict()
  .superRefine((cfg, ctx) => {
    if (!cfg.auth.disabled && !cfg.mcias.server_url) {
      ctx.addIssue({ code: "custom", path: ["mcias", "server_url"], message: "is required to validate callers' tokens (or set [auth] disabled = true)" });
    }
    if (cfg.ports.range_end <= cfg.ports.range_start) ctx.addIssue({ code: "custom", path: ["ports", "range_end"], message: "must be above range_start" });
    for (const section of ["proxy", "dns"] as const) {
      if (cfg[section] && !cfg.node.zone)
        ctx.addIssue({ code: "custom", path: ["node", "zone"], message: `is required with [${section}] (services are named <service>.svc.<zone>)` });
    }
    if (cfg.node.zone && !ZONE_RE.test(cfg.node.zone))
      ctx.addIssue({ code: "custom", path: ["node", "zone"], message: `${JSON.stringify(cfg.node.zone)} is not a DNS name like "example.net"` });
    if (cfg.dns?.zone && !ZONE_RE.test(cfg.dns.zone))
      ctx.addIssue({ code: "custom", path: ["dns", "zone"], message: `${JSON.stringify(cfg.dns.zone)} is not a DNS name like "example.net"` });
    const prefixProblem = containerPrefixProblem(cfg.runtime.container_prefix);
    if (prefixProblem) ctx.addIssue({ code: "custom", path: ["runtime", "container_prefix"], message: prefixProblem });
    if (cfg.registry.username && !cfg.registry.password_file)
      ctx.addIssue({ code: "custom", path: ["registry", "password_file"], message: "is required with [registry] username" });
  });
