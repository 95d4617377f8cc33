// Makes a real mcr (startMcr) stop dead once a garbage collection has marked, so that a test
// can kill it between the mark and the sweep: a preload given through NODE_OPTIONS
// (gc-pause-after-mark.mjs), not a switch in the shipped binary.
/** What the paused process writes to stderr once it has stopped (the preload's PAUSED). */
export const GC_PAUSED = "test preload: gc paused after the mark phase";

const PRELOAD = new URL("./gc-pause-after-mark.mjs", import.meta.url).href;

/** Environment for startMcr: the process pauses after the mark of its first garbage collection. */
export function pauseGcAfterMark(): NodeJS.ProcessEnv {
  return { NODE_OPTIONS: [process.env.NODE_OPTIONS, `--import=${PRELOAD}`].filter(Boolean).join(" ") };
}
