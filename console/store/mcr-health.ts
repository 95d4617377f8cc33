// The registry's own state: its readiness (AdminService/Health: its database and its blob
// store, the bucket or the blob folder) and its integrity check (AdminService/Check: the
// database's integrity, blob rows against blob files, and blobs read back and hashed against
// their digests). Health needs no session; Check needs the admin role.
import { Code, ConnectError } from "@connectrpc/connect";
import { StorageHealthSchema } from "../../proto/gen/mcr/v1/admin_pb.ts";
import { ConsoleError } from "../output/errors.ts";
import type { McrKit } from "./mcr-kit.ts";
import { checkRow, type RegistryHealth } from "./mcr-types.ts";
import type { McrHealthActions, StoreDeps } from "./state.ts";
import { plain, samePlain } from "./wire.ts";

/**
 * What a failed Health call means: mcr answering that it is not ready (UNAVAILABLE with its
 * message, no transport error under it) is `unavailable`; anything else (refused, timed out,
 * TLS) is `unreachable`.
 */
function failedHealth(url: string, err: unknown): RegistryHealth {
  const ce = ConnectError.from(err);
  const answered = ce.code === Code.Unavailable && ce.cause === undefined;
  return { url, status: answered ? "unavailable" : "unreachable", version: "", database: "", storage: null, error: ce.rawMessage };
}

export function mcrHealthActions(kit: McrKit, deps: Pick<StoreDeps, "mcrAdmin">, timeoutMs: number): McrHealthActions {
  const { patch, guard, get } = kit;
  return {
    async registryHealth() {
      if (!deps.mcrAdmin) return null; // no [registry] url: no registry to ask
      const c = kit.client();
      let health: RegistryHealth;
      try {
        const r = await c.admin.health({}, c.call({ anonymous: true, timeoutMs }));
        health = {
          url: c.url,
          status: "ok",
          version: r.version,
          database: r.database,
          storage: r.storage ? plain(StorageHealthSchema, r.storage) : null,
          error: "",
        };
      } catch (err) {
        health = failedHealth(c.url, err);
      }
      // The same answer keeps the same object: the screens showing it are not drawn again.
      if (!samePlain(get().mcr.health, health)) patch({ health });
      return get().mcr.health;
    },

    async checkRegistry(verify, signal) {
      if (get().mcr.check.running) throw new ConsoleError("failed", "a check of the registry is already running: its result comes when it ends");
      patch((m) => ({ check: { ...m.check, running: true, verify, result: null } }));
      try {
        return await guard("check", async (c) => {
          const r = await c.admin.check({ verifyCount: typeof verify === "number" ? verify : 0, verifyAll: verify === "all" }, c.call({ long: true, signal }));
          const result = checkRow(r);
          patch({ check: { running: false, verify, result, endedAt: new Date().toISOString() } });
          return result;
        });
      } finally {
        if (get().mcr.check.running) patch((m) => ({ check: { ...m.check, running: false } }));
      }
    },
  };
}
