import { createHash } from "node:crypto";
// An in-memory Runtime for unit tests of the agent's logic: containers are
// records, "start" fails for images listed in `failingImages`.
import type {
  ContainerInfo,
  ContainerSpec,
  ContainerStats,
  ExecOptions,
  ExecOutput,
  ExecSession,
  ImageInfo,
  LogLine,
  PullOptions,
  Runtime,
  RuntimeEvent,
} from "../../agent/runtime/runtime.ts";
import { ImageNotFoundError, NoSuchContainerError } from "../../agent/runtime/runtime.ts";

interface FakeContainer {
  spec: ContainerSpec;
  info: ContainerInfo;
}

export class FakeRuntime implements Runtime {
  readonly containers = new Map<string, FakeContainer>();
  readonly calls: string[] = [];
  readonly storedImages = new Set<string>();
  /** Images whose containers exit right after start. */
  readonly failingImages = new Set<string>();
  private seq = 0;

  async version() {
    return "4.3.1-fake";
  }
  async login() {
    this.calls.push("login");
  }
  async pull(image: string, _opts?: PullOptions) {
    this.calls.push(`pull ${image}`);
    if (image.includes("missing"))
      throw new ImageNotFoundError(`podman pull ${image} failed (exit 125): manifest unknown`, ["pull", image], 125, "manifest unknown");
    this.storedImages.add(image);
  }
  private make(spec: ContainerSpec): FakeContainer {
    if (this.containers.has(spec.name)) throw new Error(`container name ${spec.name} is already in use`);
    const c: FakeContainer = {
      spec,
      info: {
        id: `id${++this.seq}`,
        name: spec.name,
        image: spec.image,
        state: "created",
        labels: { ...spec.labels },
        ports: [],
        version: spec.image.split(":").pop() ?? "",
        details: {
          imageId: `img-${spec.image}`,
          imageDigest: `sha256:${Buffer.from(spec.image).toString("hex").padEnd(64, "0").slice(0, 64)}`,
          createdAt: new Date().toISOString(),
          finishedAt: "",
          entrypoint: [],
          cmd: [...spec.cmd],
          user: spec.user ?? "",
          workingDir: "/",
          restartPolicy: spec.restart ?? "no",
          network: spec.network ?? "podman",
          mounts: spec.volumes.map((v) => {
            const [source = "", destination = "", options = ""] = v.split(":");
            const opts = options ? options.split(",") : [];
            return { type: "bind", source, destination, options: ["rbind", ...opts], readWrite: !opts.includes("ro") };
          }),
        },
      },
    };
    this.containers.set(spec.name, c);
    return c;
  }
  async create(spec: ContainerSpec) {
    this.calls.push(`create ${spec.name}`);
    return this.make(spec).info.id;
  }
  async run(spec: ContainerSpec) {
    this.calls.push(`run ${spec.name}`);
    const c = this.make(spec);
    await this.start(spec.name);
    return c.info.id;
  }
  private get(name: string): FakeContainer {
    const c = this.containers.get(name);
    if (!c) throw new NoSuchContainerError(`no such container ${name}`, [], 125, "no such container");
    return c;
  }
  async start(name: string) {
    this.calls.push(`start ${name}`);
    const c = this.get(name);
    if (this.failingImages.has(c.info.image)) {
      c.info.state = "exited";
      c.info.exitCode = 1;
    } else {
      c.info.state = "running";
      c.info.startedAt = new Date().toISOString();
    }
  }
  async stop(name: string) {
    this.calls.push(`stop ${name}`);
    const c = this.get(name);
    c.info.state = "exited";
    c.info.exitCode = 0;
  }
  async remove(name: string) {
    this.calls.push(`remove ${name}`);
    this.get(name);
    this.containers.delete(name);
  }
  async rename(from: string, to: string) {
    this.calls.push(`rename ${from} ${to}`);
    const c = this.get(from);
    this.containers.delete(from);
    c.info.name = to;
    c.spec = { ...c.spec, name: to };
    this.containers.set(to, c);
  }
  async inspect(name: string) {
    return structuredClone(this.get(name).info);
  }
  async list(labels: Record<string, string> = {}) {
    // As podman's list: no inspect details.
    return [...this.containers.values()]
      .filter((c) => Object.entries(labels).every(([k, v]) => c.info.labels[k] === v))
      .map(({ info: { details: _inspectOnly, ...listed } }) => structuredClone(listed));
  }
  async imageDigest(image: string) {
    if (!this.storedImages.has(image)) return undefined;
    const repo = image.replace(/:[^:/@]+$/, "").replace(/@.*$/, "");
    return `${repo}@sha256:${createHash("sha256").update(image).digest("hex")}`;
  }

