// One mcp-agent server per state database: a second one with the same config would serve
// the same port and change the same containers while the first still drains. The lock is
// `<database>.lock` (lib/process/instance-lock.ts, as mcr's): taken before anything else
// starts, released when the process exits, and taken over when its process is gone.
import { dirname, resolve } from "node:path";
import { acquireInstanceLock, LockHeldError, type HeldLock } from "../lib/process/instance-lock.ts";

export const agentLockPath = (dbPath: string) => `${resolve(dbPath)}.lock`;

/** Takes the database's lock for this server until the process exits, or throws naming the pid that holds it. */
export function lockAgentDatabase(dbPath: string): HeldLock | undefined {
  if (dbPath === ":memory:") return undefined;
  let lock: HeldLock;
  try {
    lock = acquireInstanceLock(agentLockPath(dbPath), "server");
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "ENOENT")
      throw new Error(`cannot lock ${resolve(dbPath)}: its folder ${dirname(resolve(dbPath))} does not exist (mcp-agent init --dir makes it)`);
    if (!(err instanceof LockHeldError)) throw err;
    const h = err.holder;
    throw new Error(
      `another mcp-agent ${h.kind} (pid ${h.pid}, since ${h.startedAt}) is using ${resolve(dbPath)} (lock ${err.path}); stop it, or let it finish draining, before starting this one`,
    );
  }
  process.once("exit", () => lock.release());
  return lock;
}
