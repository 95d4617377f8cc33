// The translation between the Runtime interface and podman's API, without podman: port and
// volume syntax (and their errors), env files, the create spec, events, stats, images and
// the multiplexed stream's frames, split across chunks at every offset.
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import {
  apiEvent,
  bindMount,
  containerStats,
  FrameDecoder,
  imageInfo,
  parseEnvFile,
  portMapping,
  specGenerator,
} from "../../../agent/runtime/api-translate.ts";

describe("port mappings", () => {
  test("host:container, with an address, IPv6 in brackets, and a protocol", () => {
    assert.deepEqual(portMapping("8080:80"), { host_port: 8080, container_port: 80, protocol: "tcp" });
    assert.deepEqual(portMapping("127.0.0.1:8080:80/udp"), { host_ip: "127.0.0.1", host_port: 8080, container_port: 80, protocol: "udp" });
    assert.deepEqual(portMapping("[::1]:8443:443"), { host_ip: "::1", host_port: 8443, container_port: 443, protocol: "tcp" });
  });
  test("what is not a mapping is an error naming it", () => {
    for (const bad of ["80", "a:80", "8080:0", "1:2:3:4", "8080:-1", ""]) assert.throws(() => portMapping(bad), new RegExp(`port "${bad}" is not`));
  });
});

describe("bind mounts", () => {
  test("host:container and options", () => {
    assert.deepEqual(bindMount("/srv/a:/data"), { type: "bind", source: "/srv/a", destination: "/data", options: [] });
    assert.deepEqual(bindMount("/srv/a:/data:ro,Z"), { type: "bind", source: "/srv/a", destination: "/data", options: ["ro", "Z"] });
  });
  test("a relative path or a named volume is refused", () => {
    for (const bad of ["data:/data", "/srv:data", "/srv"]) assert.throws(() => bindMount(bad), /is not \/host\/path:\/container\/path/);
  });
});

test("env files: KEY=value lines, = in values kept, comments, blanks and bare keys skipped", () => {
  assert.deepEqual(parseEnvFile("A=1\n\n# note\nB=x=y\nBARE\n  # indented\nC=\n"), { A: "1", B: "x=y", C: "" });
});

test("a spec as podman's SpecGenerator", () => {
  const spec = {
    name: "t-hello-api",
    image: "localhost/hello:1",
    ports: ["127.0.0.1:18080:8080"],
    volumes: ["/srv/hello:/data:ro"],
    labels: { "mcp.managed": "true" },
    cmd: ["serve", "--port", "8080"],
    restart: "on-failure:3",
    network: "mcp",
    user: "1000:1000",
  };
  assert.deepEqual(specGenerator(spec, { K: "v" }), {
    name: "t-hello-api",
    image: "localhost/hello:1",
    labels: { "mcp.managed": "true" },
    portmappings: [{ host_ip: "127.0.0.1", host_port: 18080, container_port: 8080, protocol: "tcp" }],
    mounts: [{ type: "bind", source: "/srv/hello", destination: "/data", options: ["ro"] }],
    env: { K: "v" },
    restart_policy: "on-failure",
    restart_tries: 3,
    netns: { nsmode: "bridge" },
    networks: { mcp: {} },
    user: "1000:1000",
    command: ["serve", "--port", "8080"],
  });
  // No cmd: the image's own; host networking is a namespace mode, not a network.
  const plain = specGenerator({ ...spec, cmd: [], network: "host", restart: undefined, user: undefined }, {});
  assert.equal(plain.command, undefined);
  assert.deepEqual(plain.netns, { nsmode: "host" });
  assert.equal(plain.networks, undefined);
  assert.equal(plain.restart_policy, "no");
  assert.equal(plain.user, undefined);
});

