// The `since` of a log request, checked before it reaches `podman logs --since`, whose parse
// error would otherwise come back as an internal failure. Accepted: what podman 4 parses
// (its ParseInputTime) in the forms the console sends and people type:
// - RFC 3339 times, with a fraction and `Z` or an offset: 2024-01-02T15:04:05.123456789Z;
// - the same without a zone (2024-01-02T15:04:05, UTC), a day with or without a zone
//   (2024-01-02, 2024-01-02Z, 2024-01-02+02:00);
// - unix seconds, with an optional fraction: 1704207845, 1704207845.5;
// - Go durations before now: 10m, 1h30m, 1.5h, 500ms, 0 (units ns, us, µs, ms, s, m, h).
import { quote } from "./quote.ts";

const MAX_LENGTH = 64;
const DATE = String.raw`(\d{4})-(\d{2})-(\d{2})`;
const ZONE = String.raw`(Z|[+-](\d{2}):(\d{2}))`;
const DATE_TIME_RE = new RegExp(String.raw`^${DATE}T(\d{2}):(\d{2}):(\d{2})(\.\d{1,9})?${ZONE}?$`);
const DAY_RE = new RegExp(`^${DATE}${ZONE}?$`);
const UNIX_RE = /^\d{1,12}(\.\d{1,9})?$/;
const DURATION_RE = /^((\d+(\.\d*)?|\.\d+)(ns|us|µs|μs|ms|s|m|h))+$/;
const DURATION_PART_RE = /(\d+(?:\.\d*)?|\.\d+)(ns|us|µs|μs|ms|s|m|h)/g;
const NANOS: Record<string, number> = { ns: 1, us: 1e3, µs: 1e3, μs: 1e3, ms: 1e6, s: 1e9, m: 60e9, h: 3600e9 };
// Go's time.Duration is an int64 of nanoseconds (about 292 years).
const MAX_DURATION_NANOS = 2 ** 63 - 1; // as a double: 9223372036854775808

function validDay(y: number, m: number, d: number): boolean {
  const daysIn = [31, y % 4 === 0 && (y % 100 !== 0 || y % 400 === 0) ? 29 : 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31];
  return m >= 1 && m <= 12 && d >= 1 && d <= daysIn[m - 1]!;
}

function validZone(hh: string | undefined, mm: string | undefined): boolean {
  return hh === undefined || (Number(hh) <= 23 && Number(mm) <= 59);
}

function isTime(v: string): boolean {
  const t = DATE_TIME_RE.exec(v);
  if (t) {
    const [, y, mo, d, h, mi, s, , , zh, zm] = t;
    return validDay(Number(y), Number(mo), Number(d)) && Number(h) <= 23 && Number(mi) <= 59 && Number(s) <= 59 && validZone(zh, zm);
  }
  const day = DAY_RE.exec(v);
  return day !== null && validDay(Number(day[1]), Number(day[2]), Number(day[3])) && validZone(day[5], day[6]);
}

function isDuration(v: string): boolean {
  if (v === "0") return true;
  if (!DURATION_RE.test(v)) return false;
  let nanos = 0;
  for (const [, n, unit] of v.matchAll(DURATION_PART_RE)) nanos += Number(n) * NANOS[unit!]!;
  return nanos <= MAX_DURATION_NANOS;
}

/** Why `since` would not be understood by podman, or undefined when it would ("" is no limit). */
export function logSinceProblem(since: string): string | undefined {
  if (since === "") return undefined;
  if (since.length <= MAX_LENGTH && (isTime(since) || UNIX_RE.test(since) || isDuration(since))) return undefined;
  return `since: ${quote(since)} is not a time: give an RFC 3339 time (2024-01-02T15:04:05Z), a day (2024-01-02), unix seconds, or a duration before now such as 10m or 1h30m`;
}
