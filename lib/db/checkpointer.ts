// SQLite WAL checkpoints on a worker thread, off the server's event loop.
//
// better-sqlite3 is synchronous: with SQLite's automatic checkpoints, the commit that pushes the
// WAL past 1000 pages copies those pages into the database file and fsyncs both files before
// it returns, on the thread that serves every request. While the disk is busy (a garbage
// collection deleting thousands of files, a large push syncing) that stop lasted tens to
// hundreds of milliseconds and every request in the server waited for it (docs/performance.md,
// garbage collection). A server's connection therefore turns automatic checkpoints off and this
// worker, with its own connection to the same file, runs PASSIVE checkpoints: they never block
// the server's readers or its writer, and the WAL is cut back after each complete one.
import { createRequire } from "node:module";
import { Worker } from "node:worker_threads";

export interface CheckpointerOptions {
  /** Checkpoint once the WAL file is this large (bytes). */
  walBytes?: number;
  /** How often the worker looks at the WAL (ms). */
  intervalMs?: number;
  /** A WAL that changed but stays small is checkpointed after this long (ms). */
  idleMs?: number;
  onError?: (message: string) => void;
}

export interface Checkpointer {
  /** Stops the worker after its checkpoint in progress, if any. */
  stop(): Promise<void>;
}

/** The size the WAL is cut back to after a complete checkpoint (PRAGMA journal_size_limit). */
export const WAL_KEEP_BYTES = 1024 * 1024;

// Plain CommonJS, evaluated in the worker: the bundled binaries carry no separate worker file.
const WORKER = `
const { parentPort, workerData } = require("node:worker_threads");
const { statSync } = require("node:fs");
const SQLite = require(workerData.driver);
const db = new SQLite(workerData.path);
db.pragma("busy_timeout = 5000");
const wal = workerData.path + "-wal";
let seen = 0;
let last = Date.now();
let timer;
const tick = () => {
  let st;
  try {
    st = statSync(wal);
  } catch {}
  const changed = st !== undefined && st.mtimeMs !== seen;
  if (changed && (st.size >= workerData.walBytes || Date.now() - last >= workerData.idleMs)) {
    try {
      db.pragma("wal_checkpoint(PASSIVE)");
      seen = statSync(wal).mtimeMs;
      last = Date.now();
    } catch (err) {
      parentPort.postMessage({ error: String(err && err.message) });
    }
  }
  timer = setTimeout(tick, workerData.intervalMs);
};
timer = setTimeout(tick, workerData.intervalMs);
parentPort.on("message", () => {
  clearTimeout(timer);
  db.close();
  parentPort.close();
});
`;

/**
 * Starts the checkpoint worker for the database at `path`, whose connection the caller has set
 * to `wal_autocheckpoint = 0`. If the worker fails to start or dies, `onError` hears why and the
 * caller should turn automatic checkpoints back on.
 */
export function startCheckpointer(path: string, opts: CheckpointerOptions = {}): Checkpointer {
  const driver = createRequire(import.meta.url).resolve("better-sqlite3");
  const worker = new Worker(WORKER, {
    eval: true,
    workerData: { path, driver, walBytes: opts.walBytes ?? 4 * 1024 * 1024, intervalMs: opts.intervalMs ?? 250, idleMs: opts.idleMs ?? 5000 },
  });
  worker.unref();
  worker.on("message", (m: { error?: string }) => m.error && opts.onError?.(m.error));
  const exited = new Promise<void>((resolve) => worker.once("exit", () => resolve()));
  worker.on("error", (err) => opts.onError?.(err.message));
  return {
    async stop() {
      worker.ref(); // keep this process alive until the worker has closed its connection
      worker.postMessage("stop");
      await exited;
    },
  };
}
