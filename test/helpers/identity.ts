// Helpers for tests that log in to mcr's identity API and call its admin RPCs.
import { execFile } from "node:child_process";
import { promisify } from "node:util";
import { createClient, type Client } from "@connectrpc/connect";
import { createConnectTransport } from "@connectrpc/connect-node";
import type { DescService } from "@bufbuild/protobuf";
import type { RegistryClient } from "./https-client.ts";
import { MCR_BIN, type McrHome } from "./mcr-process.ts";

const run = promisify(execFile);

/** A token issued for `service`: "mcr" for the registry, "mcp-agent" for agents (each takes only its own). */
export async function login(client: RegistryClient, username: string, password: string, service = "mcr"): Promise<string> {
  const res = await client.request("POST", "/v1/auth/login", {
    headers: { "Content-Type": "application/json" },
    body: JSON.stringify({ username, password, service_name: service, tags: [] }),
  });
  if (res.status !== 200) throw new Error(`login ${username}: HTTP ${res.status} ${res.text}`);
  return res.json().token as string;
}

/** Creates an account with `mcr account add` and returns its password. */
export async function addAccount(home: McrHome, username: string, type: "human" | "system", roles: string[]): Promise<string> {
  const password = `pw-${username}-${Math.random().toString(36).slice(2)}-long`;
  const child = execFile(MCR_BIN, ["account", "add", username, "--type", type, "--role", ...roles, "--stdin", "--config", home.config]);
  child.stdin!.end(password);
  await new Promise<void>((resolve, reject) =>
    child.on("exit", (code) => (code === 0 ? resolve() : reject(new Error(`mcr account add ${username} exited ${code}`)))),
  );
  return password;
}

export async function mcrCli(args: string[]): Promise<string> {
  return (await run(MCR_BIN, args)).stdout;
}

export function adminClient<S extends DescService>(service: S, url: string, caPem: string): Client<S> {
  return createClient(service, createConnectTransport({ baseUrl: url, httpVersion: "1.1", nodeOptions: { ca: caPem } }));
}

export const bearer = (token: string) => ({ headers: { Authorization: `Bearer ${token}` } });
