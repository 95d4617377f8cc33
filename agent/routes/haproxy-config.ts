// Translates the route table into an HAProxy 2.6 configuration file (docs/routing.md).
// One frontend per external port:
// - only l7 routes: an HTTP frontend terminating TLS 1.3 with each route's certificate,
//   choosing the backend by Host;
// - any l4 route: a TCP frontend choosing by SNI without decrypting; its l7 routes go on
//   to an HTTP frontend on an abstract socket (no path: it works inside HAProxy's chroot
//   and is handed to the new worker on reload like every listener).
// Every backend has one server, the component's published port, without health checks:
// while a container restarts, connections are refused and HAProxy retries them every
// connect_timeout for retry_window, so a redeploy does not fail requests.
// The last backend's name carries a digest of everything above it: that is how the agent
// sees, through the master CLI, which table the running HAProxy has loaded.
import { createHash } from "node:crypto";
import { sortTable, type RouteEntry } from "./table.ts";

export interface HaproxyOptions {
  bindAddress: string;
  connectTimeoutMs: number;
  /** How long a connection may be retried while a container restarts. */
  retryWindowMs: number;
}

export interface RenderedConfig {
  text: string;
  /** 16 hex digits of SHA-256 over the text before the marker. */
  digest: string;
}

export const MARKER_PREFIX = "mcp:table:";

/** Proxy names may hold letters, digits, '-', '_', '.' and ':'; ':' never occurs in service, component or route names. */
export const backendName = (e: Pick<RouteEntry, "service" | "component" | "route">) => `mcp:route:${e.service}:${e.component}:${e.route}`;

/** HAProxy retries after min(timeout connect, 1 s): that many retries cover the window. */
export function retriesFor(o: HaproxyOptions): number {
  return Math.max(3, Math.ceil(o.retryWindowMs / Math.max(1, Math.min(o.connectTimeoutMs, 1000))));
}

function bindAddr(address: string, port: number): string {
  return `${address}:${port}${address === "::" ? " v4v6" : ""}`;
}

function server(e: RouteEntry): string {
  const host = e.targetHost.includes(":") ? `ipv6@${e.targetHost}` : e.targetHost;
  return `  server target ${host}:${e.targetPort}`;
}

function httpFrontend(port: number, routes: RouteEntry[], bind: string): string[] {
  const certs = [...new Set(routes.map((r) => r.cert))];
  return [
    `frontend mcp:http:${port}`,
    "  mode http",
    `  bind ${bind} ssl ${certs.map((c) => `crt ${c}`).join(" ")} ssl-min-ver TLSv1.3 alpn h2,http/1.1`,
    "  option forwardfor",
    "  http-request set-header X-Forwarded-Proto https",
    // Host without its port, lower case; an unknown host gets HAProxy's 503.
    ...routes.map((r) => `  use_backend ${backendName(r)} if { req.hdr(host),field(1,:),lower -m str ${r.hostname} }`),
    "",
  ];
}

function backend(e: RouteEntry): string[] {
  const lines = [`backend ${backendName(e)}`, `  mode ${e.mode === "l7" ? "http" : "tcp"}`];
  // HTTP requests may also be retried when the old container closed without answering.
  if (e.mode === "l7") lines.push("  retry-on conn-failure empty-response response-timeout");
  lines.push(server(e), "");
  return lines;
}

export function renderHaproxyConfig(table: RouteEntry[], o: HaproxyOptions): RenderedConfig {
  const sorted = sortTable(table);
  const ports = [...new Set(sorted.map((e) => e.port))].sort((a, b) => a - b);
  const lines = [
    "# Written by mcp-agent from its route table; edits are overwritten (docs/routing.md).",
    "defaults",
    "  log global",
    "  mode tcp",
    `  timeout connect ${o.connectTimeoutMs}ms`,
    "  timeout client 60s",
    "  timeout server 60s",
    "  timeout tunnel 1h",
    "  timeout client-fin 5s",
    "  timeout http-request 10s",
    `  retries ${retriesFor(o)}`,
    "",
  ];
  for (const port of ports) {
    const here = sorted.filter((e) => e.port === port);
    const l4 = here.filter((e) => e.mode === "l4");
    const l7 = here.filter((e) => e.mode === "l7");
    if (l4.length === 0) {
      lines.push(...httpFrontend(port, l7, bindAddr(o.bindAddress, port)));
      continue;
    }
    const inner = `abns@mcp-http-${port}`;
    lines.push(
      `frontend mcp:tls:${port}`,
      "  mode tcp",
      `  bind ${bindAddr(o.bindAddress, port)}`,
      // Wait for the ClientHello to read SNI; an unknown name gets the connection closed.
      "  tcp-request inspect-delay 5s",
      "  tcp-request content accept if { req.ssl_hello_type 1 }",
      ...l4.map((e) => `  use_backend ${backendName(e)} if { req.ssl_sni -i ${e.hostname} }`),
      ...l7.map((e) => `  use_backend mcp:to-http:${port} if { req.ssl_sni -i ${e.hostname} }`),
      "",
    );
    if (l7.length) {
      lines.push(`backend mcp:to-http:${port}`, "  mode tcp", `  server inner ${inner} send-proxy-v2`, "");
      lines.push(...httpFrontend(port, l7, `${inner} accept-proxy`));
    }
  }
  for (const e of sorted) lines.push(...backend(e));
  const body = lines.join("\n");
  const digest = createHash("sha256").update(body).digest("hex").slice(0, 16);
  return { text: `${body}# The digest of the lines above; the agent reads it back through the master CLI.\nbackend ${MARKER_PREFIX}${digest}\n`, digest };
}

/** The digest of a rendered file, or undefined when the file is not one the agent wrote. */
export function digestOf(text: string): string | undefined {
  return new RegExp(`^backend ${MARKER_PREFIX}([0-9a-f]{16})$`, "m").exec(text)?.[1];
}
