// The project's OCI protocol and identity/policy suites, run again against the scale-out
// configuration: every registry they start keeps its metadata in PostgreSQL 15 (a database
// of its own) and its blobs in an S3-compatible bucket (s3rver, a prefix of its own), made
// by `mcr init --database-url … --s3-…` (test/helpers/mcr-process.ts).
import { after, test } from "node:test";
import { skipUnlessPostgres } from "../helpers/postgres.ts";

const SUITES = ["oci-pull", "oci-push-blobs", "oci-push-manifests", "oci-discovery-delete", "oci-hostile", "identity", "pull-tokens"];

const skip = skipUnlessPostgres();
if (skip) {
  test("OCI and identity suites on PostgreSQL + S3", { skip }, () => undefined);
} else {
  process.env.METACIRCULAR_TEST_BACKEND = "postgres-s3";
  const { stopScaleOutServers } = await import("../helpers/mcr-process.ts");
  after(stopScaleOutServers);
  for (const suite of SUITES) await import(`./${suite}.test.ts`);
}
