#!/usr/bin/env node
// mcp-agent: the node daemon. `init` writes a config and certificate; `server`
// serves AgentService until SIGTERM/SIGINT.
import { Command } from "commander";
import { ConfigError } from "../lib/config/load.ts";
import { createLogger } from "../lib/log/logger.ts";
import { exitOnSignals } from "../lib/process/signals.ts";
import { version } from "../lib/version.ts";
import { initAgent } from "./commands/init.ts";
import { joinPlatform } from "./commands/join.ts";
import { loadAgentConfig, type AgentConfig } from "./config.ts";
import { lockAgentDatabase } from "./instance-lock.ts";
import { startAgent, type RunningAgent } from "./server.ts";

function fail(message: string): never {
  process.stderr.write(`mcp-agent: ${message}\n`);
  process.exit(1);
}

const program = new Command("mcp-agent").description("Metacircular node agent: runs services as podman containers").version(version);

program
  .command("init")
  .description("write a config, a TLS certificate and the state database")
  .requiredOption("--dir <dir>", "the agent's data folder (local disk, never NFS)")
  .option("--listen <addr>", "listen address", "127.0.0.1:9444")
  .option("--hostname <name...>", "extra names for the certificate", [])
  .option("--ca-dir <dir>", "the platform CA's folder, made by `mcr init` (default <dir>-ca; a new CA is made there when it has none)")
  .option("--ca-cert <file>", "platform CA certificate (instead of --ca-dir, with --ca-key)")
  .option("--ca-key <file>", "platform CA key (instead of --ca-dir, with --ca-cert)")
  .option("--identity-url <url>", "identity server that validates tokens (e.g. https://localhost:8443)")
  .option("--identity-ca <file>", "CA of the identity server (default: the platform CA)")
  .option("--registry <host:port>", "the registry images come from")
  .option("--registry-ca <file>", "CA of the registry (default: the platform CA)")
  .option("--node <name>", "this node's name (default: the host name)")
  .option("--container-prefix <prefix>", "put before every container name, for agents that share a podman (default: none)")
  .option("--force", "rewrite an existing config and certificate", false)
  .action(async (o) => {
    try {
      const r = await initAgent({
        dir: o.dir,
        listen: o.listen,
        hostnames: o.hostname,
        caCert: o.caCert,
        caKey: o.caKey,
        caDir: o.caDir,
        identityUrl: o.identityUrl,
        identityCa: o.identityCa,
        registry: o.registry,
        registryCa: o.registryCa,
        node: o.node,
        containerPrefix: o.containerPrefix,
        force: o.force,
      });
      process.stdout.write(`initialized ${r.dir}\n  config: ${r.config}\n  CA:     ${r.caCert}\nstart with: mcp-agent server --config ${r.config}\n`);
    } catch (err) {
      fail((err as Error).message);
    }
  });

program
  .command("join")
  .description("join the platform with a token from `mcp node add`: key made here, certificate and account from the registry")
  .argument("<registry-url>", "the registry, e.g. https://rift.example.net:8443")
  .requiredOption("--token <token>", "the join token `mcp node add` printed (works once)")
  .option("--dir <dir>", "the agent's data folder (local disk, never NFS)", "/var/lib/mcp-agent")
  .option("--listen <addr>", "listen address (default: the port of the node's registered URL)")
  .option("--container-prefix <prefix>", "put before every container name, for agents that share a podman (default: none)")
  .option("--force", "join again into an existing folder (its config and certificate are rewritten)", false)
  .action(async (registryUrl: string, o) => {
    try {
      const r = await joinPlatform({ token: o.token, registryUrl, dir: o.dir, listen: o.listen, containerPrefix: o.containerPrefix, force: o.force });
      process.stdout.write(
        `joined as node ${r.node} (${r.url}); certificate valid until ${r.certExpiresAt}, renewed by the agent\n  config: ${r.config}\nstart with: mcp-agent server --config ${r.config}\n`,
      );
    } catch (err) {
      fail((err as Error).message);
    }
  });

program
  .command("server")
  .description("serve AgentService")
  .requiredOption("--config <file>", "path to mcp-agent.toml")
  .action(async (o: { config: string }) => {
    let cfg: AgentConfig;
    try {
      cfg = loadAgentConfig(o.config);
    } catch (err) {
      fail(err instanceof ConfigError ? err.message : `config: ${(err as Error).message}`);
    }
    const log = createLogger("mcp-agent", cfg.log.level);
    try {
      lockAgentDatabase(cfg.database.path); // before the port and the database are touched
    } catch (err) {
      fail((err as Error).message);
    }
    // Signals are handled from here on: one that comes while the agent starts stops it once started.
    const starting = startAgent(cfg, log);
    exitOnSignals(starting, log);
    try {
      await starting;
    } catch (err) {
      log.fatal({ err }, "mcp-agent failed to start");
      fail((err as Error).message);
    }
  });

program.parseAsync().catch((err) => fail((err as Error).message));
