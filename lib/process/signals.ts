// SIGTERM/SIGINT → graceful shutdown → exit; a second signal while stopping is ignored.
import type { Logger } from "../log/logger.ts";

export function exitOnSignals(running: { shutdown(): Promise<void> }, log: Logger): void {
  let stopping = false;
  const stop = (signal: string) => {
    if (stopping) return;
    stopping = true;
    log.info({ signal }, "shutting down");
    running.shutdown().then(
      () => process.exit(0),
      (err) => {
        log.error({ err }, "shutdown failed");
        process.exit(1);
      },
    );
  };
  process.on("SIGTERM", () => stop("SIGTERM"));
  process.on("SIGINT", () => stop("SIGINT"));
}
