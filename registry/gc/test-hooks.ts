// A test hook for process-level tests (test/integration/gc-crash.test.ts): with
// METACIRCULAR_TEST_GC_PAUSE_AFTER_MARK=1 in its environment, a GC run stops for an hour
// between its mark and its sweep (and says so in the log), so a test can kill -9 the
// process there. Never set in production.
import type { Logger } from "../../lib/log/logger.ts";
import type { GcHooks } from "./collector.ts";

export function envGcHooks(log: Logger, env: NodeJS.ProcessEnv = process.env): GcHooks | undefined {
  if (env.METACIRCULAR_TEST_GC_PAUSE_AFTER_MARK !== "1") return undefined;
  return {
    async afterMark(marked) {
      log.warn({ blobs: marked.blobs.length, manifests: marked.manifests.length }, "gc test hook: paused after the mark phase");
      await new Promise((resolve) => setTimeout(resolve, 3_600_000));
    },
  };
}
