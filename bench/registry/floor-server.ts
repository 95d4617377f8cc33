// The least a Node server can do to serve a blob: answer every GET with one file through mcr's
// own copy loop (registry/storage/copy-range.ts), with mcr's TLS settings and nothing else: no
// routing, no authentication, no database, no logging. bench/registry/limits.ts sets it beside
// mcr: what mcr adds on top of it is mcr's own cost; what separates it from nginx is Node's.
//
//   node --import tsx bench/registry/floor-server.ts <http|https> <file> [cert key]
// prints {"port":N} on stdout once it listens on 127.0.0.1.
import { statSync } from "node:fs";
import { open } from "node:fs/promises";
import { createServer as createHttp, type IncomingMessage, type ServerResponse } from "node:http";
import { createServer as createHttps } from "node:https";
import { serverTlsOptions } from "../../lib/tls/server-options.ts";
import { copyFileRange } from "../../registry/storage/copy-range.ts";

const [proto, file, cert, key] = process.argv.slice(2);
if ((proto !== "http" && proto !== "https") || !file || (proto === "https" && (!cert || !key))) {
  process.stderr.write("usage: floor-server.ts <http|https> <file> [cert key]\n");
  process.exit(2);
}
const size = statSync(file).size;

async function serve(req: IncomingMessage, res: ServerResponse): Promise<void> {
  req.resume();
  const fh = await open(file!, "r");
  res.writeHead(200, { "Content-Type": "application/octet-stream", "Content-Length": size });
  await copyFileRange(fh, { start: 0, end: size - 1 }, res).finally(() => fh.close());
}

const handler = (req: IncomingMessage, res: ServerResponse) => void serve(req, res).catch((err) => res.destroy(err));
const server = proto === "https" ? createHttps(serverTlsOptions(cert!, key!), handler) : createHttp(handler);
server.listen(0, "127.0.0.1", () => {
  process.stdout.write(`${JSON.stringify({ port: (server.address() as { port: number }).port })}\n`);
});
for (const sig of ["SIGTERM", "SIGINT"] as const) process.once(sig, () => server.close(() => process.exit(0)));
