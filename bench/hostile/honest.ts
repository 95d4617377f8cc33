// The honest client, from 127.0.0.1 in the runner's process: three loops that work until
// stopped (a 20 ms breath between requests), timing every request:
// - mcr OCI, four times a second (each push and pull writes audit rows, and the database's
//   growth is one of the figures): upload a small blob (POST + PUT), push a manifest that
//   references it, pull the manifest and the blob back and compare them;
// - mcr admin RPCs: PolicyService/ListRules and RegistryService/ListRepositories;
// - agent RPCs over one HTTP/2 connection: Health, List and Status of a synced service;
// - once a second, a call on a connection of its own (mcr ListRules, agent List), as a
//   console or podman starting up makes: a newcomer must be served too;
// - the control, once a second: `podman ps` run by the bench itself on the agent's storage.
//   Every agent RPC runs podman, so this says how much of the agent's latency is podman's
//   (and the machine's) rather than the agent's.
// Every request must succeed; anything else (a status, a timeout, a wrong body) is an error.
import { execFile } from "node:child_process";
import { createHash, randomBytes } from "node:crypto";
import { connect as h2Connect, type SecureClientSessionOptions } from "node:http2";
import { Agent, request as httpsRequest } from "node:https";
import { promisify } from "node:util";
import { createClient, type Client } from "@connectrpc/connect";
import { createConnectTransport, Http2SessionManager } from "@connectrpc/connect-node";
import { AgentService } from "../../proto/gen/mcp/agent/v1/agent_pb.ts";

export interface Sample {
  /** "podman": the control, podman run by the bench itself on the agent's storage. */
  daemon: "mcr" | "agent" | "podman";
  what: string;
  /** When the request started (Date.now()). */
  at: number;
  ms: number;
  error?: string;
}

export interface HonestOptions {
  mcrPort: number;
  agentUrl: string;
  ca: string;
  /** Tokens of the admin account: for mcr (service mcr) and for the agent (service mcp-agent). */
  mcrToken: string;
  agentToken: string;
  /** A service synced to the agent, for Status. */
  service: string;
  /** The agent's podman environment: `podman ps` with it, timed, is the control for the agent's figures. */
  podmanEnv: NodeJS.ProcessEnv;
}

const run = promisify(execFile);
const REPO = "bench/honest";
const OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json";
const PAUSE_MS = 20;
const OCI_EVERY_MS = 250;
const TIMEOUT_MS = 10_000;

const digestOf = (b: Buffer) => `sha256:${createHash("sha256").update(b).digest("hex")}`;
const descriptor = (mediaType: string, b: Buffer) => ({ mediaType, digest: digestOf(b), size: b.length });

interface Answer {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: Buffer;
}

export class HonestClient {
  readonly samples: Sample[] = [];
  private running = false;
  private loops: Promise<void>[] = [];
  private readonly http: Agent;
  private readonly agent: Client<typeof AgentService>;
  private readonly sessions: Http2SessionManager;
  private readonly config = Buffer.from(JSON.stringify({ architecture: "amd64", os: "linux", rootfs: { type: "layers", diff_ids: [] } }));
  private readonly layer = randomBytes(4096);
  private readonly manifest: Buffer;

  constructor(private readonly o: HonestOptions) {
    this.http = new Agent({ ca: o.ca, keepAlive: true, maxSockets: 4, localAddress: "127.0.0.1" });
    // localAddress reaches net.connect through http2.connect; the types leave it out.
    this.sessions = new Http2SessionManager(o.agentUrl, { pingIntervalMs: 10_000 }, { ca: o.ca, localAddress: "127.0.0.1" } as SecureClientSessionOptions);
    this.agent = createClient(AgentService, createConnectTransport({ baseUrl: o.agentUrl, httpVersion: "2", sessionManager: this.sessions }));
    this.manifest = Buffer.from(
      JSON.stringify({
        schemaVersion: 2,
        mediaType: OCI_MANIFEST,
        config: descriptor("application/vnd.oci.image.config.v1+json", this.config),
        layers: [descriptor("application/vnd.oci.image.layer.v1.tar", this.layer)],
      }),
    );
  }

