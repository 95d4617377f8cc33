// An S3-compatible server for the tests: s3rver (npm, dev dependency) in its own process on
// an OS-chosen loopback port, data in a temporary folder, with one bucket. It lists with a
// DES continuation token, which OpenSSL 3 only offers through its legacy provider.
import { spawn, type ChildProcess } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { REPO_ROOT } from "./mcr-process.ts";

export interface S3Server {
  endpoint: string;
  bucket: string;
  /** s3rver's fixed credentials, as an AWS credentials file would give them. */
  accessKeyId: string;
  secretAccessKey: string;
  dir: string;
  child: ChildProcess;
  /** Kills the server (the bucket becomes unreachable) and starts it again on the same port and data. */
  halt(): Promise<void>;
  resume(): Promise<void>;
  stop(): Promise<void>;
}

const MAIN = `
const S3rver = require("s3rver");
const [dir, bucket, port] = process.argv.slice(1);
new S3rver({ port: Number(port), address: "127.0.0.1", silent: true, directory: dir, configureBuckets: [{ name: bucket }] })
  .run()
  .then(({ port }) => process.stdout.write(JSON.stringify({ port }) + "\\n"));
`;

export async function startS3(bucket = "mcr-test"): Promise<S3Server> {
  const dir = mkdtempSync(join(tmpdir(), "s3-test-"));
  let { child, port } = await spawnS3(dir, bucket, 0).catch((err) => {
    rmSync(dir, { recursive: true, force: true });
    throw err;
  });
  const exited = () =>
    child.exitCode !== null || child.signalCode !== null ? Promise.resolve() : new Promise<void>((resolve) => child.once("exit", () => resolve()));
  return {
    endpoint: `http://127.0.0.1:${port}`,
    bucket,
    accessKeyId: "S3RVER",
    secretAccessKey: "S3RVER",
    dir,
    get child() {
      return child;
    },
    async halt() {
      child.kill("SIGKILL");
      await exited();
    },
    async resume() {
      ({ child } = await spawnS3(dir, bucket, port));
    },
    async stop() {
      if (child.exitCode === null && child.signalCode === null) child.kill("SIGTERM");
      await exited();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

async function spawnS3(dir: string, bucket: string, wantPort: number): Promise<{ child: ChildProcess; port: number }> {
  const child = spawn(process.execPath, ["--openssl-legacy-provider", "-e", MAIN, dir, bucket, String(wantPort)], {
    cwd: REPO_ROOT,
    stdio: ["ignore", "pipe", "pipe"],
  });
  let out = "";
  const port = await new Promise<number>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`s3rver did not start: ${out}`)), 15_000);
    child.stdout!.on("data", (d: Buffer) => {
      out += d.toString();
      const m = /"port":(\d+)/.exec(out);
      if (m) {
        clearTimeout(timer);
        resolve(Number(m[1]));
      }
    });
    child.stderr!.on("data", (d: Buffer) => (out += d.toString()));
    child.once("exit", (code) => {
      clearTimeout(timer);
      reject(new Error(`s3rver exited (${code}): ${out}`));
    });
  }).catch((err) => {
    child.kill("SIGKILL");
    throw err;
  });
  return { child, port };
}

/** An AWS credentials file for the server, written into `dir`. */
export function s3CredentialsText(s: S3Server): string {
  return `[default]\naws_access_key_id = ${s.accessKeyId}\naws_secret_access_key = ${s.secretAccessKey}\n`;
}
