// Check: the registry's integrity check (AdminService/Check, the admin role), started with `c`
// here or on the registry screen: a prompt asks how many blobs to read back and hash (a number,
// `all`, or none), the screen shows the check in progress and then what it found: the
// database's integrity, rows without a file, files without a row and blobs that do not match
// their digest. The result also goes to the footer, wherever the TUI is when the check ends.
import { Box, Text } from "ink";
import { useStore } from "zustand";
import { ScreenView } from "../components/screen-view.tsx";
import type { ConsoleStore } from "../store/state.ts";
import type { CheckRow } from "../store/mcr-types.ts";
import { useNav, useScreenKeys, type Nav } from "../tui/nav.ts";
import { count } from "../views/format.ts";
import {
  checkMoreNote,
  checkPending,
  checkProblems,
  checkProblemsSection,
  checkSummary,
  checkVerdict,
  parseVerify,
  shortDigest,
} from "../views/registry-health.ts";

export const CHECK_KEYS = "c check again  esc back  ? help  q quit";

/** The footer's line for a check that ended. */
export function checkLine(r: CheckRow): string {
  const read = r.verification ? `, ${count(r.verification.blobs, "blob")} read back and hashed` : "";
  if (r.ok) return `check: ok${read}`;
  const found = [
    r.integrityErrors.length ? count(r.integrityErrors.length, "integrity error") : "",
    r.verification?.corrupt.length ? `${count(r.verification.corrupt.length, "blob")} not matching its digest` : "",
    r.missingFiles.length ? count(r.missingFiles.length, "row without a file", "rows without a file") : "",
  ].filter(Boolean);
  return `check: PROBLEMS FOUND: ${found.join(", ")}${read}`;
}

/** Asks how many blobs to read back, then starts the check and opens the check screen (`c` here and on the registry screen). */
export function askCheck(store: ConsoleStore, nav: Nav): void {
  const last = store.getState().mcr.check.verify;
  nav.prompt("check: blobs to read back and hash (a number, all; empty: none): ", last === null ? "" : String(last), (v) => {
    let verify = null;
    try {
      if (v.trim()) verify = parseVerify(v, "the check");
    } catch (err) {
      return nav.flash((err as Error).message, true);
    }
    if (store.getState().mcr.check.running) return nav.flash("a check is running: its result comes when it ends", true);
    void store
      .getState()
      .checkRegistry(verify)
      .then(
        (r) => nav.flash(checkLine(r), !r.ok),
        (err: Error) => nav.flash(`check: ${err.message}`, true),
      );
    if (nav.route.screen !== "check") nav.push({ screen: "check" });
  });
}

export function CheckScreen({ store }: { store: ConsoleStore }) {
  const nav = useNav();
  const check = useStore(store, (s) => s.mcr.check);
  const error = useStore(store, (s) => s.mcr.errors.check);
  useScreenKeys((input) => (input === "c" ? (askCheck(store, nav), true) : false));

  const red = nav.color ? { color: "red" } : {};
  if (!check.running && error && (error.code === "permission_denied" || error.code === "unauthenticated"))
    return (
      <Box flexDirection="column">
        <Text>The integrity check is for accounts with the admin role; this session cannot run it.</Text>
        <Text {...red}>{error.message}</Text>
        <Text dimColor={nav.color}>Log in as an admin with `mcp login` to run it.</Text>
      </Box>
    );
  const r = check.result;
  // The summary takes 9 lines, the verdict and the table's header 3: the problems get the rest.
  const rows = Math.max(1, nav.height - 14);
  return (
    <Box flexDirection="column">
      {!check.running && error ? <Text {...red}>{error.message}</Text> : null}
      {check.running ? (
        <ScreenView screen={{ sections: [], notes: [], pending: `${checkPending(check.verify)}…` }} width={nav.width} color={nav.color} />
      ) : r ? (
        <ScreenView
          screen={{
            sections: [
              checkSummary("last check", r),
              ...(checkProblems(r).length ? [checkProblemsSection(r, rows, nav.width < 120 ? shortDigest : undefined)] : []),
            ],
            notes: [checkVerdict(r), ...checkMoreNote(r, rows)],
          }}
          width={nav.width}
          color={nav.color}
        />
      ) : error ? null : (
        <Text dimColor={nav.color}>no check since the console started: c runs one</Text>
      )}
    </Box>
  );
}
