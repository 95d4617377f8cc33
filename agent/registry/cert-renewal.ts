// A joined node renews its own certificate (docs/nodes.md): at two thirds of the current
// certificate's life the agent makes a new key, sends a request with its registry account's
// token, writes the new pair and serves it for new connections (setSecureContext): no restart,
// and connections already open keep going. A failed attempt is tried again at a twentieth of
// the lifetime (1 s to 5 min). The new pair is written as .new files and renamed key first,
// so a crash in between is finished at the next start (completeRenewal).
import { X509Certificate } from "node:crypto";
import { existsSync, readFileSync, renameSync } from "node:fs";
import type { Logger } from "../../lib/log/logger.ts";
import { writeFileAtomic } from "../../lib/fs/atomic.ts";
import { createNodeRequest } from "../../lib/tls/node-certs.ts";
import type { McrSession } from "./mcr-session.ts";
import { answerJson, httpsCall } from "./node-http.ts";

const MAX_TIMER_MS = 86_400_000;

/** Finishes a renewal that a crash cut between its two renames. */
export function completeRenewal(certPath: string, keyPath: string): void {
  if (existsSync(`${keyPath}.new`)) renameSync(`${keyPath}.new`, keyPath);
  if (existsSync(`${certPath}.new`)) renameSync(`${certPath}.new`, certPath);
}

/** The validity of the first certificate of a PEM chain. */
export function validity(pem: string): { from: number; to: number } {
  const cert = new X509Certificate(pem);
  return { from: Date.parse(cert.validFrom), to: Date.parse(cert.validTo) };
}

export interface CertRenewalOptions {
  certPath: string;
  keyPath: string;
  /** https://host:port of mcr. */
  registryUrl: string;
  registryCa: string | null;
  session: McrSession;
  /** Serves the new pair for new connections. */
  apply: (cert: Buffer, key: Buffer) => void;
  log: Logger;
  now?: () => number;
}

export class CertRenewal {
  private timer: NodeJS.Timeout | undefined;
  private stopped = false;
  private readonly now: () => number;
  /** Renewals done since start (for tests and logs). */
  renewals = 0;

  constructor(private readonly o: CertRenewalOptions) {
    this.now = o.now ?? Date.now;
  }

  start(): void {
    this.schedule(this.dueIn());
  }

  stop(): void {
    this.stopped = true;
    clearTimeout(this.timer);
  }

  /** Milliseconds until two thirds of the current certificate's life. */
  private dueIn(): number {
    const { from, to } = validity(readFileSync(this.o.certPath, "utf8"));
    return Math.max(0, from + ((to - from) * 2) / 3 - this.now());
  }

  private schedule(ms: number): void {
    if (this.stopped) return;
    clearTimeout(this.timer);
    this.timer = setTimeout(() => void this.due(ms > MAX_TIMER_MS), Math.min(ms, MAX_TIMER_MS));
    this.timer.unref();
  }

  private async due(early: boolean): Promise<void> {
    if (early) return this.schedule(this.dueIn());
    const { to } = validity(readFileSync(this.o.certPath, "utf8"));
    try {
      await this.renewNow();
      // Never at once again: a certificate cut short to its signer's expiry is due as soon as it comes.
      this.schedule(Math.max(this.dueIn(), this.retryMs()));
    } catch (err) {
      const retry = this.retryMs();
      this.o.log.warn(
        { err: (err as Error).message, expires_at: new Date(to).toISOString(), retry_ms: retry },
        "cannot renew the node certificate; trying again",
      );
      this.schedule(retry);
    }
  }

  /** A twentieth of the current certificate's validity, from 1 s to 5 min. */
  private retryMs(): number {
    const { from, to } = validity(readFileSync(this.o.certPath, "utf8"));
    return Math.min(300_000, Math.max(1000, (to - from) / 20));
  }

  /** One renewal: a new key and certificate, written and served. */
  async renewNow(): Promise<void> {
    const request = await createNodeRequest("mcp-agent");
    const token = await this.o.session.token();
    const answer = await httpsCall(`${this.o.registryUrl}/v1/nodes/renew`, { method: "POST", ca: this.o.registryCa, token, body: { csr: request.csrPem } });
    if (answer.status === 401) this.o.session.tokenRefused(token);
    const doc = answerJson<{ certificate: string; cert_expires_at: string }>(answer, "renewing the node certificate");
    if (this.stopped) return;
    writeFileAtomic(`${this.o.keyPath}.new`, request.keyPem, 0o600);
    writeFileAtomic(`${this.o.certPath}.new`, doc.certificate, 0o644);
    completeRenewal(this.o.certPath, this.o.keyPath);
    this.o.apply(Buffer.from(doc.certificate), Buffer.from(request.keyPem));
    this.renewals++;
    this.o.log.info({ expires_at: doc.cert_expires_at }, "node certificate renewed");
  }
}