test("events: a container's, with its labels apart from podman's attributes; others dropped", () => {
  const died = {
    Type: "container",
    Action: "died",
    Actor: { ID: "abc123", Attributes: { containerExitCode: "2", image: "localhost/hello:1", name: "t-hello-api", podId: "", "mcp.managed": "true" } },
    time: 1764979200,
    timeNano: 1764979200500000000,
  };
  assert.deepEqual(apiEvent(died), {
    time: "2025-12-06T00:00:00.500Z",
    action: "died",
    containerId: "abc123",
    containerName: "t-hello-api",
    image: "localhost/hello:1",
    labels: { "mcp.managed": "true" },
  });
  assert.equal(apiEvent({ Type: "image", Action: "pull", Actor: { ID: "x" } }), undefined);
  assert.equal(apiEvent({ Type: "container", Actor: { ID: "x" } }), undefined);
});

describe("stats", () => {
  const entry = {
    ContainerID: "c1",
    Name: "t-box",
    CPU: 12.5,
    CPUNano: 2_000_000_000,
    SystemNano: 10_000_000_000,
    MemUsage: 1024,
    MemLimit: 4096,
    NetInput: 1,
    NetOutput: 2,
    BlockInput: 3,
    BlockOutput: 4,
    PIDs: 5,
  };
  test("without an earlier sample: podman's figure", () => {
    assert.deepEqual(containerStats(entry, undefined), {
      id: "c1",
      name: "t-box",
      cpuPercent: 12.5,
      memUsedBytes: 1024,
      memLimitBytes: 4096,
      netInBytes: 1,
      netOutBytes: 2,
      blockInBytes: 3,
      blockOutBytes: 4,
      pids: 5,
    });
  });
  test("with one: the share of a core between the two samples", () => {
    // 0.5 s of CPU in 1 s of wall clock.
    assert.equal(containerStats(entry, { cpuNano: 1_500_000_000, systemNano: 9_000_000_000 }).cpuPercent, 50);
    // A restarted container (its counter went back) reads 0, not a negative figure.
    assert.equal(containerStats(entry, { cpuNano: 9_000_000_000, systemNano: 9_000_000_000 }).cpuPercent, 0);
    // The same clock twice: podman's own figure.
    assert.equal(containerStats(entry, { cpuNano: 0, systemNano: 10_000_000_000 }).cpuPercent, 12.5);
  });
  test("missing fields read as zero", () => {
    assert.equal(containerStats({ ContainerID: "c", Name: "n" }, undefined).memUsedBytes, 0);
  });
});

test("images: names without <none>, time from seconds", () => {
  assert.deepEqual(imageInfo({ Id: "sha", Names: ["localhost/a:1"], Created: 1764979200, Size: 10, Containers: 2 }), {
    id: "sha",
    names: ["localhost/a:1"],
    created: "2025-12-06T00:00:00.000Z",
    sizeBytes: 10,
    containers: 2,
  });
  assert.deepEqual(imageInfo({ Id: "d", Names: null, RepoTags: ["<none>:<none>"] }).names, []);
});

describe("multiplexed frames", () => {
  const frame = (stream: 1 | 2, text: string) => {
    const head = Buffer.alloc(8);
    head[0] = stream;
    head.writeUInt32BE(Buffer.byteLength(text), 4);
    return Buffer.concat([head, Buffer.from(text)]);
  };
  const wire = Buffer.concat([frame(1, "out\n"), frame(2, "err\n"), frame(1, ""), frame(1, "x".repeat(300))]);
  const decoded = (chunks: Buffer[]) => {
    const d = new FrameDecoder();
    return chunks.flatMap((c) => d.push(c)).map((f) => `${f.stream}:${f.data.toString()}`);
  };
  const whole = decoded([wire]);

  test("each frame with its stream", () => {
    assert.deepEqual(whole, ["stdout:out\n", "stderr:err\n", "stdout:", `stdout:${"x".repeat(300)}`]);
  });
  test("the same frames however the bytes are split", () => {
    for (let at = 1; at < wire.length; at++) assert.deepEqual(decoded([wire.subarray(0, at), wire.subarray(at)]), whole, `split at ${at}`);
    assert.deepEqual(decoded([...wire].map((b) => Buffer.from([b]))), whole, "one byte at a time");
  });
});
