#!/usr/bin/env node
// mcr: the Metacircular container registry. `init` creates the embedded
// default; `server` runs the registry until SIGTERM/SIGINT; `cert renew` reissues
// the server certificate.
import { Command } from "commander";
import { ConfigError } from "../lib/config/load.ts";
import { createLogger } from "../lib/log/logger.ts";
import { exitOnSignals } from "../lib/process/signals.ts";
import { initRegistry } from "./commands/init.ts";
import { renewServerCert } from "./commands/cert.ts";
import { renewSigner } from "./commands/signer.ts";
import { formatAccounts, generatePassword, readStdinPassword, withAccounts } from "./commands/account.ts";
import { loadRegistryConfig, type RegistryConfig } from "./config.ts";
import { startRegistry, type RunningRegistry } from "./server/registry-server.ts";
import { version } from "../lib/version.ts";

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
  .option("--ca-dir <dir>", "the platform CA's folder, kept out of the server's reach (default <dir>-ca; made when it has no CA)")
  .option(
    "--force",
    "rewrite config (from the template: edits are lost) and certificates of an existing home; the CA and data are kept. To renew the certificate or add names: mcr cert renew",
    false,
  )
  .option(
    "--database-url <url>",
    "metadata in this PostgreSQL database (postgres://…) instead of the home's SQLite file; for several replicas (docs/scale-out.md)",
  )
  .option("--s3-bucket <name>", "blobs in this S3 bucket instead of the home's layers/ folder")
  .option("--s3-endpoint <url>", "the S3-compatible server (default: AWS for the region)")
  .option("--s3-region <region>", "the bucket's region", "us-east-1")
  .option("--s3-prefix <prefix>", "key prefix for mcr's objects in the bucket", "")
  .option("--s3-path-style", "path-style URLs (MinIO, Ceph, Garage and most S3-compatible servers)", false)
  .option("--s3-credentials-file <file>", "AWS-format credentials file (default: AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY)")
  .option("--json", "print the result as JSON", false)
  .action(
    async (opts: {
      dir: string;
      listen: string;
      hostname: string[];
      caDir?: string;
      force: boolean;
      json: boolean;
      databaseUrl?: string;
      s3Bucket?: string;
      s3Endpoint?: string;
      s3Region: string;
      s3Prefix: string;
      s3PathStyle: boolean;
      s3CredentialsFile?: string;
    }) => {
      try {
        const s3 = opts.s3Bucket
          ? {
              bucket: opts.s3Bucket,
              endpoint: opts.s3Endpoint,
              region: opts.s3Region,
              prefix: opts.s3Prefix,
              pathStyle: opts.s3PathStyle,
              credentialsFile: opts.s3CredentialsFile,
            }
          : undefined;
        if (!s3 && (opts.s3Endpoint || opts.s3CredentialsFile || opts.s3PathStyle)) throw new Error("--s3-* options need --s3-bucket");
        const r = await initRegistry({
          dir: opts.dir,
          listen: opts.listen,
          hostnames: opts.hostname,
          force: opts.force,
          caDir: opts.caDir,
          databaseUrl: opts.databaseUrl,
          s3,
        });
        if (opts.json) process.stdout.write(JSON.stringify(r) + "\n");
        else {
          process.stdout.write(
            `initialized ${r.dir}\n  config:  ${r.config}\n  CA cert: ${r.caCert} (give this to clients)\n  CA key:  ${r.caDir} (keep it root-only; only init and certificate commands need it)\n`,
          );
          if (r.admin) {
            process.stdout.write(`  admin account: ${r.admin.username}, one-time password: ${r.admin.password}\n`);
            process.stdout.write(`  (also in ${r.admin.passwordFile}, mode 0600; change it with \`mcr account passwd admin\`)\n`);
          }
          process.stdout.write(`start with: mcr server --config ${r.config}\n`);
        }
      } catch (err) {
        fail((err as Error).message);
      }
    },
  );

const cert = program.command("cert").description("the registry's server certificate and node signer");
cert
  .command("signer")
  .description("make a new node signer from the platform CA when a third of its life is left (or --force); mcr picks it up without a restart")
  .requiredOption("--config <file>", "path to mcr.toml")
  .option("--ca-dir <dir>", "the platform CA's folder (default: <the config's folder>-ca)")
  .option("--force", "renew whatever is left", false)
  .action(async (o: { config: string; caDir?: string; force: boolean }) => {
    try {
      const r = await renewSigner({ config: o.config, caDir: o.caDir, force: o.force });
      process.stdout.write(`${r.renewed ? "renewed" : "kept"} the node signer ${r.cert} (${r.reason}); valid until ${r.notAfter}\n`);
    } catch (err) {
      fail((err as Error).message);
    }
  });
