// The parsers of podman 4.3's container JSON, against output captured from
// real podman 4.3.1 (fixtures/, trimmed to the fields that matter).
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, test } from "node:test";
import { extractVersion, hasLabels, parseInspect, parsePortBindings, parsePs } from "../../../agent/runtime/podman-json.ts";

const fixture = (name: string) => readFileSync(join(import.meta.dirname, "fixtures", name), "utf8");

describe("extractVersion", () => {
  const cases: Array<[string, string]> = [
    ["registry.example.net:8443/svc/api:v1.2.0", "v1.2.0"],
    ["localhost/bb:v1.2.0", "v1.2.0"],
    ["api:latest", "latest"],
    ["registry.example.net:8443/svc/api", ""],
    ["api", ""],
    ["registry:5000/api@sha256:0123abcd", ""],
    ["registry:5000/api:v1@sha256:0123abcd", ""],
    ["", ""],
  ];
  for (const [image, version] of cases) {
    test(`${image || "(empty)"} → ${version || '""'}`, () => assert.equal(extractVersion(image), version));
  }
});

describe("parsePortBindings", () => {
  test("bindings sorted by container port; unpublished ports and bad host ports skipped", () => {
    assert.deepEqual(
      parsePortBindings({
        "8443/tcp": [{ HostIp: "", HostPort: "18443" }],
        "7000/tcp": null,
        "53/udp": [{ HostIp: "", HostPort: "15353" }],
        "8080/tcp": [
          { HostIp: "127.0.0.1", HostPort: "18080" },
          { HostIp: "::1", HostPort: "18080" },
        ],
        "9/tcp": [{ HostIp: "", HostPort: "" }],
      }),
      [
        { hostIp: "", hostPort: 15353, containerPort: 53, protocol: "udp" },
        { hostIp: "127.0.0.1", hostPort: 18080, containerPort: 8080, protocol: "tcp" },
        { hostIp: "::1", hostPort: 18080, containerPort: 8080, protocol: "tcp" },
        { hostIp: "", hostPort: 18443, containerPort: 8443, protocol: "tcp" },
      ],
    );
    assert.deepEqual(parsePortBindings(null), []);
    assert.deepEqual(parsePortBindings({}), []);
  });
});

describe("parseInspect (podman 4.3.1 output)", () => {
  test("a running container: labels, ports, state, startedAt, no exit code", () => {
    const [info, ...rest] = parseInspect(fixture("inspect-running.json"));
    assert.equal(rest.length, 0);
    assert.deepEqual(info, {
      id: "d44998cb3a65270a2dc79c9f27e62fa8cd8c2f10cf99c02b72c07a7e7a38eb27",
      name: "svc-api",
      image: "localhost/bb:v1.2.0",
      state: "running",
      startedAt: "2026-11-22T07:20:35.533Z",
      labels: { "mcp.component": "api", "mcp.service": "svc" },
      ports: [
        { hostIp: "", hostPort: 15353, containerPort: 53, protocol: "udp" },
        { hostIp: "127.0.0.1", hostPort: 18080, containerPort: 8080, protocol: "tcp" },
        { hostIp: "", hostPort: 18443, containerPort: 8443, protocol: "tcp" },
      ],
      version: "v1.2.0",
      restartCount: 0,
      bindSources: ["/tmp/pexp/vol"],
      details: {
        imageId: "ddf6461f15ca20a0e7703c19a0f2e17e7e70b0b80706ad98f036f32d2bef6d9c",
        imageDigest: "",
        createdAt: "2026-11-22T07:20:35.348Z",
        finishedAt: "",
        entrypoint: [],
        cmd: ["sleep", "1000"],
        user: "1000:1000",
        workingDir: "",
        restartPolicy: "unless-stopped",
        network: "bridge",
        mounts: [{ type: "bind", source: "/tmp/pexp/vol", destination: "/data", options: [], readWrite: true }],
      },
    });
  });

  test("details as podman 4.3.1 prints them: the image's digest, a one-string entrypoint, mount options, networks, on-failure's retries, finished time", () => {
    const [info] = parseInspect(
      JSON.stringify([
        {
          Id: "40880a0923f6",
          Created: "2026-12-06T20:43:13.85348388Z",
          Image: "da33efa80c9572df0466f0ca80cd30d2f9f36f0f8b89a2d39632880390ba05a5",
          ImageDigest: "sha256:a3f30567eb225dab21ecab410b362d9efdd7eae32da173fb8f47251054f3638b",
          ImageName: "localhost:8443/hello:v1.0.0",
          Name: "hello-api",
          State: { Status: "exited", StartedAt: "2026-12-06T20:43:13.997723084Z", FinishedAt: "2026-12-06T20:50:00.5Z", ExitCode: 137 },
          Config: { Cmd: ["-c", "sleep 5"], Entrypoint: "/bin/sh", User: "", WorkingDir: "/", Image: "localhost:8443/hello:v1.0.0", Labels: {} },
          HostConfig: { NetworkMode: "bridge", RestartPolicy: { Name: "on-failure", MaximumRetryCount: 3 } },
          NetworkSettings: { Ports: {}, Networks: { podman: {} } },
          Mounts: [{ Type: "bind", Source: "/srv/hello", Destination: "/srv/hello", Options: ["rbind"], RW: false }],
        },
      ]),
    );
    assert.equal(info?.exitCode, 137);
    assert.deepEqual(info?.details, {
      imageId: "da33efa80c9572df0466f0ca80cd30d2f9f36f0f8b89a2d39632880390ba05a5",
      imageDigest: "sha256:a3f30567eb225dab21ecab410b362d9efdd7eae32da173fb8f47251054f3638b",
      createdAt: "2026-12-06T20:43:13.853Z",
      finishedAt: "2026-12-06T20:50:00.500Z",
      entrypoint: ["/bin/sh"],
      cmd: ["-c", "sleep 5"],
      user: "",
      workingDir: "/",
      restartPolicy: "on-failure:3",
      network: "podman",
      mounts: [{ type: "bind", source: "/srv/hello", destination: "/srv/hello", options: ["rbind"], readWrite: false }],
    });
  });

  test("a created container: no startedAt (Go's zero time), published ports already listed", () => {
    const [info] = parseInspect(fixture("inspect-created.json"));
    assert.equal(info?.state, "created");
    assert.equal(info?.startedAt, undefined);
    assert.equal(info?.exitCode, undefined);
    assert.deepEqual(
      info?.ports.map((p) => `${p.hostIp}:${p.hostPort}:${p.containerPort}`),
      ["127.0.0.1:19000:9000", "127.0.0.1:19001:9001"],
    );
  });

  test("an exited container: exit code and startedAt", () => {
    const [info] = parseInspect(fixture("inspect-exited.json"));
    assert.equal(info?.state, "exited");
    assert.equal(info?.exitCode, 3);
    assert.equal(info?.startedAt, "2026-11-22T07:20:35.733Z");
    assert.deepEqual(info?.ports, []);
    assert.deepEqual(info?.labels, { "mcp.service": "svc" });
  });

  test("falls back to HostConfig.PortBindings and Config.Image; strips a leading '/'", () => {
    const [info] = parseInspect(
      JSON.stringify([
        {
          Id: "abc",
          Name: "/x",
          State: { Status: "configured", StartedAt: "0001-01-01T00:00:00Z", ExitCode: 0 },
          Config: { Image: "reg/x:2", Labels: null },
          HostConfig: { PortBindings: { "80/tcp": [{ HostIp: "", HostPort: "8081" }] } },
          NetworkSettings: { Ports: {} },
        },
      ]),
    );
    assert.deepEqual(info, {
      id: "abc",
      name: "x",
      image: "reg/x:2",
      state: "configured",
      labels: {},
      ports: [{ hostIp: "", hostPort: 8081, containerPort: 80, protocol: "tcp" }],
      version: "2",
      details: {
        imageId: "",
        imageDigest: "",
        createdAt: "",
        finishedAt: "",
        entrypoint: [],
        cmd: [],
        user: "",
        workingDir: "",
        restartPolicy: "no",
        network: "",
        mounts: [],
      },
    });
  });

  test("an empty array (podman inspect of nothing) gives no containers", () => {
    assert.deepEqual(parseInspect("[]"), []);
  });
});

