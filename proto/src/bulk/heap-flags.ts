// V8 flags for every Node process that bulk data passes through (the agent and the server, as
// the image starts them and as tests and benchmarks spawn them). They are command-line only:
// V8 sizes the heap once at start, and Node refuses them in NODE_OPTIONS.
//
// --initial-old-space-size: V8 derives the old generation's limit from the live heap (~14 MB in
// the agent, ~18 MB in a sender), a limit only ~10–20 MB above it. Transfer buffers that outlive
// two scavenges land in the old generation, and every few MB of them started an incremental
// major GC: ~200 per 2 GiB upload in the agent and ~470 in the sender, ~16 ms of pause each plus
// concurrent marking on V8's helper threads, about half of each process's CPU. With 64 MB none
// start (32 MB still left the sender ~470); transfer-gc.ts frees the old generation itself
// every 64 MiB instead. Upload bench: agent CPU per 2 GiB 9.4 s → 5.7 s, throughput ~150–200 →
// ~240–350 MB/s, agent peak RSS 138 MB (was 129–148).
export const TRANSFER_HEAP_FLAGS: readonly string[] = ['--initial-old-space-size=64'];
