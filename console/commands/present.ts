// The three ways a command shows its work. Finite commands: one JSON document, a plain
// text screen at the end, or a live Ink view on a TTY. Streams: NDJSON records, plain
// lines, or (for progress) a live Ink view. Ink is imported only on a TTY.
import { plainScreen } from "../output/screen.ts";
import type { ConsoleState } from "../store/state.ts";
import type { Context } from "./command.ts";

import type { StreamFormat, View } from "../views/view.ts";

export type { StreamFormat, View };

async function live(ctx: Context, view: View, work: Promise<unknown>): Promise<void> {
  (await import("../tty/terminal.ts")).claimTerminal();
  const { renderLive } = await import("../tty/live.tsx");
  await renderLive(ctx.store(), view, work, ctx.out);
}

/**
 * Runs a finite command: `work` calls the store's actions; `json` makes the document from
 * its result; `view` the tables. Errors propagate (main prints them in the mode's shape).
 */
export async function finite<T>(ctx: Context, work: () => Promise<T>, json: (r: T) => unknown, view: View): Promise<T> {
  if (ctx.mode === "tty") {
    const p = work();
    await live(
      ctx,
      view,
      p.catch(() => undefined),
    );
    return p;
  }
  const result = await work();
  if (ctx.mode === "json") ctx.out.document(json(result));
  else ctx.out.text(plainScreen(view(ctx.store().getState(), true)));
  return result;
}

/**
 * Writes each new item of a stream as it lands in the store (NDJSON or plain lines); on a
 * TTY with `view`, shows it live instead.
 */
export async function stream<E, T>(ctx: Context, format: StreamFormat<E>, work: () => Promise<T>, view?: View): Promise<T> {
  const store = ctx.store();
  if (ctx.mode === "tty" && view) {
    const p = work();
    await live(
      ctx,
      view,
      p.catch(() => undefined),
    );
    return p;
  }
  const startAt = format.select(store.getState());
  let last = startAt.length ? format.seq(startAt[startAt.length - 1]!) : 0;
  const emit = (s: ConsoleState) => {
    for (const e of format.select(s)) {
      if (format.seq(e) <= last) continue;
      last = format.seq(e);
      if (ctx.mode === "json") ctx.out.record(format.record(e));
      else {
        const l = format.line(e);
        if (l !== null) ctx.out.text(l + "\n");
      }
    }
  };
  const unsubscribe = store.subscribe(emit);
  try {
    return await work();
  } finally {
    emit(store.getState());
    unsubscribe();
  }
}

/**
 * Runs `work`, writing each warning the store finds in the definitions (`buildWarnings`) to
 * stderr once, as it appears; on a TTY the live view shows them instead.
 */
export async function withWarnings<T>(ctx: Context, work: () => Promise<T>): Promise<T> {
  if (ctx.mode === "tty") return work();
  const store = ctx.store();
  const said = new Set<string>();
  const say = (s: ConsoleState) => {
    for (const w of s.buildWarnings) if (!said.has(w)) said.add(w), ctx.out.note(`mcp: warning: ${w}`);
  };
  const unsubscribe = store.subscribe(say);
  try {
    return await work();
  } finally {
    say(store.getState());
    unsubscribe();
  }
}

/**
 * With --json, why the registry's nodes are missing (or as last listed) goes to stderr: the
 * document has the nodes the console could ask, and a script should hear why others are not
 * there. Plain text and the terminal show it among the notes.
 */
export function platformNoteOnStderr(ctx: Context): void {
  const note = ctx.mode === "json" ? ctx.store().getState().platform.note : "";
  if (note) ctx.out.note(`mcp: note: ${note}`);
}
