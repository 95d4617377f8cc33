// A read that meets a container's process as it exits: podman answers 500 "read
// /proc/<pid>/cgroup: no such process" (met in CI while a failing deploy's container died).
// The runtime asks such a read again; anything else, and every write, fails at once.
import assert from "node:assert/strict";
import { test } from "node:test";
import { PodmanApiRuntime } from "../../../agent/runtime/podman-api.ts";
import type { PodmanCli } from "../../../agent/runtime/podman-cli.ts";
import type { PodmanClient } from "../../../agent/runtime/podman-client.ts";
import { RuntimeError } from "../../../agent/runtime/runtime.ts";

const EXITING = (call: string) => new RuntimeError(`${call} failed (HTTP 500): read /proc/11565/cgroup: no such process`, ["podman.sock"], 500, "");
const INSPECT = { Id: "abc", Name: "hello-api-next", Config: { Labels: {}, Image: "i" }, ImageName: "i", State: { Status: "exited", ExitCode: 1 } };

/** A podman whose first `failures` answers to each call are `error(call)`. */
function podman(failures: number, error = EXITING) {
  const calls: string[] = [];
  const client = {
    async call(method: string, path: string) {
      const call = `${method} ${path}`;
      calls.push(call);
      if (calls.filter((c) => c === call).length <= failures) throw error(call);
      return method === "GET" ? INSPECT : undefined;
    },
  } as unknown as PodmanClient;
  return { runtime: new PodmanApiRuntime(client, {} as PodmanCli), calls };
}

test("a read that met an exiting process is asked again and answers", async () => {
  const { runtime, calls } = podman(2);
  const info = await runtime.inspect("hello-api-next");
  assert.equal(info.state, "exited");
  assert.equal(calls.length, 3);
});

test("a read that keeps meeting it gives up after four more asks, with podman's words", async () => {
  const { runtime, calls } = podman(99);
  await assert.rejects(runtime.inspect("hello-api-next"), /HTTP 500\): read \/proc\/11565\/cgroup: no such process/);
  assert.equal(calls.length, 5);
});

test("writes and other errors are not asked again", async () => {
  const write = podman(1);
  await assert.rejects(write.runtime.start("hello-api-next"), /no such process/);
  assert.equal(write.calls.length, 1);
  const other = podman(1, (call) => new RuntimeError(`${call} failed (HTTP 500): database is locked`, ["podman.sock"], 500, ""));
  await assert.rejects(other.runtime.inspect("hello-api-next"), /database is locked/);
  assert.equal(other.calls.length, 1);
});