  private mcr(method: string, path: string, headers: Record<string, string | number> = {}, body?: Buffer | string): Promise<Answer> {
    return new Promise((resolve, reject) => {
      const req = httpsRequest(
        {
          host: "localhost",
          port: this.o.mcrPort,
          method,
          path,
          agent: this.http,
          timeout: TIMEOUT_MS,
          headers: { authorization: `Bearer ${this.o.mcrToken}`, ...headers },
        },
        (res) => {
          const chunks: Buffer[] = [];
          res.on("data", (c: Buffer) => chunks.push(c));
          res.on("error", reject);
          res.on("end", () => resolve({ status: res.statusCode!, headers: res.headers, body: Buffer.concat(chunks) }));
        },
      );
      req.on("timeout", () => req.destroy(new Error(`no answer in ${TIMEOUT_MS} ms`)));
      req.on("error", reject);
      req.end(body);
    });
  }

  /** Runs `fn` as one timed request; a throw is an honest error. */
  private async timed<T>(daemon: Sample["daemon"], what: string, fn: () => Promise<T>): Promise<T | undefined> {
    const at = Date.now();
    const t0 = performance.now();
    try {
      const v = await fn();
      this.samples.push({ daemon, what, at, ms: performance.now() - t0 });
      return v;
    } catch (err) {
      this.samples.push({ daemon, what, at, ms: performance.now() - t0, error: (err as Error).message.slice(0, 200) });
      return undefined;
    }
  }

  private async expect(method: string, path: string, status: number, headers: Record<string, string | number> = {}, body?: Buffer | string): Promise<Answer> {
    const a = await this.mcr(method, path, headers, body);
    if (a.status !== status) throw new Error(`${method} ${path.split("?")[0]}: HTTP ${a.status} ${a.body.toString().slice(0, 120)}`);
    return a;
  }

  private async pushBlob(blob: Buffer): Promise<void> {
    const started = await this.timed("mcr", "blob upload start", () => this.expect("POST", `/v2/${REPO}/blobs/uploads/`, 202, { "content-length": 0 }));
    if (!started) return;
    const location = new URL(String(started.headers.location), `https://localhost:${this.o.mcrPort}`);
    location.searchParams.set("digest", digestOf(blob));
    await this.timed("mcr", "blob upload", () =>
      this.expect("PUT", location.pathname + location.search, 201, { "content-type": "application/octet-stream", "content-length": blob.length }, blob),
    );
  }

  private async ociCycle(): Promise<void> {
    await this.pushBlob(this.layer);
    await this.timed("mcr", "manifest push", () =>
      this.expect("PUT", `/v2/${REPO}/manifests/honest`, 201, { "content-type": OCI_MANIFEST, "content-length": this.manifest.length }, this.manifest),
    );
    await this.timed("mcr", "manifest pull", async () => {
      const a = await this.expect("GET", `/v2/${REPO}/manifests/honest`, 200, { accept: OCI_MANIFEST });
      if (!a.body.equals(this.manifest)) throw new Error("manifest pull: not the manifest pushed");
    });
    await this.timed("mcr", "blob pull", async () => {
      const a = await this.expect("GET", `/v2/${REPO}/blobs/${digestOf(this.layer)}`, 200);
      if (!a.body.equals(this.layer)) throw new Error("blob pull: not the blob pushed");
    });
  }

  private async rpcCycle(): Promise<void> {
    for (const rpc of ["mcr.v1.PolicyService/ListRules", "mcr.v1.RegistryService/ListRepositories"]) {
      await this.timed("mcr", rpc.split(".").pop()!, () => this.expect("POST", `/${rpc}`, 200, { "content-type": "application/json" }, "{}"));
      await pause();
    }
  }