describe("parsePs (podman ps -a --format json, 4.3.1)", () => {
  test("every state; Unix-second StartedAt; null labels and ports; port ranges expanded", () => {
    const list = parsePs(fixture("ps-a.json"));
    assert.deepEqual(
      list.map((c) => [c.name, c.state, c.startedAt, c.exitCode, c.version]),
      [
        ["svc-api", "running", "2026-11-22T07:20:35.000Z", undefined, "v1.2.0"],
        ["svc-web", "created", undefined, undefined, "v1.2.0"],
        ["svc-job", "exited", "2026-11-22T07:20:35.000Z", 3, "v1.2.0"],
        ["other", "created", undefined, undefined, "v1.2.0"],
      ],
    );
    const [api, web, job, other] = list;
    assert.equal(api?.id, "d44998cb3a65270a2dc79c9f27e62fa8cd8c2f10cf99c02b72c07a7e7a38eb27");
    assert.equal(api?.image, "localhost/bb:v1.2.0");
    assert.deepEqual(api?.labels, { "mcp.component": "api", "mcp.service": "svc" });
    // Same bindings as inspect gives for the same container.
    assert.deepEqual(api?.ports, parseInspect(fixture("inspect-running.json"))[0]?.ports);
    assert.deepEqual(web?.ports, [
      { hostIp: "127.0.0.1", hostPort: 19000, containerPort: 9000, protocol: "tcp" },
      { hostIp: "127.0.0.1", hostPort: 19001, containerPort: 9001, protocol: "tcp" },
    ]);
    assert.deepEqual(job?.ports, []);
    assert.deepEqual(other?.labels, {});
  });

  test("a digest-pinned image (a rollback) has no tag: the version is the agent's mcp.version label", () => {
    const [api] = JSON.parse(fixture("ps-a.json")) as Record<string, unknown>[];
    const pinned = { ...api, Image: `localhost/bb@sha256:${"a".repeat(64)}`, Labels: { "mcp.service": "svc", "mcp.version": "v1.1.0" } };
    assert.equal(parsePs(JSON.stringify([pinned]))[0]?.version, "v1.1.0");
    assert.equal(parsePs(JSON.stringify([{ ...pinned, Labels: {} }]))[0]?.version, "");
  });

  test("no containers: [] or nothing at all", () => {
    assert.deepEqual(parsePs("[]\n"), []);
    assert.deepEqual(parsePs(""), []);
  });
});
