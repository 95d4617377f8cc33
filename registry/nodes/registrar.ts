// Nodes join the platform (docs/nodes.md): an admin registers a node and gets a one-time join
// token; the node sends the token with a certificate request for a key it made, and gets a
// certificate from the node signer and a registry account of its own (a system account that
// may pull, by a policy rule made for it). A joined node renews its certificate with that
// account. Removing a node revokes its certificates, disables its account (its tokens stop
// working at once) and deletes its rule; its containers are not touched.
import { readFileSync } from "node:fs";
import { isIP } from "node:net";
import { NAME_RE } from "../../lib/services/definition.ts";
import type { Claims } from "../../lib/auth/types.ts";
import type { Logger } from "../../lib/log/logger.ts";
import { joinSecretHash, newJoinToken, parseJoinToken } from "../../lib/nodes/join-token.ts";
import { certDigest, checkNodeRequest, issueNodeCert } from "../../lib/tls/node-certs.ts";
import type { AuditLog } from "../audit/audit-log.ts";
import type { AccountStore } from "../identity/accounts.ts";
import { generatePassword } from "../identity/passwords.ts";
import type { PolicyStore } from "../policy/store.ts";
import type { NodeRecord, NodeStore } from "./store.ts";

/** A refusal, with the HTTP status / RPC code it maps to. */
export class NodeError extends Error {
  override name = "NodeError";
  constructor(
    readonly kind: "invalid" | "unauthenticated" | "denied" | "not_found" | "exists" | "unavailable",
    message: string,
  ) {
    super(message);
  }
}

