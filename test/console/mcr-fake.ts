// An in-memory mcr admin API (createRouterTransport) for the console's store and TUI tests:
// two repositories, a GC whose Watch emits progress the test releases step by step, policy
// rules (refused for a non-admin token), an audit log with a follow stream, snapshots, the
// registry's health (ok, or not ready naming its blob folder) and an integrity check that finds
// the blobs the test says are corrupt, held until the test releases it when it asks.
import { Code, ConnectError, createRouterTransport, type HandlerContext } from "@connectrpc/connect";
import { create } from "@bufbuild/protobuf";
import { AdminService } from "../../proto/gen/mcr/v1/admin_pb.ts";
import { AuditService, AuditEventSchema, type AuditEvent } from "../../proto/gen/mcr/v1/audit_pb.ts";
import { GcService, GcRunSchema, type GcRun } from "../../proto/gen/mcr/v1/gc_pb.ts";
import { PolicyService, PolicyRuleSchema, type PolicyRule } from "../../proto/gen/mcr/v1/policy_pb.ts";
import { RegistryService } from "../../proto/gen/mcr/v1/registry_pb.ts";
import { AgentPool } from "../../console/clients/agents.ts";
import { mcrAdmin } from "../../console/clients/mcr-admin.ts";
import { Definitions } from "../../console/definitions.ts";
import type { StoreDeps } from "../../console/store/state.ts";
import { createConsoleStore } from "../../console/store/store.ts";

const D1 = "sha256:" + "1".repeat(64);
const L1 = "sha256:" + "a".repeat(64);
const L2 = "sha256:" + "b".repeat(64);
const C1 = "sha256:" + "c".repeat(64);

/** The window a run reports, as mcr does: "30m" → "1800s"; the default [gc] grace is 1h. */
function graceSeconds(grace: string): string {
  const m = /^(\d+)(s|m|h)$/.exec(grace);
  if (!m) return "3600s";
  return `${Number(m[1]) * { s: 1, m: 60, h: 3600 }[m[2] as "s" | "m" | "h"]}s`;
}

