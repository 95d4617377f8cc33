// Ink draws only the last frame, at exit, when it believes it runs in CI: is-in-ci reads
// $CI and $CONTINUOUS_INTEGRATION once, when Ink is first loaded. The console loads Ink only
// for a terminal that a person (or tmux) watches, so it switches that guess off first.
export function claimTerminal(): void {
  for (const key of ["CI", "CONTINUOUS_INTEGRATION"]) if (key in process.env) process.env[key] = "false";
}
