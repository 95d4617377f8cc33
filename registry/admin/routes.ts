// The registry's admin Connect-RPC service (the seeds' gRPC admin API), served
// on the OCI listener under /mcr.v1.*. Health needs no token.
import type { ConnectRouter, ServiceImpl } from "@connectrpc/connect";
import { Code, ConnectError } from "@connectrpc/connect";
import { AdminService } from "../../proto/gen/mcr/v1/admin_pb.ts";
import type { Metadata } from "../db/metadata.ts";

export interface AdminDeps {
  meta: Pick<Metadata, "ping">;
  version: string;
}

export function adminService(deps: AdminDeps): ServiceImpl<typeof AdminService> {
  return {
    async health() {
      try {
        await deps.meta.ping();
      } catch {
        throw new ConnectError("database is not answering", Code.Unavailable);
      }
      return { status: "ok", version: deps.version };
    },
  };
}

export function adminRoutes(deps: AdminDeps) {
  return (router: ConnectRouter) => {
    router.service(AdminService, adminService(deps));
  };
}
