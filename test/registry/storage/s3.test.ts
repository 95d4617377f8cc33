// The S3 blob store against two S3-compatible servers, each in its own processes: s3rver (a
// Node reimplementation) and a real Ceph RADOS Gateway (test/helpers/ceph.ts). For each: the
// BlobStore contract (test/helpers/blob-store-contract.ts) with two instances as two
// replicas, then what sharing a bucket needs: chunks of one upload alternating between
// replicas and committed by a third that saw none of them, multipart bodies of unknown
// length, presigned URLs, an unreachable bucket.
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Readable, Writable } from "node:stream";
import { text } from "node:stream/consumers";
import { after, before, describe, test } from "node:test";
import { blobStoreContract, newUploadId as newId, sha } from "../../helpers/blob-store-contract.ts";
import { DigestMismatchError } from "../../../registry/storage/blob-store.ts";
import { createS3Client, type S3Settings } from "../../../registry/storage/s3-client.ts";
import { S3BlobStore } from "../../../registry/storage/s3.ts";
import { skipUnlessRadosgw, startRadosgw } from "../../helpers/ceph.ts";
import { s3CredentialsText, startS3, type S3Server } from "../../helpers/s3.ts";

async function collect(store: S3BlobStore, d: ReturnType<typeof sha>, range: { start: number; end: number }): Promise<Buffer> {
  const chunks: Buffer[] = [];
  const out = new Writable({
    write(c, _e, cb) {
      chunks.push(c as Buffer);
      cb();
    },
  });
  await (await store.reader(d, range)).copyTo(out, range);
  return Buffer.concat(chunks);
}

/** What the server does beyond objects: ListMultipartUploads, bucket policies, checking a HEAD's signature (s3rver none). */
interface Server {
  name: string;
  start: () => Promise<S3Server>;
  skip: string | false;
  listsMultipart: boolean;
  policies: boolean;
  signatures: boolean;
}
const SERVERS: Server[] = [
  { name: "s3rver", start: startS3, skip: false, listsMultipart: false, policies: false, signatures: false },
  { name: "radosgw", start: startRadosgw, skip: skipUnlessRadosgw(), listsMultipart: true, policies: true, signatures: true },
];

