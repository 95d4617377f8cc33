// podman's version as Health reports it: /version (slow: podman runs conmon and the OCI
// runtime to ask theirs) once a minute and one ask at a time; a ping in between, so that a
// podman that stopped answering is still reported at once.
import assert from "node:assert/strict";
import { test } from "node:test";
import { PodmanApiRuntime } from "../../../agent/runtime/podman-api.ts";
import type { PodmanCli } from "../../../agent/runtime/podman-cli.ts";
import type { PodmanClient } from "../../../agent/runtime/podman-client.ts";
import { RuntimeError } from "../../../agent/runtime/runtime.ts";

function fakePodman() {
  const calls: string[] = [];
  let down = false;
  const client = {
    async call(method: string, path: string) {
      calls.push(`${method} ${path}`);
      await new Promise((r) => setTimeout(r, 10));
      if (down) throw new RuntimeError(`${method} ${path} failed: connect ECONNREFUSED`, ["podman.sock"], null, "");
      return path === "/version" ? { Version: "4.3.1" } : "OK";
    },
  } as unknown as PodmanClient;
  return { runtime: new PodmanApiRuntime(client, {} as PodmanCli), calls, stop: () => (down = true) };
}

test("version: asked of podman once for concurrent asks, then pings while it is known", async () => {
  const { runtime, calls, stop } = fakePodman();
  assert.deepEqual(await Promise.all([runtime.version(), runtime.version(), runtime.version()]), ["4.3.1", "4.3.1", "4.3.1"]);
  assert.deepEqual(calls, ["GET /version"]);
  assert.equal(await runtime.version(), "4.3.1");
  assert.equal(await runtime.version(), "4.3.1");
  assert.deepEqual(calls, ["GET /version", "GET /_ping", "GET /_ping"]);
  stop();
  await assert.rejects(runtime.version(), /_ping failed: connect ECONNREFUSED/, "a podman gone is said at once, not a minute later");
});

test("version: a failed ask is not kept; the next one asks again", async () => {
  const { runtime, calls, stop } = fakePodman();
  stop();
  await assert.rejects(runtime.version(), /version failed/);
  await assert.rejects(runtime.version(), /version failed/);
  assert.deepEqual(calls, ["GET /version", "GET /version"]);
});
