#!/usr/bin/env node
// mcr: the Metacircular container registry. `init` creates the embedded
// default; `server` runs the registry until SIGTERM/SIGINT.
import { Command } from "commander";
import { ConfigError } from "../lib/config/load.ts";
import { createLogger } from "../lib/log/logger.ts";
import { initRegistry } from "./commands/init.ts";
import { loadRegistryConfig } from "./config.ts";
import { startRegistry } from "./server/registry-server.ts";
import { version } from "./version.ts";


function fail(message: string): never {
  process.stderr.write(`mcr: ${message}\n`);
  process.exit(1);
}

const program = new Command("mcr").description("Metacircular container registry (OCI Distribution v1.1)").version(version);

program
  .command("init")
  .description("create a CA, a server certificate, a config, the database and storage folders")
  .requiredOption("--dir <dir>", "platform home for this registry")
  .option("--listen <addr>", "listen address written to the config", "127.0.0.1:8443")
  .option("--hostname <name...>", "extra DNS names or IPs for the server certificate", [])
  .option("--force", "rewrite config and certificates of an existing home (the CA and data are kept)", false)
  .option("--json", "print the result as JSON", false)
  .action(async (opts: { dir: string; listen: string; hostname: string[]; force: boolean; json: boolean }) => {
    try {
      const r = await initRegistry({ dir: opts.dir, listen: opts.listen, hostnames: opts.hostname, force: opts.force });
      if (opts.json) process.stdout.write(JSON.stringify(r) + "\n");
      else process.stdout.write(`initialized ${r.dir}\n  config:  ${r.config}\n  CA cert: ${r.caCert} (give this to clients)\nstart with: mcr server --config ${r.config}\n`);
    } catch (err) {
      fail((err as Error).message);
    }
  });

program
  .command("server")
  .description("serve the registry")
  .requiredOption("--config <file>", "path to mcr.toml")
  .action(async (opts: { config: string }) => {
    let cfg;
    try {
      cfg = loadRegistryConfig(opts.config);
    } catch (err) {
      fail(err instanceof ConfigError ? err.message : `config: ${(err as Error).message}`);
    }
    const log = createLogger("mcr", cfg.log.level);
    let running;
    try {
      running = await startRegistry(cfg, log);
    } catch (err) {
      log.fatal({ err }, "mcr failed to start");
      fail((err as Error).message);
    }
    let stopping = false;
    const stop = (signal: string) => {
      if (stopping) return;
      stopping = true;
      log.info({ signal }, "shutting down");
      running.shutdown().then(
        () => process.exit(0),
        (err) => {
          log.error({ err }, "shutdown failed");
          process.exit(1);
        },
      );
    };
    process.on("SIGTERM", () => stop("SIGTERM"));
    process.on("SIGINT", () => stop("SIGINT"));
  });

program.parseAsync().catch((err) => fail((err as Error).message));
