// The registry slice: mcr's admin RPCs (repositories, tags, manifests, deletes, policy
// rules, snapshots) with the registry token. GC and audit streams are in mcr-streams.ts, the
// registry's health and integrity check in mcr-health.ts.
// Shared by the commands (`mcp registry|policy|snapshot`) and the TUI screens.
import { create } from "@bufbuild/protobuf";
import { PolicyRuleSchema } from "../../proto/gen/mcr/v1/policy_pb.ts";
import { ConsoleError } from "../output/errors.ts";
import { mcrKit } from "./mcr-kit.ts";
import { mcrHealthActions } from "./mcr-health.ts";
import { mcrStreamActions } from "./mcr-streams.ts";
import { manifestRow, policyRow, repoRow, snapshotRow, tagRow, type ManifestDetail, type RepoDetail, type RepoRow } from "./mcr-types.ts";
import type { GetState, McrActions, SetState, StoreDeps } from "./state.ts";

export function mcrActions(set: SetState, get: GetState, deps: StoreDeps): McrActions {
  const kit = mcrKit(set, get, deps);
  const { patch, guard } = kit;
  return {
    ...mcrStreamActions(kit),
    ...mcrHealthActions(kit, deps, deps.agents.timeoutMs),

    listRepos: () =>
      guard("repos", async (c) => {
        const repos: RepoRow[] = [];
        let pageToken = "";
        do {
          const r = await c.registry.listRepositories({ limit: 1000, pageToken }, c.call());
          repos.push(...r.repositories.map(repoRow));
          pageToken = r.nextPageToken;
        } while (pageToken);
        patch({ repos, reposLoaded: true });
        return repos;
      }),

    loadRepo: (name) =>
      guard("repo", async (c) => {
        const r = await c.registry.getRepository({ name }, c.call());
        if (!r.repository) throw new ConsoleError("not_found", `the registry has no repository ${name}`);
        const repo: RepoDetail = { repository: repoRow(r.repository), tags: r.tags.map(tagRow), manifests: r.manifests.map(manifestRow) };
        patch({ repo });
        return repo;
      }),

    loadManifest: (repository, reference) =>
      guard("manifest", async (c) => {
        const r = await c.registry.getManifest({ repository, reference }, c.call());
        if (!r.manifest) throw new ConsoleError("not_found", `the registry has no manifest ${repository}:${reference}`);
        const manifest: ManifestDetail = { repository, reference, manifest: manifestRow(r.manifest), content: r.content };
        patch({ manifest });
        return manifest;
      }),

    deleteRepo: (name) =>
      guard("repos", async (c) => {
        const r = await c.registry.deleteRepository({ name }, c.call());
        patch((m) => ({ repos: m.repos.filter((x) => x.name !== name), repo: m.repo?.repository.name === name ? null : m.repo }));
        return { repository: name, manifestsDeleted: r.manifestsDeleted, tagsDeleted: r.tagsDeleted };
      }),

    deleteTag: (repository, tag) =>
      guard("repo", async (c) => {
        await c.registry.deleteTag({ repository, tag }, c.call());
        // The counts change with the tags, at once; the list's row too.
        const drop = (r: RepoRow): RepoRow => ({ ...r, tagCount: Math.max(0, r.tagCount - 1) });
        patch((m) => ({
          repo:
            m.repo && m.repo.repository.name === repository
              ? { ...m.repo, repository: drop(m.repo.repository), tags: m.repo.tags.filter((t) => t.name !== tag) }
              : m.repo,
          repos: m.repos.map((r) => (r.name === repository ? drop(r) : r)),
        }));
        return { repository, tag, deleted: true as const };
      }),

    listPolicies: () =>
      guard("policies", async (c) => {
        const r = await c.policy.listRules({}, c.call());
        const policies = r.rules.map(policyRow).sort((a, b) => a.priority - b.priority || a.id - b.id);
        patch({ policies, policiesLoaded: true });
        return policies;
      }),

    createPolicy: (rule) =>
      guard("policies", async (c) => {
        const r = await c.policy.createRule({ rule: create(PolicyRuleSchema, rule) }, c.call());
        const row = policyRow(r.rule!);
        patch((m) => ({ policies: [...m.policies, row].sort((a, b) => a.priority - b.priority || a.id - b.id) }));
        return row;
      }),

    updatePolicy: (id, change) =>
      guard("policies", async (c) => {
        const r = await c.policy.updateRule({ id: BigInt(id), ...change }, c.call());
        const row = policyRow(r.rule!);
        patch((m) => ({ policies: m.policies.map((p) => (p.id === id ? row : p)) }));
        return row;
      }),

    deletePolicy: (id) =>
      guard("policies", async (c) => {
        await c.policy.deleteRule({ id: BigInt(id) }, c.call());
        patch((m) => ({ policies: m.policies.filter((p) => p.id !== id) }));
        return { id, deleted: true as const };
      }),

    async resolveActors() {
      const names: Record<string, string> = { ...(get().mcr.actors ?? {}) };
      // Each source is best effort: without it, ids stay ids.
      try {
        const c = kit.client();
        const r = await c.audit.listEvents({ type: "pull_token_issued", limit: 1000, offset: 0 }, c.call());
        for (const e of r.events) if (e.actor && e.details.username) names[e.actor] = e.details.username;
      } catch {
        // not an admin, or mcr unreachable: the audit screen says so itself
      }
      try {
        const me = await deps.whoami?.();
        if (me?.subject && me.username) names[me.subject] = me.username;
      } catch {
        // the identity API unreachable: the session's own id stays an id
      }
      patch({ actors: names });
      return names;
    },

    snapshot: () =>
      guard("snapshot", async (c) => {
        const r = await c.admin.snapshot({}, c.call({}));
        const snapshot = snapshotRow(r);
        patch({ snapshot });
        return snapshot;
      }),
  };
}
