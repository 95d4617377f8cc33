// What the audit log records: the event types and one event's fields.

export const AUDIT_EVENT_TYPES = [
  "login_ok",
  "login_fail",
  "logout",
  "manifest_pushed",
  "manifest_pulled",
  "manifest_deleted",
  "tag_deleted",
  "blob_uploaded",
  "blob_deleted",
  "repo_deleted",
  "policy_deny",
  "policy_rule_created",
  "policy_rule_updated",
  "policy_rule_deleted",
  "gc_started",
  "gc_completed",
  "account_created",
  "account_updated",
  "pull_token_issued",
  "node_added",
  "node_joined",
  "node_removed",
  // Reported by the agents (AuditService/RecordAgentEvent).
  "exec_started",
  "exec_finished",
] as const;
export type AuditEventType = (typeof AUDIT_EVENT_TYPES)[number];

export interface AuditEvent {
  type: AuditEventType;
  actor?: string;
  repository?: string;
  digest?: string;
  ip?: string;
  details?: Record<string, string>;
}
