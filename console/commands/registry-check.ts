// `mcp registry check [--verify N|all]`: mcr's integrity check, through the running server
// (AdminService/Check; the admin role): the database's integrity check, blob rows against
// blob files both ways, and with --verify that many blobs chosen at random (or every one)
// read back from the store and hashed against their digests. It changes nothing. As `mcr
// check` does, it exits 1 when the integrity check fails, a row has no file or a blob does not
// match; files without a row alone are no problem (`mcp gc --reconcile` removes them).
import { ConsoleError } from "../output/errors.ts";
import type { VerifySample } from "../store/mcr-types.ts";
import { checkPending, checkProblems, checkProblemsSection, checkSummary, checkVerdict } from "../views/registry-health.ts";
import type { Context } from "./command.ts";
import { finite } from "./present.ts";

export async function registryCheck(ctx: Context, verify: VerifySample | null): Promise<number> {
  const store = ctx.store();
  const title = `check of ${ctx.config().registry.url}`;
  const work = async () => {
    try {
      return await store.getState().checkRegistry(verify, ctx.signal);
    } catch (err) {
      if (ctx.signal.aborted) throw new ConsoleError("failed", "interrupted: mcr finishes the check on its own (it changes nothing)");
      throw err;
    }
  };
  const r = await finite(
    ctx,
    work,
    (r) => r,
    (s, done) => {
      const r = s.mcr.check.result;
      return {
        sections: r ? [checkSummary(title, r), ...(checkProblems(r).length ? [checkProblemsSection(r)] : [])] : [],
        notes: r ? [checkVerdict(r)] : [],
        ...(done ? {} : { pending: checkPending(verify) }),
      };
    },
  );
  return r.ok ? 0 : 1;
}
