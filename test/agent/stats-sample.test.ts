// Stats shares podman's answer: asks within SAMPLE_MS of it, and asks while it is taken, get
// the same sample; a change the agent made through that podman, a failure, or a runtime that
// counts no changes make the next ask go to podman.
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import type { HandlerContext } from "@connectrpc/connect";
import type { Ownership } from "../../agent/controller/ownership.ts";
import { LABELS } from "../../agent/controller/plan.ts";
import type { Access } from "../../agent/rpc/access.ts";
import { SAMPLE_MS, StatsReader } from "../../agent/rpc/stats.ts";
import type { ContainerSpec, Runtime } from "../../agent/runtime/runtime.ts";
import { silentLogger } from "../../lib/log/logger.ts";
import { FakeRuntime } from "../helpers/fake-runtime.ts";

/** A FakeRuntime that counts podman calls and, when `counted`, the changes made through it (as PodmanApiRuntime does). */
class CountingRuntime extends FakeRuntime {
  asks = 0;
  lists = 0;
  moves = 0;
  failNext = false;
  gate: Promise<void> | null = null;
  constructor(counted: boolean) {
    super();
    if (!counted) (this as { changes?: unknown }).changes = undefined;
  }
  changes(): number {
    return this.moves;
  }
  override async run(spec: ContainerSpec) {
    this.moves++;
    const r = await super.run(spec);
    this.moves++;
    return r;
  }
  override async stats() {
    this.asks++;
    await this.gate;
    if (this.failNext) {
      this.failNext = false;
      throw new Error("podman: stats failed");
    }
    return super.stats();
  }
  override async list(labels: Record<string, string> = {}) {
    this.lists++;
    return super.list(labels);
  }
}

const spec = (name: string): ContainerSpec => ({
  name,
  image: "reg.local/app:1",
  ports: [],
  volumes: [],
  cmd: [],
  labels: { [LABELS.managed]: "true", [LABELS.service]: "shop", [LABELS.component]: name },
});

const ctx = {} as HandlerContext;
const access = { check() {}, may: () => true } as unknown as Access;
// As the agent's: only containers with its labels (the real one also checks its id).
const ownership = {
  mine: async <T extends { labels: Record<string, string> }>(l: readonly T[]) => l.filter((m) => m.labels[LABELS.managed] === "true"),
} as unknown as Ownership;

async function reader(counted = true) {
  const rt = new CountingRuntime(counted);
  await rt.run(spec("api"));
  let now = 1_000_000;
  const r = new StatsReader({ runtimes: async () => [rt as Runtime], ownership, access, log: silentLogger(), now: () => now });
  const names = async () => (await r.read("", ctx)).containers!.map((c) => c.container);
  return { rt, names, tick: (ms: number) => (now += ms) };
}

describe("Stats: podman's answer as a shared sample", () => {
  test(`asks within ${SAMPLE_MS} ms share one podman call; the next one after that asks again`, async () => {
    const { rt, names, tick } = await reader();
    for (let i = 0; i < 4; i++) assert.deepEqual(await names(), ["api"]), tick(200);
    assert.equal(rt.asks, 1, "four asks within 800 ms");
    tick(SAMPLE_MS - 800);
    await names();
    assert.equal(rt.asks, 2, "at SAMPLE_MS the sample is too old");
    assert.equal(rt.lists, 1, "the labels of a known id are not listed again");
  });

  test("a change the agent made through that podman is seen at the next ask", async () => {
    const { rt, names, tick } = await reader();
    await names();
    await rt.run(spec("web"));
    tick(10);
    assert.deepEqual(await names(), ["api", "web"]);
    assert.equal(rt.asks, 2);
  });

  test("asks while podman answers share that answer, also from a runtime that counts no changes", async () => {
    const { rt, names } = await reader(false);
    let open!: () => void;
    rt.gate = new Promise((r) => (open = r));
    const asked = [names(), names(), names()];
    open();
    assert.deepEqual(await Promise.all(asked), [["api"], ["api"], ["api"]]);
    assert.equal(rt.asks, 1);
    await names();
    assert.equal(rt.asks, 2, "without a change count, an answer is never reused once given");
  });

  test("a failed ask is not kept: the next ask goes to podman", async () => {
    const { rt, names } = await reader();
    rt.failNext = true;
    await assert.rejects(names(), /stats failed/);
    assert.deepEqual(await names(), ["api"]);
    assert.equal(rt.asks, 2);
  });

  test("a new id's labels are listed once; a stray container is remembered as no managed one's and not listed again", async () => {
    const { rt, names, tick } = await reader();
    assert.deepEqual(await names(), ["api"]);
    const before = rt.lists;
    await rt.run(spec("web"));
    await rt.run({ ...spec("stray"), labels: {} });
    tick(10);
    assert.deepEqual(await names(), ["api", "web"]);
    assert.equal(rt.lists - before, 1, "podman's list, once, for the new ids");
    tick(SAMPLE_MS);
    await names();
    assert.equal(rt.lists - before, 1, "the stray container is remembered as no managed one's: not listed again");
  });
});
