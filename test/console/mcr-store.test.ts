// The console store's registry slice against an in-memory mcr: what `mcp registry|gc|
// policy|audit|snapshot` and the Registry, GC, Policies and Audit screens rely on.
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { ConsoleError } from "../../console/output/errors.ts";
import { fakeMcr, mcrStore } from "./mcr-fake.ts";

const rejectsWith = (code: string) => (err: unknown) => err instanceof ConsoleError && err.code === code;

describe("console store: the registry", () => {
  test("repositories, a repository's tags and manifests, one manifest's layers; every call carries the registry token", async () => {
    const mcr = fakeMcr();
    const store = mcrStore(mcr);
    const repos = await store.getState().listRepos();
    assert.deepEqual(
      repos.map((r) => [r.name, r.tagCount, r.totalSize]),
      [
        ["team/app", 2, 3_500_000],
        ["team/web", 1, 1200],
      ],
    );
    assert.equal(store.getState().mcr.reposLoaded, true);
    const repo = await store.getState().loadRepo("team/app");
    assert.deepEqual(
      repo.tags.map((t) => t.name),
      ["v1", "v2"],
    );
    assert.equal(repo.manifests[0]!.blobs.length, 3);
    const m = await store.getState().loadManifest("team/app", "v1");
    assert.deepEqual(
      m.manifest.blobs.map((b) => [b.role, b.size]),
      [
        ["config", 500],
        ["layer", 2_000_000],
      ],
    );
    assert.ok(mcr.seenTokens.length >= 1 && mcr.seenTokens.every((t) => t === "Bearer registry-token"));
  });

  test("a missing repository is not_found and is kept for the screens; a later success clears it", async () => {
    const store = mcrStore(fakeMcr());
    await assert.rejects(store.getState().loadRepo("nope"), rejectsWith("not_found"));
    assert.equal(store.getState().mcr.errors.repo?.code, "not_found");
    await store.getState().loadRepo("team/app");
    assert.equal(store.getState().mcr.errors.repo, undefined);
  });

  test("without a registry url every action is a usage error", async () => {
    const store = mcrStore(null);
    await assert.rejects(store.getState().listRepos(), rejectsWith("usage"));
  });

  test("deleting a tag and a repository updates the state", async () => {
    const mcr = fakeMcr();
    const store = mcrStore(mcr);
    await store.getState().listRepos();
    await store.getState().loadRepo("team/app");
    await store.getState().deleteTag("team/app", "v2");
    assert.deepEqual(
      store.getState().mcr.repo!.tags.map((t) => t.name),
      ["v1"],
    );
    const r = await store.getState().deleteRepo("team/web");
    assert.deepEqual(r, { repository: "team/web", manifestsDeleted: 1, tagsDeleted: 1 });
    assert.deepEqual(
      store.getState().mcr.repos.map((x) => x.name),
      ["team/app"],
    );
    assert.deepEqual(mcr.deleted, ["team/app:v2", "team/web"]);
  });

  test("GC: start, Watch follows progress into gcUpdates until the run ends; the result becomes the last run", async () => {
    const mcr = fakeMcr();
    const store = mcrStore(mcr);
    const run = await store.getState().startGc({ dryRun: false, untagged: true });
    assert.equal(run.running, true);
    assert.equal(run.options.untagged, true);
    const watching = store.getState().watchGc(run.id);
    await new Promise((r) => setTimeout(r, 20));
    assert.equal(store.getState().mcr.gc.watching, true);
    mcr.gcProgress({ phase: "sweeping", blobsMarked: 4n, bytesMarked: 4000n });
    await new Promise((r) => setTimeout(r, 20));
    assert.equal(store.getState().mcr.gc.current?.phase, "sweeping");
    mcr.gcProgress({ phase: "done", running: false, blobsSwept: 4n, bytesFreed: 4000n });
    const final = await watching;
    assert.equal(final?.phase, "done");
    assert.equal(final?.bytesFreed, 4000);
    const s = store.getState().mcr;
    assert.equal(s.gc.current, null);
    assert.equal(s.gc.last?.id, run.id);
    assert.equal(s.gc.watching, false);
    assert.deepEqual(
      s.gcUpdates.map((u) => u.run.phase),
      ["marking", "marking", "sweeping", "done"],
    );
    assert.deepEqual(
      s.gcUpdates.map((u) => u.seq),
      [1, 2, 3, 4],
    );
  });

  test("GC: a second start while one runs is refused (already_exists → failed) or joins it when asked; Watch after the end gives the last run", async () => {
    const mcr = fakeMcr();
    const store = mcrStore(mcr);
    const run = await store.getState().startGc({ dryRun: true, untagged: false });
    await assert.rejects(store.getState().startGc({ dryRun: true, untagged: false }), rejectsWith("failed"));
    const joined = await store.getState().startGc({ dryRun: false, untagged: true, join: true });
    assert.equal(joined.id, run.id, "join returns the run in progress");
    assert.equal(joined.options.dryRun, true);
    mcr.gcProgress({ phase: "done", running: false });
    const final = await store.getState().watchGc(run.id);
    assert.equal(final?.id, run.id);
    assert.equal(final?.running, false);
  });

  test("policies: list, create, toggle, delete; a non-admin is permission_denied and the screens keep why", async () => {
    const store = mcrStore(fakeMcr());
    assert.deepEqual(
      (await store.getState().listPolicies()).map((p) => p.id),
      [7],
    );
    const created = await store.getState().createPolicy({
      priority: 10,
      description: "no pulls",
      effect: "deny",
      actions: ["registry:pull"],
      roles: [],
      accountTypes: [],
      subjectUuid: "",
      repositories: ["secret/*"],
      enabled: true,
    });
    assert.deepEqual(
      store.getState().mcr.policies.map((p) => p.id),
      [created.id, 7],
      "sorted by priority",
    );
    const off = await store.getState().updatePolicy(7, { enabled: false });
    assert.equal(off.enabled, false);
    assert.equal(store.getState().mcr.policies.find((p) => p.id === 7)?.enabled, false);
    await store.getState().deletePolicy(created.id);
    assert.deepEqual(
      store.getState().mcr.policies.map((p) => p.id),
      [7],
    );

    const user = mcrStore(fakeMcr({ admin: false }));
    await assert.rejects(user.getState().listPolicies(), rejectsWith("permission_denied"));
    assert.match(user.getState().mcr.errors.policies!.message, /admin role/);
  });

  test("audit: pages newest first with a filter; the feed is the page oldest first; follow appends new events from the newest shown", async () => {
    const mcr = fakeMcr();
    const store = mcrStore(mcr);
    const page = await store.getState().listAudit({ type: "manifest_pushed" }, 0, 10);
    assert.equal(page.length, 10);
    assert.equal(page[0]!.id, 60);
    assert.ok(page.every((e) => e.type === "manifest_pushed"));
    const next = await store.getState().listAudit(undefined, 10);
    assert.equal(next[0]!.id, 40, "the filter and limit are kept");
    await store.getState().listAudit(undefined, 0);
    assert.deepEqual(
      store
        .getState()
        .mcr.auditFeed.map((e) => e.id)
        .slice(-2),
      [58, 60],
    );

    const abort = new AbortController();
    const following = store.getState().followAudit(abort.signal);
    await new Promise((r) => setTimeout(r, 20));
    assert.equal(store.getState().mcr.audit.following, true);
    mcr.addEvent("manifest_pulled");
    const pushed = mcr.addEvent("manifest_pushed");
    for (let i = 0; i < 50 && store.getState().mcr.auditFeed.at(-1)?.id !== Number(pushed.id); i++) await new Promise((r) => setTimeout(r, 10));
    assert.equal(store.getState().mcr.auditFeed.at(-1)?.id, Number(pushed.id));
    assert.equal(store.getState().mcr.audit.events[0]!.id, Number(pushed.id), "the first page shows it on top");
    abort.abort();
    await following;
    assert.equal(store.getState().mcr.audit.following, false);
  });

  test("snapshot: the path, size and time", async () => {
    const store = mcrStore(fakeMcr());
    assert.deepEqual(await store.getState().snapshot(), { path: "/srv/mcr/backups/mcr-20260103-000000.db", size: 123456, createdAt: "2026-01-03T00:00:00Z" });
    assert.equal(store.getState().mcr.snapshot?.size, 123456);
  });
});