export function fakeMcr(opts: { admin?: boolean } = {}) {
  const seenTokens: string[] = [];
  const repos = new Map([
    ["team/app", { tags: ["v1", "v2"], size: 3_500_000n }],
    ["team/web", { tags: ["latest"], size: 1_200n }],
  ]);
  const rules: PolicyRule[] = [
    create(PolicyRuleSchema, {
      id: 7n,
      priority: 50,
      effect: "deny",
      actions: ["registry:push"],
      repositories: ["team/locked/*"],
      description: "frozen",
      enabled: true,
    }),
  ];
  const audit: AuditEvent[] = Array.from({ length: 60 }, (_, i) =>
    create(AuditEventSchema, {
      id: BigInt(i + 1),
      time: `2026-01-01T00:${String(i).padStart(2, "0")}:00Z`,
      type: i % 2 ? "manifest_pushed" : "manifest_pulled",
      actor: "admin",
      repository: "team/app",
      digest: D1,
    }),
  );
  let nextId = 61;
  const followers = new Set<(e: AuditEvent) => void>();
  let gcRun: GcRun | null = null;
  let lastRun: GcRun | null = null;
  const gcListeners = new Set<(r: GcRun) => void>();
  const deleted: string[] = [];
  /** The grace each GC start asked for ("" for the registry's default). */
  const gcStarts: string[] = [];
  /** What Health fails with (UNAVAILABLE); "" answers ok. */
  let notReady = "";
  /** What each Check asked for, and the blobs it finds corrupt. */
  const checks: { verifyCount: number; verifyAll: boolean }[] = [];
  let corrupt: { digest: string; problem: string }[] = [];
  let checkHeld: Promise<void> | null = null;

  const admin = (ctx: HandlerContext) => {
    const auth = ctx.requestHeader.get("authorization") ?? "";
    seenTokens.push(auth);
    if (opts.admin === false) throw new ConnectError("the admin role is required", Code.PermissionDenied);
  };
  const publish = (r: GcRun) => gcListeners.forEach((l) => l(r));
  const run = (p: Partial<GcRun>) => (gcRun = create(GcRunSchema, { ...gcRun!, ...p }));

  const transport = createRouterTransport(({ service }) => {
    service(RegistryService, {
      listRepositories: (_req, ctx) => (
        seenTokens.push(ctx.requestHeader.get("authorization") ?? ""),
        {
          repositories: [...repos].map(([name, r]) => ({
            name,
            tagCount: r.tags.length,
            manifestCount: 1,
            totalSize: r.size,
            pushedAt: "2026-01-02T00:00:00Z",
          })),
        }
      ),
      getRepository: ({ name }) => {
        const r = repos.get(name);
        if (!r) throw new ConnectError(`repository ${name} not found`, Code.NotFound);
        const blobs = [
          { digest: C1, size: 500n, mediaType: "application/vnd.oci.image.config.v1+json", role: "config" },
          { digest: L1, size: 2_000_000n, mediaType: "application/vnd.oci.image.layer.v1.tar+gzip", role: "layer" },
          { digest: L2, size: 1_000_000n, mediaType: "application/vnd.oci.image.layer.v1.tar+gzip", role: "layer" },
        ];
        return {
          repository: { name, tagCount: r.tags.length, manifestCount: 1, totalSize: r.size },
          tags: r.tags.map((t) => ({ name: t, digest: D1, updatedAt: "2026-01-02T00:00:00Z" })),
          manifests: [{ digest: D1, mediaType: "application/vnd.oci.image.manifest.v1+json", size: 900n, tags: r.tags, blobs, blobsSize: 3_000_500n }],
        };
      },
      getManifest: ({ repository, reference }) => {
        if (!repos.get(repository)?.tags.includes(reference) && reference !== D1) throw new ConnectError(`manifest ${reference} not found`, Code.NotFound);
        return {
          manifest: {
            digest: D1,
            mediaType: "application/vnd.oci.image.manifest.v1+json",
            size: 900n,
            createdAt: "2026-01-02T00:00:00Z",
            tags: ["v1", "v2"],
            blobs: [
              { digest: C1, size: 500n, mediaType: "application/vnd.oci.image.config.v1+json", role: "config" },
              { digest: L1, size: 2_000_000n, mediaType: "application/vnd.oci.image.layer.v1.tar+gzip", role: "layer" },
            ],
            blobsSize: 2_000_500n,
          },
          content: "{}",
        };
      },
      deleteRepository: ({ name }, ctx) => {
        admin(ctx);
        const r = repos.get(name);
        if (!r) throw new ConnectError(`repository ${name} not found`, Code.NotFound);
        repos.delete(name);
        deleted.push(name);
        return { manifestsDeleted: 1, tagsDeleted: r.tags.length };
      },
      deleteTag: ({ repository, tag }, ctx) => {
        admin(ctx);
        const r = repos.get(repository);
        if (!r?.tags.includes(tag)) throw new ConnectError(`tag ${tag} not found`, Code.NotFound);
        r.tags = r.tags.filter((t) => t !== tag);
        deleted.push(`${repository}:${tag}`);
        return {};
      },
    });
    service(GcService, {
      start: ({ options }, ctx) => {
        admin(ctx);
        if (gcRun) throw new ConnectError("a GC run is in progress", Code.AlreadyExists);
        gcStarts.push(options?.grace ?? "");
        gcRun = create(GcRunSchema, {
          id: `run-${Date.now()}`,
          options: {
            dryRun: options?.dryRun ?? false,
            untagged: options?.untagged ?? false,
            reconcile: options?.reconcile ?? false,
            grace: graceSeconds(options?.grace ?? ""),
          },
          actor: "admin",
          phase: "marking",
          running: true,
          startedAt: "2026-01-03T00:00:00Z",
        });
        return { run: gcRun };
      },
      status: (_req, ctx) => (admin(ctx), { ...(gcRun ? { current: gcRun } : {}), ...(lastRun ? { last: lastRun } : {}) }),
      async *watch(_req, ctx) {
        admin(ctx);
        if (!gcRun) {
          if (lastRun) yield { run: lastRun };
          return;
        }
        const queue: GcRun[] = [gcRun];
        let wake: (() => void) | null = null;
        const l = (r: GcRun) => (queue.push(r), wake?.());
        gcListeners.add(l);
        try {
          for (;;) {
            while (queue.length) {
              const r = queue.shift()!;
              yield { run: r };
              if (!r.running) return;
            }
            await new Promise<void>((res) => (wake = res));
          }
        } finally {
          gcListeners.delete(l);
        }
      },
    });
    service(PolicyService, {
      listRules: (_req, ctx) => (admin(ctx), { rules }),
      createRule: ({ rule }, ctx) => {
        admin(ctx);
        const r = create(PolicyRuleSchema, { ...rule!, id: BigInt(nextId++), createdBy: "admin" });
        rules.push(r);
        return { rule: r };
      },
      updateRule: (req, ctx) => {
        admin(ctx);
        const r = rules.find((x) => x.id === req.id);
        if (!r) throw new ConnectError(`rule ${req.id} not found`, Code.NotFound);
        if (req.enabled !== undefined) r.enabled = req.enabled;
        if (req.priority !== undefined) r.priority = req.priority;
        if (req.description !== undefined) r.description = req.description;
        return { rule: r };
      },
      deleteRule: ({ id }, ctx) => {
        admin(ctx);
        const i = rules.findIndex((x) => x.id === id);
        if (i < 0) throw new ConnectError(`rule ${id} not found`, Code.NotFound);
        rules.splice(i, 1);
        return {};
      },
    });
    service(AuditService, {
      listEvents: (req, ctx) => {
        admin(ctx);
        const all = audit
          .filter((e) => (!req.type || e.type === req.type) && (!req.actor || e.actor === req.actor) && (!req.repository || e.repository === req.repository))
          .reverse();
        return { events: all.slice(req.offset, req.offset + (req.limit || 50)) };
      },
      async *followEvents(req, ctx) {
        admin(ctx);
        const queue: AuditEvent[] = audit.filter((e) => e.id > req.afterId);
        let wake: (() => void) | null = null;
        const l = (e: AuditEvent) => (queue.push(e), wake?.());
        followers.add(l);
        try {
          while (!ctx.signal.aborted) {
            if (queue.length) yield { events: queue.splice(0).filter((e) => (!req.type || e.type === req.type) && (!req.actor || e.actor === req.actor)) };
            await new Promise<void>((res) => {
              wake = res;
              ctx.signal.addEventListener("abort", () => res(), { once: true });
            });
          }
        } finally {
          followers.delete(l);
        }
      },
    });
    service(AdminService, {
      health: () => {
        if (notReady) throw new ConnectError(notReady, Code.Unavailable);
        return { status: "ok", version: "9.9.9", database: "ok", storage: { backend: "filesystem", location: "/srv/mcr/layers", status: "ok" } };
      },
      check: async ({ verifyCount, verifyAll }, ctx) => {
        admin(ctx);
        checks.push({ verifyCount, verifyAll });
        await checkHeld;
        const read = verifyAll ? 3 : Math.min(verifyCount, 3);
        const found = corrupt.slice(0, read);
        return {
          ok: found.length === 0,
          blobRows: 3n,
          ...(verifyAll || verifyCount ? { verification: { blobs: BigInt(read), bytes: BigInt(read * 1000), corrupt: found } } : {}),
        };
      },
      snapshot: (_req, ctx) => (admin(ctx), { path: "/srv/mcr/backups/mcr-20260103-000000.db", size: 123_456n, createdAt: "2026-01-03T00:00:00Z" }),
    });
  });

  return {
    client: mcrAdmin({ url: "https://mcr.test", token: () => "registry-token", transport }),
    seenTokens,
    deleted,
    gcStarts,
    rules,
    checks,
    /** Health answers UNAVAILABLE with `message` ("" : ok again). */
    setNotReady(message: string) {
      notReady = message;
    },
    /** The blobs checks find corrupt. */
    setCorrupt(list: { digest: string; problem: string }[]) {
      corrupt = list;
    },
    /** Checks wait until the function returned is called. */
    holdChecks(): () => void {
      let release: () => void = () => undefined;
      checkHeld = new Promise<void>((res) => (release = res));
      return () => {
        checkHeld = null;
        release();
      };
    },
    /** A repository pushed behind the console's back. */
    addRepo(name: string, tags = ["v1"]) {
      repos.set(name, { tags, size: 10n });
    },
    /** A GC run started by someone else. */
    startElsewhere() {
      gcRun = create(GcRunSchema, {
        id: "run-elsewhere",
        options: { grace: "3600s" },
        actor: "other",
        phase: "marking",
        running: true,
        startedAt: "2026-01-03T00:00:00Z",
      });
    },
    /** A new audit event, delivered to followers. */
    addEvent(type: string, repository = "team/app", actor = "admin", details: Record<string, string> = {}) {
      const e = create(AuditEventSchema, { id: BigInt(nextId++), time: "2026-01-03T00:00:00Z", type, actor, repository, details });
      audit.push(e);
      followers.forEach((f) => f(e));
      return e;
    },
    /** Moves the running GC on (publishing to watchers); `done` ends it. */
    gcProgress(p: Partial<GcRun>) {
      if (!gcRun) throw new Error("no GC run");
      const r = run(p);
      if (!r.running) (lastRun = r), (gcRun = null);
      publish(r);
    },
    get gcRunning() {
      return gcRun !== null;
    },
  };
}

/** A console store with no agents whose registry is `mcr` (none: no [registry] url). */
export function mcrStore(mcr: ReturnType<typeof fakeMcr> | null, over: Partial<StoreDeps> = {}) {
  return createConsoleStore({
    agents: new AgentPool({ nodes: [], token: () => "t", timeoutMs: 100 }),
    definitions: new Definitions("/nonexistent"),
    registryHost: "mcr.test:8443",
    registry: () => ({ manifestExists: async () => true, close: () => undefined }),
    builder: () => ({ buildAndPush: async () => undefined }),
    workspace: "/nonexistent",
    machineRegistry: () => ({}),
    ...(mcr ? { mcrAdmin: () => mcr.client } : {}),
    ...over,
  });
}
