// An in-memory Runtime for unit tests of the agent's logic: containers are
// records, "start" fails for images listed in `failingImages`.
import type { ContainerInfo, ContainerSpec, LogLine, PullOptions, Runtime, RuntimeEvent } from "../../agent/runtime/runtime.ts";
import { ImageNotFoundError, NoSuchContainerError } from "../../agent/runtime/runtime.ts";

interface FakeContainer {
  spec: ContainerSpec;
  info: ContainerInfo;
}

export class FakeRuntime implements Runtime {
  readonly containers = new Map<string, FakeContainer>();
  readonly calls: string[] = [];
  readonly images = new Set<string>();
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
    this.images.add(image);
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
    return [...this.containers.values()].filter((c) => Object.entries(labels).every(([k, v]) => c.info.labels[k] === v)).map((c) => structuredClone(c.info));
  }
  async hasImage(image: string) {
    return this.images.has(image);
  }
  async *logs(name: string): AsyncIterable<LogLine> {
    this.get(name);
    yield { stream: "stderr", line: "fake: exiting" };
  }
  async *events(): AsyncIterable<RuntimeEvent> {}
  /** Simulates something outside the agent killing or removing a container. */
  kill(name: string) {
    const c = this.get(name);
    c.info.state = "exited";
    c.info.exitCode = 137;
  }
}
