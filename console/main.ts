#!/usr/bin/env node
// mcp: the operator console. Each command is one file under commands/; this
// entry point only parses arguments and chooses the output (text or --json).
import { Command } from "commander";
import { loadConsoleConfig } from "./config.ts";
import { formatPlacement, placeService } from "./commands/place.ts";
import { version } from "../lib/version.ts";

const program = new Command("mcp").description("Metacircular operator console").version(version).option("--config <file>", "console config (default ~/.config/mcp/mcp.toml)");

function fail(message: string, json: boolean): never {
  if (json) process.stdout.write(JSON.stringify({ error: message }) + "\n");
  process.stderr.write(`mcp: ${message}\n`);
  process.exit(1);
}

program
  .command("place <service>")
  .description("show where a service-environment lands by SMEP (UID, ports, storage, XDG links) without deploying")
  .option("--env <environment>", "environment (default: the definition's, else prod)")
  .option("--json", "print one JSON document", false)
  .action((service: string, o: { env?: string; json: boolean }) => {
    try {
      const report = placeService(loadConsoleConfig(program.opts().config), service, o.env);
      process.stdout.write(o.json ? JSON.stringify(report) + "\n" : formatPlacement(report));
    } catch (err) {
      fail((err as Error).message, o.json);
    }
  });

program.parseAsync().catch((err) => fail((err as Error).message, false));