  async hasImage(image: string) {
    return this.storedImages.has(image);
  }
  async *logs(name: string): AsyncIterable<LogLine> {
    this.get(name);
    yield { stream: "stderr", line: "fake: exiting" };
  }
  async *events(): AsyncIterable<RuntimeEvent> {}
  /** CPU % that stats() reports per container name (0 when absent). */
  readonly cpu = new Map<string, number>();
  /** Fake exec: `echo …` prints its arguments, `exit N` exits N, `cat` echoes stdin until EOF. */
  async exec(name: string, opts: ExecOptions): Promise<ExecSession> {
    this.calls.push(`exec ${name} ${opts.cmd.join(" ")}`);
    const c = this.get(name);
    if (c.info.state !== "running") throw new Error(`container ${name} is not running`);
    const [cmd = "", ...args] = opts.cmd;
    const out: ExecOutput[] = [];
    let code = 0;
    if (cmd === "echo") out.push({ stream: "stdout", data: Buffer.from(`${args.join(" ")}\n`) });
    else if (cmd === "exit") code = Number(args[0] ?? 0);
    else if (cmd !== "cat") {
      out.push({ stream: opts.tty ? "stdout" : "stderr", data: Buffer.from(`${cmd}: not found\n`) });
      code = 127;
    }
    const input: Uint8Array[] = [];
    let ended = cmd !== "cat";
    let wake: (() => void) | undefined;
    const sizes: Array<[number, number]> = [];
    return {
      write: (data) => {
        input.push(data);
        wake?.();
      },
      endInput: () => {
        ended = true;
        wake?.();
      },
      output: (async function* () {
        yield* out;
        for (;;) {
          while (input.length) yield { stream: "stdout" as const, data: input.shift()! };
          if (ended) return;
          await new Promise<void>((r) => (wake = r));
        }
      })(),
      resize: async (rows, cols) => {
        sizes.push([rows, cols]);
      },
      exitCode: async () => code,
      close: () => {
        ended = true;
        wake?.();
      },
    };
  }
  async stats(): Promise<ContainerStats[]> {
    return [...this.containers.values()]
      .filter((c) => c.info.state === "running")
      .map((c) => ({
        id: c.info.id,
        name: c.info.name,
        cpuPercent: this.cpu.get(c.info.name) ?? 0,
        memUsedBytes: 1 << 20,
        memLimitBytes: 1 << 30,
        netInBytes: 0,
        netOutBytes: 0,
        blockInBytes: 0,
        blockOutBytes: 0,
        pids: 1,
      }));
  }
  /** When each image arrived (images() reports it as created). */
  readonly imageCreated = new Map<string, string>();
  async images(): Promise<ImageInfo[]> {
    return [...this.storedImages].map((name) => ({
      id: `img-${name}`,
      names: [name],
      created: this.imageCreated.get(name) ?? "2026-01-01T00:00:00.000Z",
      sizeBytes: 1000,
      containers: [...this.containers.values()].filter((c) => c.info.image === name).length,
    }));
  }
  async removeImage(id: string) {
    this.calls.push(`rmi ${id}`);
    const name = [...this.storedImages].find((n) => `img-${n}` === id);
    if (!name) throw new ImageNotFoundError(`no such image ${id}`, [], 125, "image not known");
    if ([...this.containers.values()].some((c) => c.info.image === name)) throw new Error(`image ${id} is in use by a container`);
    this.storedImages.delete(name);
  }
  /** Simulates something outside the agent killing or removing a container. */
  kill(name: string) {
    const c = this.get(name);
    c.info.state = "exited";
    c.info.exitCode = 137;
  }
}