cert
  .command("renew")
  .description(
    "issue a new server certificate from the platform CA with the current names plus any --hostname; never touches mcr.toml; restart mcr to serve it",
  )
  .requiredOption("--config <file>", "path to mcr.toml (read for tls_cert and tls_key)")
  .option("--hostname <name...>", "DNS names or IPs to add", [])
  .option("--ca-dir <dir>", "the platform CA's folder (default: <the config's folder>-ca)")
  .action(async (o: { config: string; hostname: string[]; caDir?: string }) => {
    try {
      const r = await renewServerCert({ config: o.config, hostnames: o.hostname, caDir: o.caDir });
      process.stdout.write(`renewed ${r.cert} (key ${r.key})\n  names: ${r.hosts.join(", ")}\n  valid until: ${r.notAfter}\nrestart mcr to serve it\n`);
    } catch (err) {
      fail((err as Error).message);
    }
  });

program
  .command("server")
  .description("serve the registry")
  .requiredOption("--config <file>", "path to mcr.toml")
  .action(async (opts: { config: string }) => {
    let cfg: RegistryConfig;
    try {
      cfg = loadRegistryConfig(opts.config);
    } catch (err) {
      fail(err instanceof ConfigError ? err.message : `config: ${(err as Error).message}`);
    }
    const log = createLogger("mcr", cfg.log.level);
    let running: RunningRegistry;
    try {
      running = await startRegistry(cfg, log);
    } catch (err) {
      log.fatal({ err }, "mcr failed to start");
      fail((err as Error).message);
    }
    exitOnSignals(running, log);
  });

const account = program.command("account").description("manage accounts of the embedded identity service");
const withConfig = (c: Command) => c.requiredOption("--config <file>", "path to mcr.toml");
const run = (fn: () => Promise<void>) => fn().catch((err) => fail((err as Error).message));

withConfig(account.command("add <username>"))
  .description("create an account; prints a generated password unless --stdin gives one")
  .option("--type <type>", "human or system", "human")
  .option("--role <role...>", "admin, user or guest", ["user"])
  .option("--stdin", "read the password from standard input", false)
  .action((username: string, o: { config: string; type: "human" | "system"; role: string[]; stdin: boolean }) =>
    run(() =>
      withAccounts(o.config, async (accounts, audit) => {
        const password = o.stdin ? await readStdinPassword() : generatePassword();
        const a = await accounts.create(username, password, o.type, o.role);
        audit.record({ type: "account_created", actor: "cli", details: { username, roles: a.roles.join(","), account_type: a.accountType } });
        process.stdout.write(`created ${a.username} (${a.accountType}, ${a.roles.join(",")}) id ${a.id}\n`);
        if (!o.stdin) process.stdout.write(`password: ${password}\n`);
      }),
    ),
  );

withConfig(account.command("list"))
  .description("list accounts")
  .option("--json", "print JSON", false)
  .action((o: { config: string; json: boolean }) =>
    run(() =>
      withAccounts(o.config, async (accounts) => {
        const list = await accounts.list();
        process.stdout.write(o.json ? JSON.stringify(list) + "\n" : formatAccounts(list));
      }),
    ),
  );

withConfig(account.command("passwd <username>"))
  .description("set a new password (generated unless --stdin); revokes the account's tokens")
  .option("--stdin", "read the password from standard input", false)
  .action((username: string, o: { config: string; stdin: boolean }) =>
    run(() =>
      withAccounts(o.config, async (accounts, audit) => {
        const password = o.stdin ? await readStdinPassword() : generatePassword();
        await accounts.setPassword(username, password);
        audit.record({ type: "account_updated", actor: "cli", details: { username, change: "password" } });
        process.stdout.write(o.stdin ? `password of ${username} changed\n` : `new password of ${username}: ${password}\n`);
      }),
    ),
  );

for (const [name, disabled] of [
  ["disable", true],
  ["enable", false],
] as const) {
  withConfig(account.command(`${name} <username>`))
    .description(disabled ? "disable an account and revoke its tokens" : "enable a disabled account")
    .action((username: string, o: { config: string }) =>
      run(() =>
        withAccounts(o.config, async (accounts, audit) => {
          await accounts.setDisabled(username, disabled);
          audit.record({ type: "account_updated", actor: "cli", details: { username, change: name } });
          process.stdout.write(`${username} ${disabled ? "disabled" : "enabled"}\n`);
        }),
      ),
    );
}