for (const { name, start, skip, listsMultipart, policies, signatures } of SERVERS) {
  if (skip) {
    test(`S3BlobStore on ${name}`, { skip }, () => undefined);
    continue;
  }
  blobStoreContract(`S3 (${name})`, async () => {
    const server = await start();
    const dir = mkdtempSync(join(tmpdir(), "s3contract-"));
    writeFileSync(join(dir, "credentials"), s3CredentialsText(server), { mode: 0o600 });
    const cfg: S3Settings = {
      endpoint: server.endpoint,
      region: "us-east-1",
      bucket: server.bucket,
      prefix: "contract/",
      pathStyle: true,
      credentialsFile: join(dir, "credentials"),
      redirect: false,
      redirectTtlMs: 60_000,
    };
    const [a, b] = [await S3BlobStore.open(cfg), await S3BlobStore.open(cfg)];
    return {
      a,
      b,
      close: async () => {
        a.close();
        b.close();
        await server.stop();
        rmSync(dir, { recursive: true, force: true });
      },
    };
  });

  describe(`S3BlobStore on ${name}: a bucket shared by replicas`, () => {
    let s3: S3Server;
    let dir: string;
    let settings: S3Settings;
    let a: S3BlobStore;
    let b: S3BlobStore;
    before(async () => {
      s3 = await start();
      dir = mkdtempSync(join(tmpdir(), "s3store-"));
      writeFileSync(join(dir, "credentials"), s3CredentialsText(s3), { mode: 0o600 });
      settings = {
        endpoint: s3.endpoint,
        region: "us-east-1",
        bucket: s3.bucket,
        prefix: "reg/",
        pathStyle: true,
        credentialsFile: join(dir, "credentials"),
        redirect: false,
        redirectTtlMs: 60_000,
      };
      a = await S3BlobStore.open(settings);
      b = await S3BlobStore.open(settings);
    });
    after(async () => {
      a?.close();
      b?.close();
      await s3?.stop();
      rmSync(dir, { recursive: true, force: true });
    });

    test("chunks alternating between two replicas, committed by a third party that saw none of them", async () => {
      const id = newId();
      const data = randomBytes(3 * 1024 * 1024 + 17);
      await a.startUpload(id);
      let size = 0;
      const chunk = 700 * 1024; // far below S3's 5 MiB part minimum
      for (let i = 0; size < data.length; i++) {
        const part = data.subarray(size, size + chunk);
        size = await (i % 2 ? b : a).appendUpload(id, size, Readable.from([part]), { expectedLength: part.length });
      }
      const c = await S3BlobStore.open(settings);
      try {
        await assert.rejects(c.commitUpload(id, size, sha("not it")), DigestMismatchError);
        await c.commitUpload(id, size, sha(data));
      } finally {
        c.close();
      }
      assert.deepEqual(await text(await a.open(sha(data))), data.toString());
      assert.equal(await b.stat(sha(data)), data.length);
    });

    test("a large upload whose body length is unknown goes up in parts and assembles into one object", async () => {
      const id = newId();
      const data = randomBytes(9 * 1024 * 1024);
      await a.startUpload(id);
      const first = await a.appendUpload(id, 0, Readable.from([data.subarray(0, 6e6)])); // no expectedLength: multipart
      const size = await b.appendUpload(id, first, Readable.from([data.subarray(6e6)]));
      await a.commitUpload(id, size, sha(data));
      assert.equal(await a.stat(sha(data)), data.length);
      assert.deepEqual(await collect(b, sha(data), { start: 5e6, end: 7e6 - 1 }), data.subarray(5e6, 7e6));
    });

    test("a presigned URL serves the blob and its ranges without credentials", async () => {
      const id = newId();
      await a.startUpload(id);
      await a.commitUpload(id, await a.appendUpload(id, 0, Readable.from([Buffer.from("presigned bytes")])), sha("presigned bytes"));
      const url = await a.redirectUrl(sha("presigned bytes"));
      assert.match(url, /X-Amz-Signature=/);
      assert.equal(await (await fetch(url)).text(), "presigned bytes");
      const part = await fetch(url, { headers: { Range: "bytes=10-14" } });
      assert.equal(part.status, 206);
      assert.equal(await part.text(), "bytes");
    });

    // Declared only where the server has the feature (s3rver has no ListMultipartUploads, no
    // bucket policies, and accepts any signature on HEAD): not a skipped check on the others.
    if (listsMultipart)
      test("cancel aborts the multipart upload of a chunk whose replica died mid-chunk", async () => {
        const id = newId();
        await a.startUpload(id);
        const sdk = await import("@aws-sdk/client-s3");
        const client = await createS3Client(settings);
        const Prefix = `${settings.prefix}uploads/${id}/`;
        const pending = async () => (await client.send(new sdk.ListMultipartUploadsCommand({ Bucket: s3.bucket, Prefix }))).Uploads ?? [];
        try {
          const Key = `${Prefix}${"0".padStart(16, "0")}`;
          const { UploadId } = await client.send(new sdk.CreateMultipartUploadCommand({ Bucket: s3.bucket, Key }));
          await client.send(new sdk.UploadPartCommand({ Bucket: s3.bucket, Key, UploadId, PartNumber: 1, Body: randomBytes(1024) }));
          assert.equal((await pending()).length, 1);
          await b.cancelUpload(id);
          assert.deepEqual(await pending(), []);
        } finally {
          client.destroy();
        }
      });

    if (policies)
      test("objects a multi-object delete refuses (a bucket policy here) fail the cancel instead of passing in silence", async () => {
        const id = newId();
        await a.startUpload(id);
        await a.appendUpload(id, 0, Readable.from([Buffer.from("kept")]));
        const sdk = await import("@aws-sdk/client-s3");
        const client = await createS3Client(settings);
        const deny = { Effect: "Deny", Principal: "*", Action: "s3:DeleteObject", Resource: `arn:aws:s3:::${s3.bucket}/${settings.prefix}uploads/${id}/*` };
        try {
          await client.send(new sdk.PutBucketPolicyCommand({ Bucket: s3.bucket, Policy: JSON.stringify({ Version: "2012-10-17", Statement: [deny] }) }));
          await assert.rejects(a.cancelUpload(id), new RegExp(`upload ${id} were not deleted: .*AccessDenied`));
          assert.ok((await a.listUploads()).includes(id));
        } finally {
          await client.send(new sdk.DeleteBucketPolicyCommand({ Bucket: s3.bucket }));
          client.destroy();
        }
        await a.cancelUpload(id);
        assert.ok(!(await a.listUploads()).includes(id));
      });

    test("a bucket that cannot be reached fails at open, naming it and saying why", async () => {
      await assert.rejects(S3BlobStore.open({ ...settings, bucket: "no-such-bucket" }), /bucket no-such-bucket .*: 404 no such bucket$/);
    });

    if (signatures)
      test("credentials the server refuses fail at open as access denied", async () => {
        const wrong = join(dir, "wrong-credentials");
        writeFileSync(wrong, s3CredentialsText({ ...s3, secretAccessKey: "not-the-secret" }), { mode: 0o600 });
        await assert.rejects(
          S3BlobStore.open({ ...settings, credentialsFile: wrong }),
          new RegExp(`bucket ${s3.bucket} .*: 403 access denied: the credentials were refused`),
        );
      });
  });
}
