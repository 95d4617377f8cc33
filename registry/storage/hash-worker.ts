// Running digests of uploads, computed on a worker thread.
//
// SHA-256 of an upload body was the largest single cost on the thread that serves every
// request: 28% of its time during a TLS push, more than decryption (docs/performance.md,
// push). Here the hash state lives in a worker: the upload path hands it each filled buffer
// (shared memory, read in place, see aligned-buffers.ts) and goes on receiving the body while
// the worker hashes on the other core. Messages to one worker are handled in the order they
// were sent, so a hash sees its buffers in file order.
//
// If the worker dies, every hash it held is lost: their pending and later calls reject, and
// `alive` turns false so that the owner rebuilds the state from the file.
import { Worker } from "node:worker_threads";
import type { DigestAlgorithm } from "./digest.ts";

// Plain CommonJS, evaluated in the worker: the bundled binaries carry no separate worker file.
const WORKER = `
const { parentPort } = require("node:worker_threads");
const { createHash } = require("node:crypto");
const hashes = new Map();
parentPort.on("message", (m) => {
  let value;
  try {
    if (m.op === "start") hashes.set(m.id, createHash(m.algorithm));
    else if (m.op === "drop") hashes.delete(m.id);
    else {
      const h = hashes.get(m.id);
      if (h === undefined) throw new Error("no hash " + m.id + " in the worker");
      if (m.op === "update") h.update(m.data);
      else value = h.copy().digest("hex");
    }
    if (m.req !== undefined) parentPort.postMessage({ req: m.req, value });
  } catch (err) {
    if (m.req !== undefined) parentPort.postMessage({ req: m.req, error: String((err && err.message) || err) });
  }
});
`;

interface Pending {
  resolve: (value: string | undefined) => void;
  reject: (err: Error) => void;
}

class HashThread {
  private readonly worker = new Worker(WORKER, { eval: true });
  private readonly pending = new Map<number, Pending>();
  private nextReq = 1;
  nextId = 1;
  dead: Error | undefined;

  constructor(onDeath: () => void) {
    this.worker.unref();
    this.worker.on("message", (m: { req: number; value?: string; error?: string }) => {
      const p = this.pending.get(m.req);
      if (!p) return;
      this.pending.delete(m.req);
      if (this.pending.size === 0) this.worker.unref();
      if (m.error !== undefined) p.reject(new Error(`hashing: ${m.error}`));
      else p.resolve(m.value);
    });
    const die = (err: Error) => {
      if (this.dead) return;
      this.dead = err;
      onDeath();
      for (const p of this.pending.values()) p.reject(err);
      this.pending.clear();
    };
    this.worker.on("error", (err) => die(new Error(`the hash worker failed: ${err.message}`)));
    this.worker.on("exit", (code) => die(new Error(`the hash worker exited (code ${code}); upload hash states were lost`)));
  }

  post(message: object, transfer: ArrayBuffer[] = []): void {
    this.worker.postMessage(message, transfer);
  }

  request(message: object, transfer: ArrayBuffer[] = []): Promise<string | undefined> {
    if (this.dead) return Promise.reject(this.dead);
    const req = this.nextReq++;
    return new Promise((resolve, reject) => {
      // Referenced while an answer is awaited, so a command-line run does not exit under it.
      if (this.pending.size === 0) this.worker.ref();
      this.pending.set(req, { resolve, reject });
      this.worker.postMessage({ ...message, req }, transfer);
    });
  }

  terminate(): Promise<number> {
    return this.worker.terminate();
  }
}

let thread: HashThread | undefined;

function current(): HashThread {
  thread ??= new HashThread(() => {
    thread = undefined;
  });
  return thread;
}

/** Stops the worker (tests; a server just exits). Hashes it held are lost. */
export async function stopHashWorker(): Promise<void> {
  const t = thread;
  thread = undefined;
  await t?.terminate();
}

export class OffThreadHash {
  private constructor(
    private readonly thread: HashThread,
    private readonly id: number,
  ) {}

  static create(algorithm: DigestAlgorithm): OffThreadHash {
    const t = current();
    const hash = new OffThreadHash(t, t.nextId++);
    t.post({ op: "start", id: hash.id, algorithm });
    return hash;
  }

  /** False once the worker holding the state has died: the owner must rebuild it. */
  get alive(): boolean {
    return this.thread.dead === undefined;
  }

  /**
   * Adds `data`. A view of a SharedArrayBuffer is read in place: the caller must not change
   * those bytes until the promise settles. Any other data is copied first.
   */
  update(data: Uint8Array): Promise<void> {
    if (data.buffer instanceof SharedArrayBuffer) return this.thread.request({ op: "update", id: this.id, data }).then(() => undefined);
    // Uint8Array's slice copies (Buffer's would share the memory, and the transfer below would
    // then take the caller's buffer, or Node's shared pool, away).
    const copy = Uint8Array.prototype.slice.call(data);
    return this.thread.request({ op: "update", id: this.id, data: copy }, [copy.buffer]).then(() => undefined);
  }

  /** The hex digest of everything added so far; the hash can still be added to. */
  async digest(): Promise<string> {
    return (await this.thread.request({ op: "digest", id: this.id })) as string;
  }

  /** Frees the state in the worker. */
  dispose(): void {
    if (this.alive) this.thread.post({ op: "drop", id: this.id });
  }
}