  private async agentCycle(): Promise<void> {
    const auth = { headers: { Authorization: `Bearer ${this.o.agentToken}` }, timeoutMs: TIMEOUT_MS };
    await this.timed("agent", "Health", async () => {
      if ((await this.agent.health({}, auth)).status !== "ok") throw new Error("Health: not ok");
    });
    await pause();
    await this.timed("agent", "List", () => this.agent.list({}, auth));
    await pause();
    await this.timed("agent", "Status", async () => {
      if ((await this.agent.status({ service: this.o.service }, auth)).service !== this.o.service) throw new Error("Status: another service");
    });
  }

  /** One authenticated call on a new connection, closed afterwards: mcr ListRules, then agent List. */
  private async freshCycle(): Promise<void> {
    await this.timed("mcr", "ListRules, new connection", async () => {
      const a = await new Promise<number>((resolve, reject) => {
        const req = httpsRequest(
          {
            host: "localhost",
            port: this.o.mcrPort,
            method: "POST",
            path: "/mcr.v1.PolicyService/ListRules",
            agent: false,
            ca: this.o.ca,
            localAddress: "127.0.0.1",
            timeout: TIMEOUT_MS,
            headers: { authorization: `Bearer ${this.o.mcrToken}`, "content-type": "application/json", connection: "close" },
          },
          (res) => res.resume().on("end", () => resolve(res.statusCode!)),
        );
        req.on("timeout", () => req.destroy(new Error(`no answer in ${TIMEOUT_MS} ms`)));
        req.on("error", reject);
        req.end("{}");
      });
      if (a !== 200) throw new Error(`ListRules on a new connection: HTTP ${a}`);
    });
    await pause();
    await this.timed("agent", "List, new connection", () => agentCallOnNewConnection(this.o, "List"));
  }

  private async podmanControl(): Promise<void> {
    await this.timed("podman", "podman ps (control)", () => run("podman", ["ps", "-a", "--format", "json"], { env: this.o.podmanEnv, timeout: TIMEOUT_MS }));
  }

  /** The config blob every manifest refers to, once. */
  async prepare(): Promise<void> {
    await this.pushBlob(this.config);
    this.samples.length = 0;
  }

  start(): void {
    this.running = true;
    const loop = async (cycle: () => Promise<void>, everyMs = 0) => {
      while (this.running) {
        const t0 = Date.now();
        await cycle();
        await new Promise((r) => setTimeout(r, Math.max(PAUSE_MS, everyMs - (Date.now() - t0))));
      }
    };
    this.loops = [
      loop(() => this.ociCycle(), OCI_EVERY_MS),
      loop(() => this.rpcCycle()),
      loop(() => this.agentCycle()),
      loop(() => this.freshCycle(), 1_000),
      loop(() => this.podmanControl(), 1_000),
    ];
  }

  /** Stops after the requests in flight; bounded by their timeouts. */
  async stop(): Promise<void> {
    this.running = false;
    await Promise.all(this.loops);
  }

  /** Closes its connections, so that the daemons need not wait for them when they stop. */
  close(): void {
    this.http.destroy();
    this.sessions.abort();
  }
}

const pause = () => new Promise((r) => setTimeout(r, PAUSE_MS));

/** A unary Connect call (JSON, empty request) on an HTTP/2 connection opened for it and closed after. */
function agentCallOnNewConnection(o: HonestOptions, method: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const session = h2Connect(o.agentUrl, { ca: o.ca, localAddress: "127.0.0.1" } as SecureClientSessionOptions);
    const timer = setTimeout(() => fail(new Error(`no answer in ${TIMEOUT_MS} ms`)), TIMEOUT_MS);
    const fail = (err: Error) => {
      clearTimeout(timer);
      session.destroy();
      reject(err);
    };
    session.on("error", fail);
    const stream = session.request({
      ":method": "POST",
      ":path": `/mcp.agent.v1.AgentService/${method}`,
      "content-type": "application/json",
      authorization: `Bearer ${o.agentToken}`,
    });
    stream.on("error", fail);
    stream.on("response", (h) => {
      stream.resume();
      stream.on("end", () => {
        clearTimeout(timer);
        session.close();
        if (h[":status"] === 200) resolve();
        else reject(new Error(`${method} on a new connection: HTTP ${h[":status"]}`));
      });
    });
    stream.end("{}");
  });
}
