// What a view is: a function of the store's state to a screen (tables and notes), and how
// a stream's items are shown. Commands (console/commands/) and TUI screens
// (console/screens/) both use the views in this folder; views import neither.
import type { Screen } from "../output/screen.ts";
import type { ConsoleState } from "../store/state.ts";

/** Builds the screen from the state; `done` once the work has finished. */
export type View = (s: ConsoleState, done: boolean) => Screen;

export interface StreamFormat<E> {
  /** The items of the stream in the state, each with a growing seq. */
  select(s: ConsoleState): E[];
  seq(e: E): number;
  record(e: E): unknown;
  /** One plain line (no ANSI), or null to skip the item in plain text. */
  line(e: E): string | null;
}
