// A joined node's certificate as the node rows show it: when it expires, and a warning when
// less than a third of its lifetime (issued → expires) is left, or it has expired. A healthy
// agent renews at two thirds of the lifetime, so a third left means its renewals fail.
import { cell, type Cell } from "../output/screen.ts";

export interface CertTimes {
  /** RFC 3339; "" when there is no certificate the registry knows of. */
  certIssuedAt: string;
  certExpiresAt: string;
}

/** `none`: no certificate known; `ok`; `renew`: less than a third of its lifetime left; `expired`. */
export type CertState = "none" | "ok" | "renew" | "expired";

export function certState(c: CertTimes, now = Date.now()): CertState {
  const expires = Date.parse(c.certExpiresAt);
  if (!c.certExpiresAt || Number.isNaN(expires)) return "none";
  if (now >= expires) return "expired";
  const issued = Date.parse(c.certIssuedAt);
  // Without a known start, nothing says how much of its life is left: only expiry warns.
  if (Number.isNaN(issued) || issued >= expires) return "ok";
  return (expires - now) * 3 < expires - issued ? "renew" : "ok";
}

/** What --json carries as `certWarning`: less than a third of the lifetime left, or expired. */
export const certWarning = (c: CertTimes, now = Date.now()) => {
  const s = certState(c, now);
  return s === "renew" || s === "expired";
};

/** "45s", "12m", "3h12m", "3d4h": a span of time, as the ages elsewhere are written. */
export function span(ms: number): string {
  let s = Math.max(0, Math.floor(ms / 1000));
  const d = Math.floor(s / 86400);
  s -= d * 86400;
  const h = Math.floor(s / 3600);
  s -= h * 3600;
  const m = Math.floor(s / 60);
  if (d) return `${d}d${h}h`;
  if (h) return `${h}h${m}m`;
  if (m) return `${m}m`;
  return `${s - m * 60}s`;
}

/** "in 3d4h" or "2h0m ago" from `now`; "" for no time. */
export function relative(time: string, now = Date.now()): string {
  const t = Date.parse(time);
  if (!time || Number.isNaN(t)) return "";
  return t >= now ? `in ${span(t - now)}` : `${span(now - t)} ago`;
}

/** The CERT cell: when it expires ("in 58d3h", "expired 2h0m ago"; with `date`, the day too), warn or bad when it should have been renewed. */
export function certCell(c: CertTimes, now = Date.now(), date = false): Cell {
  const state = certState(c, now);
  if (state === "none") return cell("-");
  const when = state === "expired" ? `expired ${relative(c.certExpiresAt, now)}` : relative(c.certExpiresAt, now);
  const text = date ? `${when} (${c.certExpiresAt.slice(0, 10)})` : when;
  return cell(text, state === "expired" ? "bad" : state === "renew" ? "warn" : "");
}

/** A note for a node whose certificate should have been renewed by now, else undefined. */
export function certNote(name: string, c: CertTimes, now = Date.now()): Cell | undefined {
  const state = certState(c, now);
  if (state === "expired")
    return cell(
      `node ${name}: its certificate expired ${relative(c.certExpiresAt, now)}: connections to its agent fail until it renews; is mcp-agent running there, and can it reach the registry?`,
      "bad",
    );
  if (state === "renew")
    return cell(
      `node ${name}: its certificate expires ${relative(c.certExpiresAt, now)}, less than a third of its lifetime left: the agent renews at two thirds; is it running, and can it reach the registry?`,
      "warn",
    );
  return undefined;
}
