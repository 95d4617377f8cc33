// `mcp registry repos|tags|manifest|delete|check`: what mcr holds, through its admin RPCs with
// the registry token. `delete REPO` deletes a repository (blob files stay until GC),
// `delete REPO:TAG` a tag (the manifest stays until `mcp gc --untagged`); `check` is mcr's
// integrity check (registry-check.ts).
import { ConsoleError } from "../output/errors.ts";
import { cell } from "../output/screen.ts";
import { bytes } from "../../lib/text/bytes.ts";
import type { CommandSpec } from "./command.ts";
import type { VerifySample } from "../store/mcr-types.ts";
import { count } from "../views/format.ts";
import { need, splitReference } from "./reference.ts";
import { finite } from "./present.ts";
import { registryCheck } from "./registry-check.ts";
import { parseVerify } from "../views/registry-health.ts";

const short = (digest: string) => digest.replace(/^sha256:/, "").slice(0, 12);

const command: CommandSpec = {
  name: "registry",
  args: "<action> [args...]",
  summary: "the registry's repositories: repos | tags REPO | manifest REPO:TAG|REPO@DIGEST | delete REPO[:TAG] | check [--verify N|all]",
  options: [
    {
      flags: "--verify <n|all>",
      description: "check: read back this many blobs chosen at random (or all) and hash each against its digest",
      parse: (v) => parseVerify(v),
    },
  ],
  async run(ctx, [action, target, ref], o) {
    const store = ctx.store();
    const st = () => store.getState();
    if (o.verify !== undefined && action !== "check") throw new ConsoleError("usage", "--verify goes with mcp registry check");
    switch (action) {
      case "check":
        if (target) throw new ConsoleError("usage", `mcp registry check takes no argument (not ${JSON.stringify(target)}): --verify N or --verify all`);
        return registryCheck(ctx, (o.verify as VerifySample | undefined) ?? null);
      case "repos":
        await finite(
          ctx,
          () => st().listRepos(),
          (repos) => ({ repositories: repos }),
          (s, done) => ({
            sections: [
              {
                columns: ["repository", "tags", "manifests", "size", "pushed"],
                rows: s.mcr.repos.map((r) => [cell(r.name), cell(r.tagCount), cell(r.manifestCount), cell(bytes(r.totalSize)), cell(r.pushedAt || "-")]),
                empty: done ? "no repositories" : "",
              },
            ],
            notes: [],
            ...(done ? {} : { pending: "asking the registry" }),
          }),
        );
        return 0;
      case "tags": {
        const name = need(target, "repository: mcp registry tags REPO");
        await finite(
          ctx,
          () => st().loadRepo(name),
          (r) => r,
          (s, done) => {
            const r = s.mcr.repo;
            const size = (digest: string) => r?.manifests.find((m) => m.digest === digest);
            return {
              sections: r
                ? [
                    {
                      title: `${r.repository.name}: ${count(r.repository.tagCount, "tag")}, ${count(r.repository.manifestCount, "manifest")}, ${bytes(r.repository.totalSize)}`,
                      columns: ["tag", "digest", "size", "updated"],
                      rows: r.tags.map((t) => [
                        cell(t.name),
                        cell(short(t.digest)),
                        cell(bytes((size(t.digest)?.size ?? 0) + (size(t.digest)?.blobsSize ?? 0))),
                        cell(t.updatedAt),
                      ]),
                      empty: "no tags",
                    },
                  ]
                : [],
              notes: [],
              ...(done ? {} : { pending: `asking the registry for ${name}` }),
            };
          },
        );
        return 0;
      }
      case "manifest": {
        const { repository, reference } = splitReference(need(target, "reference: mcp registry manifest REPO:TAG or REPO@DIGEST"), ref);
        if (!reference) throw new ConsoleError("usage", "a tag or digest is needed: mcp registry manifest REPO:TAG or REPO@DIGEST");
        await finite(
          ctx,
          () => st().loadManifest(repository, reference),
          (m) => m,
          (s, done) => {
            const d = s.mcr.manifest;
            const m = d?.manifest;
            return {
              sections: m
                ? [
                    {
                      title: `${repository}@${m.digest}`,
                      columns: ["media type", "size", "created", "tags"],
                      rows: [[cell(m.mediaType), cell(bytes(m.size)), cell(m.createdAt), cell(m.tags.join(",") || "-")]],
                    },
                    {
                      title: `layers and config: ${bytes(m.blobsSize)}`,
                      columns: ["role", "digest", "media type", "size"],
                      rows: m.blobs.map((b) => [cell(b.role), cell(b.digest), cell(b.mediaType), cell(bytes(b.size))]),
                      empty: m.childDigests.length ? `an index of ${m.childDigests.length} manifests: ${m.childDigests.join(", ")}` : "no blobs",
                    },
                  ]
                : [],
              notes: [],
              ...(done ? {} : { pending: `asking the registry for ${repository}:${reference}` }),
            };
          },
        );
        return 0;
      }
      case "delete": {
        const { repository, reference } = splitReference(need(target, "repository: mcp registry delete REPO or REPO:TAG"), ref);
        if (reference.startsWith("sha256:")) throw new ConsoleError("usage", "delete takes REPO or REPO:TAG; a manifest by digest goes with GC once untagged");
        let counts = "";
        const run = async (): Promise<object> => {
          if (reference) return st().deleteTag(repository, reference);
          const r = await st().deleteRepo(repository);
          counts = `: ${count(r.manifestsDeleted, "manifest")}, ${count(r.tagsDeleted, "tag")}`;
          return r;
        };
        await finite(
          ctx,
          run,
          (r) => r,
          (_s, done) => ({
            sections: [],
            notes: done
              ? [
                  cell(
                    reference
                      ? `deleted tag ${repository}:${reference} (the manifest stays until mcp gc --untagged)`
                      : `deleted repository ${repository}${counts} (its blobs are freed by mcp gc)`,
                    "ok",
                  ),
                ]
              : [],
            ...(done ? {} : { pending: `deleting ${target}` }),
          }),
        );
        return 0;
      }
      default:
        throw new ConsoleError("usage", `unknown registry action ${JSON.stringify(action)}: repos, tags, manifest, delete or check`);
    }
  },
};

export default command;
