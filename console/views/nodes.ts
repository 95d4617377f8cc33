// The platform's nodes as `mcp node`, `mcp nodes` and the TUI's nodes screen show them: the
// registry's list (pending and joined), the command a new node joins with, and notes for what
// the operator should know (a list that could not be read, a node still to join, a
// certificate that should have been renewed).
import { cell, stateTone, type Cell, type Section } from "../output/screen.ts";
import type { AddedNode, PlatformData, PlatformNodeRow } from "../store/platform-types.ts";
import type { NodeConnState, NodeState } from "../store/types.ts";
import { certCell, certNote, certWarning, relative } from "./cert.ts";

/** What a new node runs, once, to join: `mcp-agent join --token <token> <registry url>`. */
export const joinCommand = (token: string, registryUrl: string) => `mcp-agent join --token ${token} ${registryUrl}`;

/**
 * `command` in lines of at most `width` columns that a shell reads back as the one command:
 * each line but the last ends with a backslash, which joins it to the next (between words, or
 * inside a word as long as a token when it must be cut). Copied from a terminal and pasted,
 * the lines run the command exactly.
 */
export function shellLines(command: string, width: number): string[] {
  const room = Math.max(8, width) - 2;
  const lines: string[] = [];
  let line = "";
  for (let word of command.split(" ")) {
    const joined = line ? `${line} ${word}` : word;
    if (joined.length <= room) {
      line = joined;
      continue;
    }
    if (line) lines.push(`${line} \\`);
    for (; word.length > room; word = word.slice(room)) lines.push(`${word.slice(0, room)}\\`);
    line = word;
  }
  return [...lines, line];
}

/** A registry node as --json prints it: the registry's fields and `certWarning` (cert.ts). */
export const platformNodeJson = (n: PlatformNodeRow, now = Date.now()) => ({ ...n, certWarning: certWarning(n, now) });

/** A pending node's join token: when it stops working. */
function tokenText(n: PlatformNodeRow, now: number): string {
  if (!n.tokenExpiresAt) return "";
  return Date.parse(n.tokenExpiresAt) > now
    ? `token works until ${n.tokenExpiresAt} (${relative(n.tokenExpiresAt, now)})`
    : `token expired ${relative(n.tokenExpiresAt, now)}`;
}

/** Why the registry's nodes are missing, or as last listed (the multi-node reads show it under their tables). */
export const listNote = (p: PlatformData): Cell[] => (p.note ? [cell(p.note, "warn")] : []);

/** Why the registry's nodes are missing or old, and each node still to join. */
export function platformNotes(p: PlatformData, now = Date.now()): Cell[] {
  const notes = listNote(p);
  for (const n of p.nodes.filter((x) => x.state === "pending")) {
    const expired = !!n.tokenExpiresAt && Date.parse(n.tokenExpiresAt) <= now;
    notes.push(
      expired
        ? cell(`node ${n.name} never joined and its join token expired: mcp node remove ${n.name}, then mcp node add ${n.name} for a new one`, "warn")
        : cell(
            `node ${n.name} is waiting to join: its ${tokenText(n, now) || "token does not expire"}; run on it the join command mcp node add printed`,
            "dim",
          ),
    );
  }
  return notes;
}

/** A note per node whose certificate should have been renewed by now. */
export const certNotes = (nodes: { name: string; certIssuedAt: string; certExpiresAt: string }[], now = Date.now()): Cell[] =>
  nodes.flatMap((n) => certNote(n.name, n, now) ?? []);

/** `mcp node list`: the registry's nodes. */
export function platformSection(p: PlatformData, now = Date.now()): Section {
  return {
    columns: ["node", "state", "url", "account", "cert expires", "since"],
    rows: p.nodes.map((n) => [
      cell(n.name),
      cell(n.state, n.state === "joined" ? "ok" : "warn"),
      cell(n.url),
      cell(n.account || "-"),
      certCell(n, now, true),
      cell(n.state === "joined" ? `joined ${n.joinedAt || "-"}` : `created ${n.createdAt || "-"}`),
    ]),
    empty: "no nodes: mcp node add NAME registers one",
  };
}

/**
 * `mcp node add`: what to run on the new node, and until when. The command is one line; with
 * `width` (the TUI), in lines of that width that a shell joins again (shellLines).
 */
export function addedNotes(added: AddedNode, now = Date.now(), width?: number): Cell[] {
  const n = added.node;
  const command = joinCommand(added.token, added.registryUrl);
  return [
    cell(`node ${n.name} added: pending until it joins; its ${tokenText(n, now) || "token works for an hour"}`, "ok"),
    cell(`run this on ${n.name}, as the user mcp-agent runs as (the token works once):`),
    cell(""),
    ...(width ? shellLines(command, width).map((l) => cell(l)) : [cell(`  ${command}`)]),
    cell(""),
    cell("the token is shown only this once: the registry keeps only its hash", "dim"),
  ];
}

/** `mcp node remove`: what happened, and what did not. */
export function removedNotes(r: { node: PlatformNodeRow; revokedSerials: string[] }): Cell[] {
  const name = r.node.name;
  if (r.node.state === "pending") return [cell(`node ${name} removed before it joined: its join token no longer works`, "ok")];
  const certs = r.revokedSerials.length;
  return [
    cell(`node ${name} removed: its account is disabled and ${certs === 1 ? "its certificate is" : `${certs} certificates are`} revoked`, "ok"),
    cell(
      `its containers keep running as they are: the platform no longer manages them (stop or remove them on ${name} first if they should go); a [[nodes]] entry for it in mcp.toml is refused from now on`,
      "warn",
    ),
  ];
}

/** A row of the TUI's nodes screen: a node the console talks to, or a registry node still to join. */
export interface NodeLine extends Omit<NodeState, "state"> {
  state: NodeConnState | "pending";
}

/** The nodes screen's rows: every node, then the registry's pending ones (state "pending", their token in REASON). */
export function nodeLines(nodes: Record<string, NodeState>, p: PlatformData, now = Date.now()): NodeLine[] {
  const pending = p.nodes
    .filter((n) => n.state === "pending" && !nodes[n.name])
    .map(
      (n): NodeLine => ({
        name: n.name,
        url: n.url,
        state: "pending",
        reason: `waiting to join: its ${tokenText(n, now) || "token has no expiry"}`,
        version: "",
        podmanVersion: "",
        checkedAt: 0,
        source: "platform",
        certIssuedAt: "",
        certExpiresAt: "",
      }),
    );
  return [...Object.values(nodes), ...pending];
}

export const nodeStateCell = (state: NodeLine["state"]) => cell(state, state === "pending" ? "warn" : stateTone(state));
