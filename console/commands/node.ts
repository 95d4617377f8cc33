// `mcp node add|list|remove`: the platform's nodes, kept by the registry (mcr's NodeService).
// `add` registers a node and prints its one-time join token and the command to run on it;
// `list` shows every node, pending or joined, with its certificate's expiry; `remove` revokes a
// node's certificates and disables its account, after a confirmation (its containers keep
// running: the platform stops managing them). Adding and removing need the admin role.
import { parseDuration } from "../../lib/config/types.ts";
import { NAME_RE } from "../../lib/services/definition.ts";
import { confirm } from "../clients/prompt.ts";
import { ConsoleError } from "../output/errors.ts";
import type { AddedNode, RemovedNode } from "../store/platform-types.ts";
import { addedNotes, certNotes, joinCommand, platformNodeJson, platformNotes, platformSection, removedNotes } from "../views/nodes.ts";
import type { CommandSpec } from "./command.ts";
import { finite } from "./present.ts";
import { need } from "./reference.ts";

const MAX_EXPIRES_S = 7 * 86_400;

/** Seconds of --expires: a duration from 1s to 7d. */
export function expiresSeconds(v: string): number {
  const ms = parseDuration(v);
  if (ms === undefined || ms < 1000 || ms > MAX_EXPIRES_S * 1000)
    throw new ConsoleError("usage", `--expires must be a duration from 1s to 7d, like 30m, 1h or 2d, not ${JSON.stringify(v)}`);
  return Math.round(ms / 1000);
}

function nodeName(v: string | undefined, action: string): string {
  const name = need(v, `node name: mcp node ${action} NAME`);
  if (!NAME_RE.test(name))
    throw new ConsoleError("usage", `node name ${JSON.stringify(name)} is not a node name ([a-z0-9][a-z0-9_.-]*, at most 63 characters)`);
  return name;
}

function agentUrl(v: unknown): string {
  if (v === undefined) return "";
  const s = String(v).replace(/\/+$/, "");
  let ok = false;
  try {
    ok = new URL(s).protocol === "https:";
  } catch {
    // not a URL
  }
  if (!ok) throw new ConsoleError("usage", `--url must be the agent's https:// URL, like https://orbit.example:9444, not ${JSON.stringify(v)}`);
  return s;
}

/** --hostname values: repeated, or comma-separated. */
const hostnames = (v: unknown): string[] =>
  (Array.isArray(v) ? v : typeof v === "string" ? [v] : [])
    .flatMap((h: string) => h.split(","))
    .map((h) => h.trim())
    .filter(Boolean);

const command: CommandSpec = {
  name: "node",
  args: "<action> [name]",
  summary: "the platform's nodes, kept by the registry: add NAME (prints a one-time join token) | list | remove NAME",
  options: [
    { flags: "--url <url>", description: "add: the agent's URL (default https://NAME:9444)" },
    { flags: "--hostname <names...>", description: "add: more names or addresses for its certificate (after NAME; repeatable or comma-separated)" },
    { flags: "--expires <duration>", description: "add: how long the join token works, 1s to 7d (default 1h)", parse: expiresSeconds },
    { flags: "-y, --yes", description: "remove: do not ask (needed off a terminal)", default: false },
  ],
  async run(ctx, [action, target], o) {
    const st = () => ctx.store().getState();
    switch (action) {
      case "add": {
        const name = nodeName(target, "add");
        const req = { name, url: agentUrl(o.url), hostnames: hostnames(o.hostname), expiresSeconds: typeof o.expires === "number" ? o.expires : 0 };
        let added: AddedNode | undefined;
        await finite(
          ctx,
          async () => (added = await st().addNode(req)),
          (a) => ({ node: platformNodeJson(a.node), token: a.token, joinCommand: joinCommand(a.token, a.registryUrl) }),
          (_s, done) => ({ sections: [], notes: added ? addedNotes(added) : [], ...(done ? {} : { pending: `adding node ${name}` }) }),
        );
        return 0;
      }
      case "list":
        await finite(
          ctx,
          () => st().listNodes(),
          (p) => ({ nodes: p.nodes.map((n) => platformNodeJson(n)), revokedSerials: p.revokedSerials }),
          (s, done) => ({
            sections: done ? [platformSection(s.platform)] : [],
            notes: done ? [...certNotes(s.platform.nodes.filter((n) => n.state === "joined")), ...platformNotes(s.platform)] : [],
            ...(done ? {} : { pending: "asking the registry" }),
          }),
        );
        return 0;
      case "remove": {
        const name = nodeName(target, "remove");
        if (!o.yes) {
          if (ctx.mode !== "tty" || !ctx.stdin.isTTY)
            throw new ConsoleError(
              "usage",
              `removing node ${name} revokes its certificates and disables its account: confirm with --yes (on a terminal it asks)`,
            );
          const question = `remove node ${name}? Its containers keep running as they are, no longer managed by the platform (stop them on ${name} first if they should go)`;
          if (!(await confirm(question, ctx.stdin, ctx.out.stderr))) {
            ctx.out.note("not removed");
            return 1;
          }
        }
        let removed: RemovedNode | undefined;
        await finite(
          ctx,
          async () => (removed = await st().removeNode(name)),
          (r) => ({ node: platformNodeJson(r.node), revokedSerials: r.revokedSerials }),
          (_s, done) => ({ sections: [], notes: removed ? removedNotes(removed) : [], ...(done ? {} : { pending: `removing node ${name}` }) }),
        );
        return 0;
      }
      default:
        throw new ConsoleError("usage", `unknown node action ${JSON.stringify(action)}: add, list or remove`);
    }
  },
};

export default command;
