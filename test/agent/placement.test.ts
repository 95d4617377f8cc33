// Placement pieces that need no podman: plans with SMEP (rootful and rootless),
// port indices, .mount units, kernel NFS detection, reserved ports, XDG link paths.
import assert from "node:assert/strict";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, test } from "node:test";
import { validateDefinition, portIndices } from "../../lib/services/definition.ts";
import { place } from "../../lib/smep/smep.ts";
import { planService } from "../../agent/controller/plan.ts";
import { isMounted, kernelSupportsNfs, mountUnit, mountUnitName } from "../../agent/placement/nfs.ts";
import { ephemeralRange, reservePorts } from "../../agent/placement/ports.ts";
import { xdgLinks } from "../../agent/placement/storage.ts";

const def = validateDefinition({
  name: "gazette",
  node: "n",
  version: "v1",
  environment: "test",
  components: [
    {
      name: "api",
      image: "r/gazette",
      routes: [
        { name: "rest", port: 443 },
        { name: "metrics", port: 9100, index: 3 },
      ],
    },
    { name: "web", image: "r/web", routes: [{ port: 80 }] },
  ],
});
const placement = place({ service: "gazette", environment: "test", sheet: "dynamicalsystem", machineNumber: 1 });
const ctx = {
  identity: { id: "a1b2c3d4e5f6", node: "n1", containerPrefix: "" },
  registryHost: "r",
  publishAddress: "127.0.0.1",
  defaultNetwork: "",
  storageRoot: "/srv",
  allowedVolumeRoots: ["/srv"],
  envDir: "/var/lib/mcp-agent/env",
};
const ports = [
  { hostPort: 10110, service: "gazette", component: "api", route: "rest" },
  { hostPort: 10113, service: "gazette", component: "api", route: "metrics" },
  { hostPort: 10111, service: "gazette", component: "web", route: "default" },
];

describe("plans with SMEP placement", () => {
  test("route indices: explicit first, the rest in declaration order", () => {
    assert.deepEqual(
      [...portIndices(def.components)],
      [
        ["api/metrics", 3],
        ["api/rest", 0],
        ["web/default", 1],
      ],
    );
  });

  test("rootful: the container runs as the SMEP UID, with TIN_* and the storage root at /srv/<service>", () => {
    const [api, web] = planService(def, ports, ctx, { placement, storageRoot: "/srv/gazette-test", rootful: true });
    assert.equal(api!.spec.user, "10110:10110");
    assert.deepEqual(api!.spec.volumes, ["/srv/gazette-test:/srv/gazette"]);
    assert.deepEqual(api!.spec.ports, ["127.0.0.1:10110:10110", "127.0.0.1:10113:10113"]);
    assert.equal(api!.env.PORT_REST, "10110");
    assert.equal(api!.env.PORT_METRICS, "10113");
    assert.equal(api!.env.TIN_SERVICE_UID, "10110");
    assert.equal(api!.env.TIN_PORT_9, "10119");
    assert.equal(web!.env.PORT, "10111");
    assert.deepEqual(api!.hostDirs, [], "the placer prepares the storage root, not the planner");
    assert.equal(api!.envOwner, undefined);
  });

  test("rootless: no --user (the user's own podman), env files in the user's home owned by its UID", () => {
    const [api] = planService(def, ports, ctx, {
      placement,
      storageRoot: "/mnt/gazette-test",
      rootful: false,
      envDir: "/home/svc/gazette-test/.config/mcp/env",
      envBase: "/home/svc/gazette-test",
    });
    assert.equal(api!.spec.user, undefined);
    assert.equal(api!.spec.envFile, "/home/svc/gazette-test/.config/mcp/env/gazette-api.env");
    assert.deepEqual(api!.envOwner, { uid: 10110, base: "/home/svc/gazette-test" });
    assert.deepEqual(api!.spec.volumes, ["/mnt/gazette-test:/srv/gazette"]);
  });

  test("the hash changes with the placement, so a new environment recreates the containers", () => {
    const a = planService(def, ports, ctx, { placement, storageRoot: "/srv/gazette-test", rootful: true })[0]!.hash;
    const prod = place({ service: "gazette", environment: "prod", sheet: "dynamicalsystem", machineNumber: 1 });
    const b = planService(def, ports, ctx, { placement: prod, storageRoot: "/srv/gazette-prod", rootful: true })[0]!.hash;
    assert.notEqual(a, b);
  });
});

describe("NFS helpers", () => {
  test(".mount unit names follow systemd's escaping and the unit mounts NFSv4", () => {
    assert.equal(mountUnitName("/mnt/gazette-prod"), "mnt-gazette\\x2dprod.mount");
    const u = mountUnit("nas:/volume1/x", "/mnt/gazette-prod", "nfsvers=4.2,hard");
    assert.match(u.text, /What=nas:\/volume1\/x\nWhere=\/mnt\/gazette-prod\nType=nfs4\nOptions=nfsvers=4.2,hard/);
    assert.match(u.text, /WantedBy=remote-fs.target/);
  });

  test("kernel support and mounts are read from /proc files", (t) => {
    const dir = mkdtempSync(join(tmpdir(), "proc-"));
    t.after(() => rmSync(dir, { recursive: true, force: true }));
    writeFileSync(join(dir, "fs-without"), "nodev\tsysfs\n\text4\n");
    writeFileSync(join(dir, "fs-with"), "nodev\tsysfs\nnodev\tnfs4\n");
    assert.equal(kernelSupportsNfs(join(dir, "fs-without")), false);
    assert.equal(kernelSupportsNfs(join(dir, "fs-with")), true);
    writeFileSync(join(dir, "mounts"), "nas:/x /mnt/gazette-prod nfs4 rw 0 0\n");
    assert.equal(isMounted("/mnt/gazette-prod", join(dir, "mounts")), true);
    assert.equal(isMounted("/mnt/other", join(dir, "mounts")), false);
  });
});

describe("ports and links", () => {
  test("reservePorts adds to ip_local_reserved_ports without losing what is there", (t) => {
    const dir = mkdtempSync(join(tmpdir(), "sysctl-"));
    t.after(() => rmSync(dir, { recursive: true, force: true }));
    const f = join(dir, "reserved");
    writeFileSync(f, "8080\n");
    reservePorts([40100, 40101, 8080], f);
    assert.equal(readFileSync(f, "utf8"), "8080,40100,40101");
    const range = join(f, "..", "range");
    writeFileSync(range, "32768\t60999\n");
    assert.deepEqual(ephemeralRange(range), [32768, 60999]);
  });

  test("XDG links follow the SMEP directory mapping (docs/smep.md)", () => {
    assert.deepEqual(xdgLinks(placement, "gazette", "/home/svc/gazette-test", "/srv/gazette-test"), [
      { link: "/home/svc/gazette-test/.local/state/dynamicalsystem/@gazette", target: "/srv/gazette-test/state" },
      { link: "/home/svc/gazette-test/.local/share/dynamicalsystem/@gazette", target: "/srv/gazette-test/data" },
      { link: "/home/svc/gazette-test/.config/dynamicalsystem/@gazette", target: "/srv/gazette-test/config" },
    ]);
  });
});
