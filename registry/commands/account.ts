// `mcr account add|list|passwd|disable|enable|role`: manage the embedded
// identity service's accounts directly in the registry database (run on the registry host).
import type { Kysely } from "kysely";
import { AuditLog } from "../audit/audit-log.ts";
import { loadRegistryConfig } from "../config.ts";
import { openRegistryDb } from "../db/open.ts";
import type { RegistryDatabase } from "../db/schema.ts";
import { AccountStore, type Account } from "../identity/accounts.ts";
import { generatePassword } from "../identity/passwords.ts";
import { silentLogger } from "../../lib/log/logger.ts";

export async function withAccounts<T>(configPath: string, fn: (accounts: AccountStore, audit: AuditLog) => Promise<T>): Promise<T> {
  const cfg = loadRegistryConfig(configPath);
  if (cfg.mcias.server_url) throw new Error(`accounts live on the external identity server ${cfg.mcias.server_url}, not in this registry`);
  const { db } = await openRegistryDb(cfg.database);
  const audit = new AuditLog(db as Kysely<RegistryDatabase>, silentLogger());
  try {
    return await fn(new AccountStore(db), audit);
  } finally {
    await audit.flush();
    await db.destroy();
  }
}

export function formatAccounts(list: Account[]): string {
  const rows = list.map((a) => [a.username, a.accountType, a.roles.join(","), a.disabled ? "disabled" : "active", a.id]);
  const head = ["USERNAME", "TYPE", "ROLES", "STATE", "ID"];
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  return (
    [head, ...rows]
      .map((r) =>
        r
          .map((c, i) => c.padEnd(widths[i]!))
          .join("  ")
          .trimEnd(),
      )
      .join("\n") + "\n"
  );
}

/** Reads a password from stdin when it is not a TTY (`echo pw | mcr account passwd x --stdin`). */
export async function readStdinPassword(): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const c of process.stdin) chunks.push(c as Buffer);
  return Buffer.concat(chunks)
    .toString("utf8")
    .replace(/\r?\n$/, "");
}

export { generatePassword };
