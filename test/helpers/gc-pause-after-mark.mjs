// Loaded into a real mcr process (NODE_OPTIONS=--import=<this file>, see gc-pause.ts): when
// mcr logs that a garbage collection has marked ("gc: marked": the mark phase has committed
// and the sweep has not removed a file yet), the whole process stops where it is and says so
// on stderr, so that a test can kill -9 it between the two phases. mcr itself knows nothing of
// it: this wraps, from outside, the synchronous write its log makes to stderr.
// Plain JavaScript: plain node runs the binary's bundle, without tsx. PAUSED is gc-pause.ts's GC_PAUSED.
import fs from "node:fs";

const PAUSED = "test preload: gc paused after the mark phase";
const writeSync = fs.writeSync;

fs.writeSync = function (fd, data, ...rest) {
  const written = writeSync.call(this, fd, data, ...rest);
  if (fd === 2 && String(data).includes('"msg":"gc: marked"')) {
    writeSync.call(fs, 2, `${PAUSED}\n`);
    // Blocks the only thread for good: no request, timer or sweep runs until the process is killed.
    Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0);
  }
  return written;
};
