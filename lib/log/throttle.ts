// A warning about something that may happen thousands of times a second under
// attack (refused connections, refused bodies) is logged at most once a minute.

/** Returns a function that calls `warn` at most once every `periodMs`. */
export function warnAtMostEveryMinute(warn: () => void, periodMs = 60_000): () => void {
  let last = -Infinity;
  return () => {
    const now = Date.now();
    if (now - last < periodMs) return;
    last = now;
    warn();
  };
}