withConfig(account.command("role <username> <roles...>"))
  .description("replace an account's roles (admin, user, guest)")
  .action((username: string, roles: string[], o: { config: string }) =>
    run(() =>
      withAccounts(o.config, async (accounts, audit) => {
        const a = await accounts.setRoles(username, roles);
        audit.record({ type: "account_updated", actor: "cli", details: { username, change: "roles", roles: a.roles.join(",") } });
        process.stdout.write(`${username}: ${a.roles.join(",")}\n`);
      }),
    ),
  );

// Operations (docs/runbook.md). Each loads its implementation only when it runs.
withConfig(program.command("gc"))
  .description("garbage collection: asks the running server, or collects directly when it is stopped")
  .option("--dry-run", "remove nothing; list what would go and the bytes it would free", false)
  .option("--untagged", "also collect manifests that no tag, index or kept subject reaches", false)
  .option("--reconcile", "also remove blob files without a row, and report rows without a file", false)
  .option("--grace <duration>", "keep blobs and manifests used more recently than this (default [gc] grace, 1h)")
  .option("--json", "print the final state as JSON", false)
  .action((o: { config: string; dryRun: boolean; untagged: boolean; reconcile: boolean; grace?: string; json: boolean }) =>
    run(async () => {
      process.exitCode = await (await import("./commands/gc.ts")).gcCommand(o);
    }),
  );

withConfig(program.command("snapshot"))
  .description("a consistent copy of the database in backups/mcr-YYYYMMDD-HHMMSS.db (online while the server runs)")
  .option("--json", "print JSON", false)
  .action((o: { config: string; json: boolean }) =>
    run(async () => {
      const s = await (await import("./commands/snapshot.ts")).snapshotCommand(o);
      process.stdout.write(o.json ? JSON.stringify(s) + "\n" : `snapshot ${s.path} (${s.size} bytes)\n`);
    }),
  );

withConfig(program.command("restore <file>"))
  .description("replace the database of a stopped registry by a snapshot; the current one is kept as <database>.pre-restore")
  .action((file: string, o: { config: string }) =>
    run(async () => {
      const r = await (await import("./commands/restore.ts")).restoreCommand({ config: o.config, file });
      process.stdout.write(
        `restored ${r.restored} from ${file}\n${r.preRestore ? `the previous database is ${r.preRestore}\n` : ""}blob files were not changed: run \`mcr check\` to compare them with the restored rows\n`,
      );
    }),
  );

withConfig(program.command("check"))
  .description(
    "database integrity check, and blob rows compared with blob files both ways; with --verify, blobs read back and hashed against their digests; exits 1 on problems",
  )
  .option("--verify <n|all>", "read back this many blobs chosen at random (or all) from the store and check each against its digest")
  .option("--json", "print JSON", false)
  .action((o: { config: string; json: boolean; verify?: string }) =>
    run(async () => {
      const { checkCommand, formatCheck } = await import("./commands/check.ts");
      const r = await checkCommand(o);
      process.stdout.write(o.json ? JSON.stringify(r) + "\n" : formatCheck(r));
      if (!r.ok) process.exitCode = 1;
    }),
  );

withConfig(program.command("migrate"))
  .description(
    "copy a stopped embedded registry (SQLite and blob files) into the PostgreSQL database and S3 bucket of --config (docs/scale-out.md); the old home is left as it was",
  )
  .requiredOption("--from <file>", "the embedded registry's mcr.toml")
  .option("--json", "print JSON", false)
  .action((o: { config: string; from: string; json: boolean }) =>
    run(async () => {
      const r = await (await import("./commands/migrate.ts")).migrateCommand(o, (line) => process.stderr.write(`${line}\n`));
      if (o.json) process.stdout.write(JSON.stringify(r) + "\n");
      else {
        const t = r.tables;
        process.stdout.write(
          `migrated: ${t.repositories} repositories, ${t.manifests} manifests, ${t.tags} tags, ${t.blobs} blob rows, ${t.accounts} accounts, ${t.tokens} tokens, ${t.policy_rules} policy rules, ${t.audit_log} audit events\n` +
            `blobs: ${r.blobs.copied} copied (${r.blobs.bytes} bytes), ${r.blobs.present} already in the target storage\nstart the replicas with: mcr server --config ${o.config}\n`,
        );
      }
    }),
  );

program.parseAsync().catch((err) => fail((err as Error).message));
