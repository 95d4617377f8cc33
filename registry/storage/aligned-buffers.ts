// Buffers for upload bodies that two things read at once without a copy: the disk, through
// writes that bypass the page cache (O_DIRECT), and the hash worker (hash-worker.ts).
// - Linux takes direct writes only from memory aligned to the device's DMA alignment, and
//   Node's allocator promises no alignment. WebAssembly memory always starts on a page.
// - The hash worker reads them in place: the memory is shared (a SharedArrayBuffer).
// So the pool carves its buffers out of fixed-size shared WebAssembly memories ("slabs"),
// never grown: growing one would move every buffer already handed out.
const WASM_PAGE = 64 * 1024;

export class AlignedBufferPool {
  private readonly free: Buffer[] = [];

  /**
   * `size` is each buffer's length, a multiple of 64 KiB; a slab holds `perSlab` of them; at
   * most `keep` idle buffers are kept for reuse (slabs beyond that are left to the collector).
   */
  constructor(
    private readonly size: number,
    private readonly perSlab: number,
    private readonly keep: number,
  ) {
    if (size <= 0 || size % WASM_PAGE !== 0) throw new Error(`aligned buffer size ${size} is not a positive multiple of ${WASM_PAGE}`);
  }

  take(): Buffer {
    if (this.free.length === 0) {
      const pages = (this.size * this.perSlab) / WASM_PAGE;
      const memory = new WebAssembly.Memory({ initial: pages, maximum: pages, shared: true });
      for (let i = 0; i < this.perSlab; i++) this.free.push(Buffer.from(memory.buffer, i * this.size, this.size));
    }
    return this.free.pop()!;
  }

  give(buf: Buffer): void {
    if (this.free.length < this.keep) this.free.push(buf);
  }

  /** Idle buffers held (for tests). */
  get idle(): number {
    return this.free.length;
  }
}
