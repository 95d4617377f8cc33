// What the registry's two slices (mcr.ts, mcr-streams.ts) share: the admin client, a patch
// of the store's `mcr` part, and the bookkeeping of each area's last failure.
import { mcrError, type McrAdmin } from "../clients/mcr-admin.ts";
import { ConsoleError } from "../output/errors.ts";
import type { McrData } from "./mcr-types.ts";
import type { GetState, SetState, StoreDeps } from "./state.ts";

export type McrArea = keyof McrData["errors"];

export interface McrKit {
  /** mcr's admin client; a usage error when the console config has no [registry] url. */
  client(): McrAdmin;
  patch(p: Partial<McrData> | ((m: McrData) => Partial<McrData>)): void;
  /** Runs `work`; a failure is converted, kept under `area` for the screens, and thrown. */
  guard<T>(area: McrArea, work: (c: McrAdmin) => Promise<T>): Promise<T>;
  get: GetState;
}

export function mcrKit(set: SetState, get: GetState, deps: StoreDeps): McrKit {
  const client = (): McrAdmin => {
    const c = deps.mcrAdmin?.();
    if (!c) throw new ConsoleError("usage", "no [registry] url in the console config: the registry commands need it");
    return c;
  };
  const patch: McrKit["patch"] = (p) => set((s) => ({ mcr: { ...s.mcr, ...(typeof p === "function" ? p(s.mcr) : p) } }));
  const guard = async <T>(area: McrArea, work: (c: McrAdmin) => Promise<T>): Promise<T> => {
    try {
      const r = await work(client());
      patch((m) => ({ errors: { ...m.errors, [area]: undefined } }));
      return r;
    } catch (err) {
      const e = mcrError(err);
      patch((m) => ({ errors: { ...m.errors, [area]: { code: e.code, message: e.message } } }));
      throw e;
    }
  };
  return { client, patch, guard, get };
}
