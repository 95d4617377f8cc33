// Did a new container really start? It must still be up after a grace period,
// and not thanks to podman's restart policy bringing a crashing process back.
import { NoSuchContainerError, type Runtime } from "../runtime/runtime.ts";

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Starts a container and watches it; returns why it failed, if it did. */
export async function startAndWatch(runtime: Runtime, name: string, graceMs: number): Promise<string | undefined> {
  try {
    await runtime.start(name);
  } catch (err) {
    return `the new container did not start: ${(err as Error).message}`;
  }
  return watchStart(runtime, name, graceMs);
}

/** Checks a started container after `graceMs`; returns why it is not up, with its last output. */
export async function watchStart(runtime: Runtime, name: string, graceMs: number): Promise<string | undefined> {
  if (graceMs > 0) await sleep(graceMs);
  const info = await runtime.inspect(name).catch((err) => {
    if (err instanceof NoSuchContainerError) return undefined;
    throw err;
  });
  // podman's restart policy brings a crashing container back, so "running" alone proves nothing.
  if (info?.state === "running" && !info.restartCount) return undefined;
  const tail: string[] = [];
  try {
    for await (const l of runtime.logs(name, { follow: false, tail: 10, timestamps: false }, AbortSignal.timeout(5000))) tail.push(l.line);
  } catch {
    /* logs are a courtesy here */
  }
  const how = info?.restartCount
    ? `kept crashing (restarted ${info.restartCount} times)`
    : `exited (${info?.state ?? "gone"}${info?.exitCode !== undefined ? `, exit code ${info.exitCode}` : ""})`;
  return `the new container ${how}${tail.length ? `; last output: ${tail.join(" | ")}` : ""}`;
}
