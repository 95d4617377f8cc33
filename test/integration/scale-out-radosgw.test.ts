// The OCI and identity suites on PostgreSQL + S3 (test/integration/scale-out-suites.test.ts)
// again, with the bucket on a real Ceph RADOS Gateway instead of s3rver (test/helpers/ceph.ts).
import { test } from "node:test";
import { skipUnlessRadosgw } from "../helpers/ceph.ts";

const skip = skipUnlessRadosgw();
if (skip) {
  test("OCI and identity suites on PostgreSQL + radosgw", { skip }, () => undefined);
} else {
  process.env.METACIRCULAR_TEST_S3 = "radosgw";
  await import("./scale-out-suites.test.ts");
}
