// bench/token: requests/s of the Docker token endpoint (GET /v2/token with HTTP Basic),
// the request podman and skopeo make before nearly every operation. One account with the
// same credentials each time (answered from the credential cache after the first), and
// many accounts (each one's first request pays scrypt). Prints figures; asserts nothing.
import { RegistryClient } from "../../test/helpers/https-client.ts";
import { addAccount } from "../../test/helpers/identity.ts";
import { initHome, removeHome, startMcr } from "../../test/helpers/mcr-process.ts";

const REQUESTS = Number(process.env.REQUESTS ?? 400);
const ACCOUNTS = Number(process.env.ACCOUNTS ?? 40);
const CONCURRENCY = Number(process.env.CONCURRENCY ?? 8);

const basic = (u: string, p: string) => ({ Authorization: `Basic ${Buffer.from(`${u}:${p}`).toString("base64")}` });
const pct = (xs: number[], q: number) => [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor(xs.length * q))]!;

async function run(client: RegistryClient, creds: [string, string][], total: number, concurrency: number): Promise<{ rps: number; p50: number; p99: number }> {
  const lat: number[] = [];
  let next = 0;
  const start = performance.now();
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      for (let i = next++; i < total; i = next++) {
        const [u, p] = creds[i % creds.length]!;
        const t = performance.now();
        const res = await client.request("GET", "/v2/token?service=mcr", { headers: basic(u, p) });
        if (res.status !== 200) throw new Error(`token for ${u}: HTTP ${res.status} ${res.text}`);
        lat.push(performance.now() - t);
      }
    }),
  );
  const secs = (performance.now() - start) / 1000;
  return { rps: total / secs, p50: pct(lat, 0.5), p99: pct(lat, 0.99) };
}

async function main() {
  const home = await initHome();
  const mcr = await startMcr(home, {}, { auth: true });
  const client = new RegistryClient(mcr.url, home.caPem);
  const out: string[] = [];
  const line = (what: string, r: { rps: number; p50: number; p99: number }) =>
    out.push(`| ${what} | ${r.rps.toFixed(0)} | ${r.p50.toFixed(1)} | ${r.p99.toFixed(1)} |`);
  try {
    const one: [string, string][] = [["bench", await addAccount(home, "bench", "human", ["user"])]];
    const many: [string, string][] = [];
    for (let i = 0; i < ACCOUNTS; i++) many.push([`bench${i}`, await addAccount(home, `bench${i}`, "human", ["user"])]);
    out.push("| workload | requests/s | p50 ms | p99 ms |", "|---|---|---|---|");
    line(`one account, first request (scrypt)`, await run(client, one, 1, 1));
    line(`one account, ${REQUESTS} sequential`, await run(client, one, REQUESTS, 1));
    line(`one account, ${REQUESTS}, ${CONCURRENCY} concurrent`, await run(client, one, REQUESTS, CONCURRENCY));
    line(`${ACCOUNTS} accounts, first request each (scrypt), ${CONCURRENCY} concurrent`, await run(client, many, ACCOUNTS, CONCURRENCY));
    line(`${ACCOUNTS} accounts, ${REQUESTS} round-robin, ${CONCURRENCY} concurrent`, await run(client, many, REQUESTS, CONCURRENCY));
    process.stdout.write(out.join("\n") + "\n");
  } finally {
    client.close();
    await mcr.stop();
    removeHome(home);
  }
}

await main();
