// The failure modes of a replica on PostgreSQL + S3 (test/integration/scale-out-failures.test.ts)
// again, with the bucket on a real Ceph RADOS Gateway instead of s3rver (test/helpers/ceph.ts):
// halt() kills radosgw alone, so the cluster behind it keeps the objects.
import { test } from "node:test";
import { skipUnlessRadosgw } from "../helpers/ceph.ts";

const skip = skipUnlessRadosgw();
if (skip) {
  test("scale-out failure modes on PostgreSQL + radosgw", { skip }, () => undefined);
} else {
  process.env.METACIRCULAR_TEST_S3 = "radosgw";
  await import("./scale-out-failures.test.ts");
}
