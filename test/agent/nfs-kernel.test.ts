// The NFS mount with the real mount program: on a kernel without an NFS client the error says
// so; with one, a mount of an export that does not exist fails naming it.
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { kernelSupportsNfs, mountNfs } from "../../agent/placement/nfs.ts";

test("with the real mount program the kernel's missing NFS client is reported clearly", async () => {
  const dir = mkdtempSync(join(tmpdir(), "nfs-kernel-"));
  try {
    const attempt = mountNfs({
      exportSpec: "127.0.0.1:/nonexistent",
      target: join(dir, "real-mount-target"),
      options: "nfsvers=4.2,hard,timeo=10,retrans=1",
      mountCommand: "mount",
      checkKernel: true,
    });
    if (kernelSupportsNfs()) await assert.rejects(attempt, /mounting 127.0.0.1:\/nonexistent at .* failed/);
    else await assert.rejects(attempt, /this kernel cannot mount NFS \(no nfs4 in \/proc\/filesystems\)/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
