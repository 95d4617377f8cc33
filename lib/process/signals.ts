// SIGTERM/SIGINT → graceful shutdown → exit; a second signal while stopping is ignored.
// Called by each daemon once it serves, which is also when systemd (Type=notify) is told
// that it is ready: units that order themselves after it start only then.
import type { Logger } from "../log/logger.ts";
import { sdNotify } from "./sd-notify.ts";

export function exitOnSignals(running: { shutdown(): Promise<void> }, log: Logger, status = "serving"): void {
  let stopping = false;
  const stop = (signal: string) => {
    if (stopping) return;
    stopping = true;
    log.info({ signal }, "shutting down");
    void sdNotify({ STOPPING: "1", STATUS: "draining" }, log);
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
  void sdNotify({ READY: "1", STATUS: status }, log);
}
