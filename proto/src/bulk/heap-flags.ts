// V8 flags for the agent, the process that bulk data ends in (as the image starts it and as
// tests and benchmarks spawn it). They are command-line only: V8 sizes the heap once at start,
// and Node refuses them in NODE_OPTIONS.
//
// --initial-old-space-size: V8 derives the old generation's limit from the live heap (~14 MB in
// the agent), a limit only ~10–20 MB above it. Transfer buffers that outlive two scavenges land
// in the old generation, and every few MB of them started an incremental major GC: ~200 per
// 2 GiB upload, ~16 ms of pause each plus concurrent marking on V8's helper threads, about half
// of the agent's CPU (perf: V8's worker threads were 36% of all samples). With 64 MB none start
// (32 MB still left 81); transfer-gc.ts frees the old generation itself every 64 MiB instead.
// Upload bench: agent CPU per 2 GiB 9.4 s → 6.5–8.2 s (~5 s behind a sender as fast as it),
// peak RSS unchanged (131–151 MB, against 124–148 MB before).
//
// Not for the server: with the flag, its peak RSS in the OVA bench rose from 139–141 MB to
// 157–168 MB (target < 150), and browser → server → agent uploads got slower (165 MiB/s
// against 234–240; test/server/upload.bench.ts).
export const AGENT_HEAP_FLAGS: readonly string[] = ['--initial-old-space-size=64'];

/** Whether this process was started with the agent's heap flags. */
export function startedWithAgentHeapFlags(): boolean {
  return AGENT_HEAP_FLAGS.every((flag) => process.execArgv.includes(flag));
}