export const MAX_TOKEN_TTL_MS = 7 * 86_400_000;
export const DEFAULT_TOKEN_TTL_MS = 3_600_000;
const HOST_RE = /^(?=.{1,253}$)[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?(\.[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)*$/;

export interface NodeRegistrarOptions {
  store: NodeStore;
  /** The embedded identity's accounts; absent with an external identity server (joining is then off). */
  accounts?: AccountStore;
  policies: PolicyStore;
  audit: AuditLog;
  log: Logger;
  /** [nodes] signer_cert / signer_key ("" = joining off) and ca_cert; read at each use, so a renewed signer counts at once. */
  signerCert: string;
  signerKey: string;
  caCert: string;
  certLifetimeMs: number;
  now?: () => Date;
}

export interface JoinAnswer {
  node: NodeRecord;
  certificate: string;
  ca: string;
  certExpiresAt: string;
  account: { username: string; password: string };
}

export const nodeAccount = (node: string) => `node-${node}`;

export class NodeRegistrar {
  private readonly now: () => Date;
  constructor(private readonly o: NodeRegistrarOptions) {
    this.now = o.now ?? (() => new Date());
  }

  /** The platform CA certificate (public): what a join token's digest pins. */
  caPem(): string {
    try {
      return readFileSync(this.o.caCert, "utf8");
    } catch (err) {
      throw new NodeError("unavailable", `the platform CA certificate ${this.o.caCert} cannot be read: ${(err as Error).message}`);
    }
  }

  private signer() {
    if (!this.o.signerCert)
      throw new NodeError("unavailable", "joining is off on this registry: [nodes] signer_cert and signer_key are not set (`mcr cert renew` makes the signer)");
    if (!this.o.accounts)
      throw new NodeError(
        "unavailable",
        "joining needs the registry's own accounts: with an external identity server ([mcias] server_url), nodes cannot be given one",
      );
    try {
      return { certPem: readFileSync(this.o.signerCert, "utf8"), keyPem: readFileSync(this.o.signerKey, "utf8") };
    } catch (err) {
      throw new NodeError("unavailable", `the node signer cannot be read: ${(err as Error).message}`);
    }
  }

  async add(req: { name: string; url?: string; hostnames?: string[]; expiresMs?: number }, actor: string): Promise<{ node: NodeRecord; token: string }> {
    this.signer();
    const name = req.name;
    if (!NAME_RE.test(name) || name.length > 58)
      throw new NodeError("invalid", `node name ${JSON.stringify(name.slice(0, 64))} must match [a-z0-9][a-z0-9_.-]* (at most 58 characters)`);
    const url = normalUrl(req.url || `https://${name}:9444`);
    const hostnames = [...new Set([new URL(url).hostname.replace(/^\[|\]$/g, ""), ...(req.hostnames ?? [])])];
    for (const h of hostnames)
      if (!isIP(h) && !HOST_RE.test(h)) throw new NodeError("invalid", `${JSON.stringify(h.slice(0, 64))} is neither a host name nor an IP address`);
    const ttl = req.expiresMs || DEFAULT_TOKEN_TTL_MS;
    if (ttl < 1000 || ttl > MAX_TOKEN_TTL_MS) throw new NodeError("invalid", "a join token lives from 1 second to 7 days");
    const { token, secretHash } = newJoinToken(certDigest(this.caPem()));
    const expiresAt = new Date(this.now().getTime() + ttl).toISOString();
    if (!(await this.o.store.addPending({ name, url, hostnames, secretHash, expiresAt, createdBy: actor }))) {
      throw new NodeError("exists", `node ${name} has joined already: \`mcp node remove ${name}\` first to make it join again`);
    }
    this.o.audit.record({ type: "node_added", actor, details: { node: name, url, token_expires_at: expiresAt } });
    return { node: (await this.o.store.get(name))!, token };
  }

  async list(): Promise<{ nodes: NodeRecord[]; revoked: string[] }> {
    return { nodes: await this.o.store.list(), revoked: await this.o.store.revokedSerials(this.now()) };
  }

  async remove(name: string, actor: string): Promise<{ node: NodeRecord; revoked: string[] }> {
    const removed = await this.o.store.remove(name);
    if (!removed) throw new NodeError("not_found", `no node ${JSON.stringify(name.slice(0, 64))}`);
    const { node } = removed;
    if (node.accountId && this.o.accounts) {
      const account = await this.o.accounts.byId(node.accountId);
      if (account && !account.disabled) await this.o.accounts.setDisabled(account.username, true);
    }
    if (node.policyRuleId !== null) await this.o.policies.delete(node.policyRuleId, actor);
    this.o.audit.record({ type: "node_removed", actor, details: { node: name, revoked: String(removed.revoked.length) } });
    this.o.log.info({ node: name, revoked: removed.revoked.length }, "node removed");
    return removed;
  }

  async join(req: { token: string; csr: string }, ip: string): Promise<JoinAnswer> {
    const signer = this.signer();
    const accounts = this.o.accounts!;
    let parsed: ReturnType<typeof parseJoinToken>;
    try {
      parsed = parseJoinToken(req.token);
    } catch (err) {
      throw new NodeError("invalid", (err as Error).message);
    }
    const ca = this.caPem();
    if (parsed.caDigest !== certDigest(ca)) throw new NodeError("unauthenticated", "this join token was made for another platform CA");
    await checkOrThrow(req.csr);
    const taken = await this.o.store.takeToken(joinSecretHash(parsed.secret), this.now());
    if (taken === "unknown")
      throw new NodeError("unauthenticated", "this join token is unknown or has been used: a token works once (`mcp node add` makes a new one)");
    if (taken === "expired") throw new NodeError("unauthenticated", "this join token has expired (`mcp node add` with the node's name makes a new one)");
    const username = nodeAccount(taken.name);
    const password = generatePassword();
    let account = await accounts.byUsername(username);
    if (account) {
      await accounts.setPassword(username, password);
      account = await accounts.setDisabled(username, false);
    } else account = await accounts.create(username, password, "system", ["user"]);
    const rule = await this.o.policies.create(
      { priority: 10, description: `node ${taken.name} pulls`, effect: "allow", actions: ["registry:pull"], subjectUUID: account.id },
      account.id,
    );
    const cert = await this.sign(signer, taken, req.csr);
    await this.o.store.markJoined(taken.name, account.id, rule.id);
    this.o.audit.record({ type: "node_joined", actor: account.id, ip, details: { node: taken.name, serial: cert.serial, expires_at: cert.expiresAt } });
    this.o.log.info({ node: taken.name, serial: cert.serial, expires_at: cert.expiresAt }, "node joined");
    return { node: (await this.o.store.get(taken.name))!, certificate: cert.chain, ca, certExpiresAt: cert.expiresAt, account: { username, password } };
  }

  /** A new certificate for the joined node whose account `caller` is. */
  async renew(caller: Claims, csr: string): Promise<{ certificate: string; certExpiresAt: string; node: string }> {
    const signer = this.signer();
    const node = await this.o.store.byAccount(caller.subject);
    if (!node) throw new NodeError("denied", `${caller.username} is not a joined node's account: only a node renews its own certificate`);
    await checkOrThrow(csr);
    const cert = await this.sign(signer, node, csr);
    this.o.log.info({ node: node.name, serial: cert.serial, expires_at: cert.expiresAt }, "node certificate renewed");
    return { certificate: cert.chain, certExpiresAt: cert.expiresAt, node: node.name };
  }

  private async sign(signer: { certPem: string; keyPem: string }, node: NodeRecord, csr: string) {
    const issuedAt = this.now();
    let issued: Awaited<ReturnType<typeof issueNodeCert>>;
    try {
      issued = await issueNodeCert(signer, csr, node.name, node.hostnames, this.o.certLifetimeMs, issuedAt.getTime());
    } catch (err) {
      throw new NodeError("unavailable", (err as Error).message);
    }
    await this.o.store.recordCert(node.name, issued.serial, issuedAt, issued.notAfter);
    return { chain: issued.chainPem, serial: issued.serial, expiresAt: issued.notAfter.toISOString() };
  }
}

async function checkOrThrow(csr: string): Promise<void> {
  if (typeof csr !== "string" || csr.length > 16_384) throw new NodeError("invalid", "csr must be a PEM certificate request of at most 16 KiB");
  try {
    await checkNodeRequest(csr);
  } catch (err) {
    throw new NodeError("invalid", (err as Error).message);
  }
}

function normalUrl(text: string): string {
  let u: URL;
  try {
    u = new URL(text);
  } catch {
    throw new NodeError("invalid", `url ${JSON.stringify(text.slice(0, 200))} is not a URL (https://host:port)`);
  }
  if (u.protocol !== "https:" || u.pathname !== "/" || u.search || u.username)
    throw new NodeError("invalid", `url ${JSON.stringify(text.slice(0, 200))} must be https://host:port (the agent's address)`);
  return `https://${u.host}`;
}
