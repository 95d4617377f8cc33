// The registry's admin Connect-RPC service (the seeds' gRPC admin API), served
// on the OCI listener under /mcr.v1.*. Health needs no token.
import type { ConnectRouter, ServiceImpl } from "@connectrpc/connect";
import { Code, ConnectError } from "@connectrpc/connect";
import { AdminService } from "../../proto/gen/mcr/v1/admin_pb.ts";
import type { Logger } from "../../lib/log/logger.ts";
import type { Metadata } from "../db/metadata.ts";
import { PolicyService } from "../../proto/gen/mcr/v1/policy_pb.ts";
import { AuditService } from "../../proto/gen/mcr/v1/audit_pb.ts";
import type { PolicyStore } from "../policy/store.ts";
import type { AuditLog } from "../audit/audit-log.ts";
import { policyService } from "./policy-service.ts";
import { auditService } from "./audit-service.ts";

export interface AdminDeps {
  meta: Pick<Metadata, "ping">;
  version: string;
  log: Logger;
}

export function adminService(deps: AdminDeps): ServiceImpl<typeof AdminService> {
  return {
    async health() {
      try {
        await deps.meta.ping();
      } catch (err) {
        deps.log.error({ err }, "health check failed: the database is not answering");
        // Health is public: the caller gets the summary; the cause stays on the error and in the log.
        throw new ConnectError("database is not answering", Code.Unavailable, undefined, undefined, err);
      }
      return { status: "ok", version: deps.version };
    },
  };
}

export interface AdminRouteDeps extends AdminDeps {
  policies: PolicyStore;
  audit: AuditLog;
}

export function adminRoutes(deps: AdminRouteDeps) {
  return (router: ConnectRouter) => {
    router.service(AdminService, adminService(deps));
    router.service(PolicyService, policyService(deps.policies));
    router.service(AuditService, auditService(deps.audit));
  };
}
