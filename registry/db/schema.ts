// Table types for kysely. Columns mirror the migration in migrations.ts.
import type { ColumnType, Generated } from "kysely";

type CreatedAt = ColumnType<string, string | undefined, never>;

export interface RepositoriesTable {
  id: Generated<number>;
  name: string;
  created_at: CreatedAt;
}

export interface BlobsTable {
  id: Generated<number>;
  digest: string;
  size: number;
  created_at: CreatedAt;
  /** Last upload, mount, existence check or reference (GC's grace window); NULL means created_at. */
  last_used_at: string | null;
}

/** Which blobs a repository may serve: uploaded into it, mounted into it, or referenced by its manifests. */
export interface RepositoryBlobsTable {
  repository_id: number;
  blob_id: number;
  created_at: CreatedAt;
}

export interface ManifestsTable {
  id: Generated<number>;
  repository_id: number;
  digest: string;
  media_type: string;
  content: Buffer;
  size: number;
  /** The `subject` descriptor's digest, for the referrers API. */
  subject_digest: string | null;
  artifact_type: string | null;
  created_at: CreatedAt;
  /** Last push of this manifest (GC of untagged manifests); NULL means created_at. */
  last_used_at: string | null;
}

export interface TagsTable {
  id: Generated<number>;
  repository_id: number;
  name: string;
  manifest_id: number;
  updated_at: string;
}

export interface ManifestBlobsTable {
  manifest_id: number;
  blob_id: number;
}

/** Manifests an index or manifest list names, by digest, within the same repository. */
export interface ManifestChildrenTable {
  manifest_id: number;
  child_digest: string;
}

export interface UploadsTable {
  id: Generated<number>;
  uuid: string;
  repository_id: number;
  /** Bytes acknowledged to the client; the upload file is cut back to this on resume. */
  byte_offset: number;
  created_at: CreatedAt;
  updated_at: string;
}

export interface AccountsTable {
  id: string;
  username: string;
  /** scrypt, see registry/identity/passwords.ts */
  password_hash: string;
  account_type: "human" | "system";
  /** JSON array of role names. */
  roles: string;
  disabled: number;
  created_at: CreatedAt;
  updated_at: string;
}

/** Issued bearer tokens, stored only as SHA-256 hashes. */
export interface TokensTable {
  token_hash: string;
  account_id: string;
  service_name: string;
  /** JSON array. */
  tags: string;
  issued_at: string;
  expires_at: string;
  revoked_at: string | null;
}

/** Short-lived tokens that may only pull one repository (registry/auth/pull-tokens.ts), stored as SHA-256 hashes. */
export interface PullTokensTable {
  token_hash: string;
  repository: string;
  /** The caller's claims when the token was issued: subject, user name, type, roles (JSON array). */
  account_id: string;
  username: string;
  account_type: "human" | "system";
  roles: string;
  issued_at: string;
  expires_at: string;
}

export interface PolicyRulesTable {
  id: Generated<number>;
  priority: number;
  description: string;
  /** The rule's matching fields and effect, as JSON (lib/policy/rules.ts). */
  rule_json: string;
  enabled: number;
  created_by: string | null;
  created_at: CreatedAt;
  updated_at: string;
}

export interface AuditLogTable {
  id: Generated<number>;
  event_time: string;
  event_type: string;
  actor_id: string | null;
  repository: string | null;
  digest: string | null;
  ip_address: string | null;
  /** JSON object of strings. */
  details: string | null;
}

/** A node registered with `mcr.v1.NodeService/AddNode`; state "pending" until it joins. */
export interface NodesTable {
  name: string;
  url: string;
  /** JSON array of the names and addresses its certificates carry. */
  hostnames: string;
  state: "pending" | "joined";
  account_id: string | null;
  policy_rule_id: number | null;
  /** SHA-256 of the join token's secret; NULL once used. */
  join_secret_hash: string | null;
  token_expires_at: string | null;
  created_by: string;
  created_at: string;
  joined_at: string | null;
}

/** Every certificate the node signer issued; revoked_at set when its node is removed. */
export interface NodeCertsTable {
  serial: string;
  node: string;
  issued_at: string;
  expires_at: string;
  revoked_at: string | null;
}

/** One failed login under one rate-limit key (registry/identity/rate-limit.ts); pruned past the window. */
export interface LoginFailuresTable {
  /** SHA-256 (hex) of what is counted: an account and address, or an address. */
  key: string;
  /** Milliseconds since the epoch. */
  failed_at: number;
}

export interface RegistryDatabase {
  login_failures: LoginFailuresTable;
  nodes: NodesTable;
  node_certs: NodeCertsTable;
  accounts: AccountsTable;
  tokens: TokensTable;
  pull_tokens: PullTokensTable;
  policy_rules: PolicyRulesTable;
  audit_log: AuditLogTable;
  repositories: RepositoriesTable;
  blobs: BlobsTable;
  repository_blobs: RepositoryBlobsTable;
  manifests: ManifestsTable;
  tags: TagsTable;
  manifest_blobs: ManifestBlobsTable;
  manifest_children: ManifestChildrenTable;
  uploads: UploadsTable;
}
