// `mcr snapshot`: a consistent copy of the database in <database folder>/backups/
// (mcr-YYYYMMDD-HHMMSS.db). Through the running server (SQLite online backup on its own
// connection, while it keeps serving), or directly when it is stopped.
import { AdminService } from "../../proto/gen/mcr/v1/admin_pb.ts";
import { snapshot, type SnapshotInfo } from "../db/backup.ts";
import { loadRegistryConfig, openOffline, runningServer, serverClient } from "./offline.ts";

export async function snapshotCommand(o: { config: string }): Promise<SnapshotInfo> {
  const cfg = loadRegistryConfig(o.config);
  if (cfg.database.url) throw new Error("mcr snapshot copies the embedded SQLite database; back up PostgreSQL with pg_dump (docs/scale-out.md)");
  const socket = runningServer(cfg);
  if (socket) {
    const r = await serverClient(AdminService, socket).snapshot({});
    return { path: r.path, size: Number(r.size), createdAt: r.createdAt };
  }
  const off = await openOffline(cfg, "snapshot");
  try {
    return await snapshot(off.sqlite!, cfg.database.path);
  } finally {
    await off.close();
  }
}
