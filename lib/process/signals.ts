// SIGTERM/SIGINT → graceful shutdown → exit; a second signal while stopping is ignored.
// A daemon may hand over its start while it is still starting: a signal then waits for the
// start and shuts down what it started (the agent's start spawns podman, and a SIGTERM in
// that moment must not find Node's default action). systemd (Type=notify) is told that the
// daemon is ready once it serves: units that order themselves after it start only then.
import type { Logger } from "../log/logger.ts";
import { sdNotify } from "./sd-notify.ts";

type Running = { shutdown(): Promise<void> };

export function exitOnSignals(running: Running | Promise<Running>, log: Logger, status = "serving"): void {
  let stopping = false;
  const stop = (signal: string) => {
    if (stopping) return;
    stopping = true;
    log.info({ signal }, "shutting down");
    void sdNotify({ STOPPING: "1", STATUS: "draining" }, log);
    Promise.resolve(running)
      .then((r) => r.shutdown())
      .then(
        () => process.exit(0),
        (err) => {
          log.error({ err }, "shutdown failed");
          process.exit(1);
        },
      );
  };
  process.on("SIGTERM", () => stop("SIGTERM"));
  process.on("SIGINT", () => stop("SIGINT"));
  Promise.resolve(running).then(
    () => void sdNotify({ READY: "1", STATUS: status }, log),
    () => undefined, // the caller reports a failed start
  );
}
