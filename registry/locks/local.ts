// The registry's locks in one process's memory: the embedded default (SQLite, one mcr).
import { KeyedLock } from "../../lib/sync/keyed-lock.ts";
import { RwLock } from "../../lib/sync/rw-lock.ts";
import type { RegistryLocks } from "./types.ts";

export function localLocks(): RegistryLocks {
  let collecting = false;
  return {
    uploads: new KeyedLock(),
    digests: new KeyedLock(),
    commits: new RwLock(),
    gcRun: {
      async tryAcquire() {
        if (collecting) return undefined;
        collecting = true;
        return async () => {
          collecting = false;
        };
      },
    },
    async close() {},
  };
}
