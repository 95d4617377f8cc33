// Driving an Ink app rendered by ink-testing-library: keys, and waiting for a frame.
export const ESC = "\x1b";
export const ENTER = "\r";
export const DOWN = "\x1b[B";

/** Resolves with the first frame matching `re`; fails with the last frame after `ms` (generous: a busy machine is slow, a passing test never waits for it). */
export async function untilFrame(frame: () => string | undefined, re: RegExp, ms = 10_000): Promise<string> {
  const end = Date.now() + ms;
  for (;;) {
    const f = frame() ?? "";
    if (re.test(f)) return f;
    if (Date.now() > end) throw new Error(`no frame matching ${re} within ${ms} ms; last frame:\n${f}`);
    await new Promise((r) => setTimeout(r, 15));
  }
}

/** Writes keys one at a time, letting Ink handle each. */
export async function press(stdin: { write(s: string): void }, ...keys: string[]): Promise<void> {
  for (const k of keys) {
    stdin.write(k);
    await new Promise((r) => setTimeout(r, 30));
  }
}
