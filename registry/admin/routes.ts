// The registry's admin Connect-RPC services (its gRPC admin API), served on the
// OCI listener under /mcr.v1.* and, for the operator, on the local admin socket. The
// REST equivalents under /v1/ (rest.ts) call the same implementations.
import type { DescService } from "@bufbuild/protobuf";
import type { ConnectRouter, ServiceImpl } from "@connectrpc/connect";
import { AdminService } from "../../proto/gen/mcr/v1/admin_pb.ts";
import { AuditService } from "../../proto/gen/mcr/v1/audit_pb.ts";
import { GcService } from "../../proto/gen/mcr/v1/gc_pb.ts";
import { NodeService } from "../../proto/gen/mcr/v1/node_pb.ts";
import { PolicyService } from "../../proto/gen/mcr/v1/policy_pb.ts";
import { RegistryService } from "../../proto/gen/mcr/v1/registry_pb.ts";
import type { AuditLog } from "../audit/audit-log.ts";
import type { GcManager } from "../gc/manager.ts";
import type { PolicyStore } from "../policy/store.ts";
import { adminService, type AdminServiceDeps } from "./admin-service.ts";
import { auditService } from "./audit-service.ts";
import type { NodeRegistrar } from "../nodes/registrar.ts";
import { nodeService } from "./node-service.ts";
import { gcService } from "./gc-service.ts";
import { policyService } from "./policy-service.ts";
import { registryService, type RegistryServiceDeps } from "./registry-service.ts";

export interface AdminRouteDeps extends AdminServiceDeps {
  policies: PolicyStore;
  audit: AuditLog;
  /** Absent in tests that serve only Health, Policy and Audit. */
  gc?: GcManager;
  /** [gc] grace, for runs that do not name one. */
  defaultGraceMs?: number;
  registry?: RegistryServiceDeps;
  nodes?: NodeRegistrar;
}

/** Each service with its implementation. */
export function adminImplementations(deps: AdminRouteDeps): [DescService, ServiceImpl<DescService>][] {
  const list: [DescService, ServiceImpl<DescService>][] = [
    [AdminService, adminService(deps) as ServiceImpl<DescService>],
    [PolicyService, policyService(deps.policies) as ServiceImpl<DescService>],
    [AuditService, auditService(deps.audit) as ServiceImpl<DescService>],
  ];
  if (deps.gc) list.push([GcService, gcService(deps.gc, deps.defaultGraceMs ?? 3_600_000) as ServiceImpl<DescService>]);
  if (deps.nodes) list.push([NodeService, nodeService(deps.nodes) as ServiceImpl<DescService>]);
  if (deps.registry) list.push([RegistryService, registryService(deps.registry) as ServiceImpl<DescService>]);
  return list;
}

export function adminRoutes(deps: AdminRouteDeps) {
  const impls = adminImplementations(deps);
  return (router: ConnectRouter) => {
    for (const [service, impl] of impls) router.service(service, impl);
  };
}
