// A push's layers: podman without a terminal names each blob as it starts ("Copying blob
// sha256:…") and never says "done"; once the push has succeeded the console marks every blob
// it named done, so LAYERS reads 3/3 (not 0/3) and the records carry "done".
import assert from "node:assert/strict";
import { chmodSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, test } from "node:test";
import { PodmanBuilder, type BuildProgress } from "../../console/clients/podman.ts";
import { imagesSection } from "../../console/views/progress.ts";
import { fixtureStore, health, removeFixtures } from "./tui-fixture.ts";

const dir = mkdtempSync(join(tmpdir(), "mcp-push-layers-"));
after(() => (rmSync(dir, { recursive: true, force: true }), removeFixtures()));

// What podman 4.3 prints for `podman push` with stdout and stderr not a terminal.
const FAKE_PODMAN = `#!/bin/sh
if [ "$1" = build ]; then echo "STEP 1/1: FROM scratch"; exit 0; fi
echo "Getting image source signatures" >&2
echo "Copying blob sha256:e1898000c8670127735f7cac8a80bf4de5280c9ab61c250426a98516b762e2ee" >&2
echo "Copying blob sha256:4bc7ba8fcdb7a6b3d4d05a08c2630b0d674691817178a695a6f55c32b61d530c" >&2
echo "Copying config sha256:b2356e52654126c0b687db7bb8ca6ebb0e7d5a9462c7a4bac725c07ea4953b94" >&2
echo "Writing manifest to image destination" >&2
echo "Storing signatures" >&2
`;

describe("push progress per layer", () => {
  test("after a push that succeeded every named blob is done; the LAYERS column reads 3/3", async () => {
    const podman = join(dir, "podman");
    writeFileSync(podman, FAKE_PODMAN);
    chmodSync(podman, 0o755);
    const builder = new PodmanBuilder({ podman, registryHost: "mcr.test:8443", caPem: "", username: "admin", token: () => "t" });
    const seen: BuildProgress[] = [];
    await builder.buildAndPush({ image: "shop", ref: "mcr.test:8443/shop:v1", version: "v1", containerfile: join(dir, "Containerfile"), context: dir }, (p) =>
      seen.push(p),
    );
    const last = new Map(seen.filter((p) => p.layer).map((p) => [p.layer!.digest, p.layer!.status]));
    assert.deepEqual([...last.values()], ["done", "done", "done"]);
    assert.equal(seen.at(-1)!.phase, "pushed");

    const { store, dir: fx } = fixtureStore(
      { rift: { health } },
      { shop: 'name = "shop"\nnode = "rift"\nversion = "v1"\n[build.images]\nshop = "Containerfile"\n[[components]]\nname = "api"\n' },
      { builder: () => builder },
    );
    mkdirSync(join(fx, "ws", "shop"));
    writeFileSync(join(fx, "ws", "shop", "Containerfile"), "FROM scratch\n");
    await store.getState().build("shop");
    const row = imagesSection(store.getState()).rows[0]!;
    assert.equal(row[3]!.text, "3/3");
    assert.ok(store.getState().buildEvents.some((e) => e.layer?.status === "done"));
  });
});
