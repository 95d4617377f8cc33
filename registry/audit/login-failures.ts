// Failed logins are counted rather than written one row each. Anyone can fail a login,
// as fast as the network allows (past the rate limit each attempt still fails, with 429),
// and a row per attempt let an anonymous client grow the database by megabytes a second.
//
// Per window (a minute by default) and per (address, user name, via, reason): the first
// failure is written at once with count 1, so a failed login shows up without delay; its
// repeats in the window become one row when the window ends, with their count and the
// times of the first and last. Each address gets its own rows for at most `namesPerAddress`
// user names a window; failures with further names from it are counted in one row without
// a user name, whose `users` says how many names it covers. So rows per address and
// minute are bounded whatever the names, and the log still says who was tried, from where
// and how often.
import type { AuditEvent } from "./events.ts";

export interface LoginFailure {
  /** The user name tried; absent when it was refused unread (too long). */
  actor?: string;
  ip?: string;
  /** "token" (GET /v2/token) or "api" (POST /v1/auth/login). */
  via: string;
  reason: string;
}

export interface LoginFailureOptions {
  windowMs?: number;
  /** User names with rows of their own per address and window (default 20). */
  namesPerAddress?: number;
  /** Tallies held per window (default 10,000); past it new ones fold into one per via and reason. */
  maxTallies?: number;
  now?: () => number;
}

/** Distinct names a folded row counts exactly; past it, `users` says "1000+". */
const MAX_NAMES_COUNTED = 1000;

interface Tally {
  failure: LoginFailure;
  /** Failures after the first in this window, not yet written. */
  repeats: number;
  first?: string;
  last?: string;
  /** For rows without a name that stand for several: the names seen. */
  names?: Set<string>;
}

export class LoginFailureTally {
  private tallies = new Map<string, Tally>();
  private namedPerAddress = new Map<string, number>();
  private timer: NodeJS.Timeout | undefined;
  private readonly windowMs: number;
  private readonly namesPerAddress: number;
  private readonly maxTallies: number;
  private readonly now: () => number;

  constructor(
    private readonly write: (e: AuditEvent) => void,
    opts: LoginFailureOptions = {},
  ) {
    this.windowMs = opts.windowMs ?? 60_000;
    this.namesPerAddress = opts.namesPerAddress ?? 20;
    this.maxTallies = opts.maxTallies ?? 10_000;
    this.now = opts.now ?? Date.now;
  }

  record(f: LoginFailure): void {
    const { tally, isNew } = this.tallyFor(f);
    if (tally.names && f.actor !== undefined && tally.names.size < MAX_NAMES_COUNTED) tally.names.add(f.actor);
    if (isNew) {
      this.write(this.event(tally, 1));
    } else {
      const at = new Date(this.now()).toISOString();
      tally.repeats++;
      tally.first ??= at;
      tally.last = at;
    }
    if (!this.timer) {
      this.timer = setTimeout(() => this.endWindow(), this.windowMs);
      this.timer.unref(); // close() writes what is left at shutdown
    }
  }

  /** Writes the repeats counted in this window and starts a new one. */
  endWindow(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
    const tallies = this.tallies;
    this.tallies = new Map();
    this.namedPerAddress = new Map();
    for (const t of tallies.values()) {
      if (t.repeats === 0) continue;
      const e = this.event(t, t.repeats);
      this.write({ ...e, details: { ...e.details, first: t.first!, last: t.last! } });
    }
  }

  private tallyFor(f: LoginFailure): { tally: Tally; isNew: boolean } {
    const ip = f.ip ?? "";
    const own = this.tallies.get(key(ip, f.actor, f, false));
    if (own) return { tally: own, isNew: false };
    let folded: LoginFailure | undefined;
    if (this.tallies.size >= this.maxTallies) folded = { via: f.via, reason: f.reason };
    else if (f.actor !== undefined && (this.namedPerAddress.get(ip) ?? 0) >= this.namesPerAddress) folded = { ip: f.ip, via: f.via, reason: f.reason };
    if (folded) {
      const k = key(folded.ip ?? "", undefined, folded, true);
      const existing = this.tallies.get(k);
      if (existing) return { tally: existing, isNew: false };
      // Past maxTallies the map still grows, by at most one tally per via and reason.
      const tally: Tally = { failure: folded, repeats: 0, names: new Set() };
      this.tallies.set(k, tally);
      return { tally, isNew: true };
    }
    if (f.actor !== undefined) this.namedPerAddress.set(ip, (this.namedPerAddress.get(ip) ?? 0) + 1);
    const tally: Tally = { failure: f, repeats: 0 };
    this.tallies.set(key(ip, f.actor, f, false), tally);
    return { tally, isNew: true };
  }

  private event(t: Tally, count: number): AuditEvent {
    const f = t.failure;
    const details: Record<string, string> = { via: f.via, reason: f.reason, count: String(count) };
    if (t.names) details.users = t.names.size >= MAX_NAMES_COUNTED ? `${MAX_NAMES_COUNTED}+` : String(t.names.size);
    return { type: "login_fail", ...(f.actor !== undefined ? { actor: f.actor } : {}), ...(f.ip ? { ip: f.ip } : {}), details };
  }
}

function key(ip: string, actor: string | undefined, f: LoginFailure, folded: boolean): string {
  return JSON.stringify([ip, actor ?? null, f.via, f.reason, folded]);
}
