// Node flags the mcr server is started with: by deploy/systemd/mcr.service and the image's
// entry point (tests check they carry these), by `mcp up`, and by bench/registry. They cannot
// go into bin/mcr's #! line (through `env -S` it cost every command about 15 ms of start-up)
// nor into NODE_OPTIONS, which refuses them.
//
// --initial-old-space-size=64: from V8's default start (an old-generation limit of about 28 MB
// over 12 MB live), an upload's churn grows the young generation to its 16 MB maximum, V8 then
// finds no more room left in the old one than that, and it starts a major collection every
// few MB received: about 100 per three 512 MiB TLS pushes, a third of the throughput, in one
// process of two (docs/performance.md, push).
export const MCR_SERVER_NODE_FLAGS: readonly string[] = ["--initial-old-space-size=64"];
