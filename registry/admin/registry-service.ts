// RegistryService: repositories, tags and manifests as the console and curl users see them.
import { Code, ConnectError, type HandlerContext, type ServiceImpl } from "@connectrpc/connect";
import type { Claims } from "../../lib/auth/types.ts";
import type { KeyLock } from "../locks/types.ts";
import type { MessageInitShape } from "@bufbuild/protobuf";
import type { RegistryService, ManifestSummarySchema, RepositorySummarySchema } from "../../proto/gen/mcr/v1/registry_pb.ts";
import type { AuditLog } from "../audit/audit-log.ts";
import type { Permission } from "../auth/access.ts";
import type { Inventory, ManifestInfo, RepositoryInfo } from "../db/inventory.ts";
import type { Metadata } from "../db/metadata.ts";
import { isValidName, isValidTag } from "../oci/names.ts";
import type { BlobStore } from "../storage/blob-store.ts";
import { DigestError, parseDigest } from "../storage/digest.ts";
import { callerKey } from "./interceptor.ts";

export interface RegistryServiceDeps {
  inventory: Inventory;
  meta: Metadata;
  store: BlobStore;
  uploadLocks: KeyLock;
  audit: AuditLog;
  deleteEnabled: boolean;
  /** The policy engine's answer for an account; absent when authentication is disabled. */
  allowed?: (claims: Claims, perm: Permission) => boolean;
}

const MAX_PAGE = 1000;

function repoSummary(r: RepositoryInfo): MessageInitShape<typeof RepositorySummarySchema> {
  return { name: r.name, tagCount: r.tagCount, manifestCount: r.manifestCount, totalSize: BigInt(r.totalSize), createdAt: r.createdAt, pushedAt: r.pushedAt };
}

function manifestSummary(m: ManifestInfo): MessageInitShape<typeof ManifestSummarySchema> {
  return {
    digest: m.digest,
    mediaType: m.mediaType,
    size: BigInt(m.size),
    createdAt: m.createdAt,
    tags: m.tags,
    blobs: m.blobs.map((b) => ({ digest: b.digest, size: BigInt(b.size), mediaType: b.mediaType, role: b.role })),
    blobsSize: BigInt(m.blobsSize),
    childDigests: m.childDigests,
    subjectDigest: m.subjectDigest,
    artifactType: m.artifactType,
  };
}

function checkRepoName(name: string): void {
  if (!isValidName(name)) throw new ConnectError(`invalid repository name ${JSON.stringify(name.slice(0, 100))}`, Code.InvalidArgument);
}

export function registryService(d: RegistryServiceDeps): ServiceImpl<typeof RegistryService> {
  const caller = (ctx: HandlerContext) => ctx.values.get(callerKey);
  const require = (ctx: HandlerContext, perm: Permission) => {
    const claims = caller(ctx);
    if (!claims || !d.allowed || claims.roles.includes("admin")) return;
    if (!d.allowed(claims, perm)) {
      throw new ConnectError(
        `${claims.username} may not ${perm.action.replace("registry:", "")}${perm.repository ? ` ${perm.repository}` : ""}`,
        Code.PermissionDenied,
      );
    }
  };
  const repository = async (name: string) => {
    checkRepoName(name);
    const repo = await d.inventory.repository(name);
    if (!repo) throw new ConnectError(`repository ${name} is not known`, Code.NotFound);
    return repo;
  };
  const deletesAllowed = () => {
    if (!d.deleteEnabled) throw new ConnectError("deletes are disabled on this registry ([storage] delete_enabled = false)", Code.FailedPrecondition);
  };
  const actor = (ctx: HandlerContext) => caller(ctx)?.subject ?? "anonymous";

  return {
    async listRepositories(req, ctx) {
      require(ctx, { action: "registry:catalog", repository: "" });
      if (req.limit < 0) throw new ConnectError("limit must not be negative", Code.InvalidArgument);
      const limit = Math.min(req.limit || 100, MAX_PAGE);
      const rows = await d.inventory.repositories(limit + 1, req.pageToken);
      const page = rows.slice(0, limit);
      return { repositories: page.map(repoSummary), nextPageToken: rows.length > limit ? page[page.length - 1]!.name : "" };
    },

    async getRepository(req, ctx) {
      require(ctx, { action: "registry:pull", repository: req.name });
      const repo = await repository(req.name);
      const [tags, manifests] = await Promise.all([d.inventory.tags(repo.id), d.inventory.manifests(repo.id)]);
      return { repository: repoSummary(repo), tags, manifests: manifests.map(manifestSummary) };
    },

    async getManifest(req, ctx) {
      require(ctx, { action: "registry:pull", repository: req.repository });
      const repo = await repository(req.repository);
      let digest = req.reference;
      if (req.reference.includes(":")) {
        try {
          digest = parseDigest(req.reference).text;
        } catch (err) {
          if (!(err instanceof DigestError)) throw err;
          throw new ConnectError(`invalid digest: ${err.message}`, Code.InvalidArgument);
        }
      } else {
        if (!isValidTag(req.reference)) throw new ConnectError(`invalid tag ${JSON.stringify(req.reference.slice(0, 100))}`, Code.InvalidArgument);
        const tagged = await d.inventory.tagDigest(repo.id, req.reference);
        if (!tagged) throw new ConnectError(`tag ${req.reference} is not known in repository ${req.repository}`, Code.NotFound);
        digest = tagged;
      }
      const [m] = await d.inventory.manifests(repo.id, digest);
      if (!m) throw new ConnectError(`manifest ${digest} is not known in repository ${req.repository}`, Code.NotFound);
      return { manifest: manifestSummary(m), content: m.content.toString("utf8") };
    },

    async deleteRepository(req, ctx) {
      deletesAllowed();
      checkRepoName(req.name);
      const gone = await d.inventory.deleteRepository(req.name);
      if (!gone) throw new ConnectError(`repository ${req.name} is not known`, Code.NotFound);
      for (const uuid of gone.uploads) await d.uploadLocks.run(uuid, () => d.store.cancelUpload(uuid));
      d.audit.record({
        type: "repo_deleted",
        actor: actor(ctx),
        repository: req.name,
        details: { manifests: String(gone.manifests), tags: String(gone.tags), via: "rpc" },
      });
      return { manifestsDeleted: gone.manifests, tagsDeleted: gone.tags };
    },

    async deleteTag(req, ctx) {
      deletesAllowed();
      checkRepoName(req.repository);
      if (!isValidTag(req.tag)) throw new ConnectError(`invalid tag ${JSON.stringify(req.tag.slice(0, 100))}`, Code.InvalidArgument);
      if (!(await d.meta.deleteTag(req.repository, req.tag)))
        throw new ConnectError(`tag ${req.tag} is not known in repository ${req.repository}`, Code.NotFound);
      d.audit.record({ type: "tag_deleted", actor: actor(ctx), repository: req.repository, details: { tag: req.tag, via: "rpc" } });
      return {};
    },
  };
}
