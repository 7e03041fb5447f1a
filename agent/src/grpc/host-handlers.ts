// HostService: host info, and the Watch stream that forwards the WatchBus (VM state events,
// pool/network changes) plus heartbeats and periodic metrics to each subscriber.
import type { ServerWritableStream } from '@grpc/grpc-js';
import type { HostServiceServer, WatchEvent, WatchRequest } from '@quantix/proto/v1/host.js';
import type { AgentContext } from '../context.js';
import { unary } from './unary.js';
import { toServiceError } from './status.js';
import { leaveHandler } from './enroll-handlers.js';
import { storeAgentCertificate } from '../identity/agent-certificate.js';
import { readHostInfo } from '../host/host-info.js';
import { sampleHostMetrics } from '../host/host-metrics.js';
import { watchDomainEvents } from '../vm/domain-events.js';
import { watchResourceHealth } from '../host/resource-health.js';
import { powerHost } from '../host/host-power.js';
import { updateSystem } from '../host/system-update.js';
import { VmStatsSampler } from '../vm/vm-stats.js';

const HEARTBEAT_MS = 2_000;
const DEFAULT_METRICS_MS = 5_000;
/** Each tick runs `virsh domstats` and reads /proc: no faster than this. */
export const MIN_METRICS_MS = 1_000;
/** setInterval turns a delay above 2^31-1 ms into 1 ms; an hour is plenty. */
export const MAX_METRICS_MS = 3_600_000;

/** The metrics period for a requested `metrics_interval_ms`: 0 is the default, others are clamped. */
export function metricsInterval(requestedMs: number): number {
  if (!requestedMs) return DEFAULT_METRICS_MS;
  return Math.min(MAX_METRICS_MS, Math.max(MIN_METRICS_MS, requestedMs));
}

export function hostHandlers(ctx: AgentContext): HostServiceServer {
  return {
    getHostInfo: unary(() => readHostInfo(ctx)),
    leave: leaveHandler(ctx),
    powerHost: unary((req) => powerHost(ctx.virsh, req)),
    updateSystem: (call, callback) => {
      updateSystem(ctx.config, call).then(
        (res) => callback(null, res),
        (err: unknown) => callback(toServiceError(err)),
      );
    },
    setAgentCertificate: unary(async (req) => {
      await storeAgentCertificate(
        ctx.config.dataDir,
        ctx.identity,
        ctx.membership.caCertificatePem,
        req.certificatePem,
      );
      return {};
    }),
    watch: (call: ServerWritableStream<WatchRequest, WatchEvent>) => {
      const send = (event: WatchEvent) => {
        if (!call.cancelled && !call.writableEnded) call.write(event);
      };
      const heartbeat = setInterval(
        () => send({ event: { $case: 'heartbeat', value: { timestampMs: Date.now() } } }),
        HEARTBEAT_MS,
      );
      const metricsEvery = metricsInterval(call.request.metricsIntervalMs);
      const vmStats = new VmStatsSampler(ctx.virsh);
      const metrics = setInterval(() => {
        sampleHostMetrics().then(
          (m) => send({ event: { $case: 'hostMetrics', value: m } }),
          () => undefined,
        );
        vmStats.running().then(
          (stats) => send({ event: { $case: 'vmMetrics', value: { timestampMs: Date.now(), stats } } }),
          () => undefined,
        );
      }, metricsEvery);
      ctx.bus.on('event', send);
      const releaseVmEvents = watchDomainEvents(ctx.virsh, ctx.bus);
      const releaseHealth = watchResourceHealth(ctx);
      const stop = () => {
        clearInterval(heartbeat);
        clearInterval(metrics);
        ctx.bus.off('event', send);
        void releaseVmEvents();
        releaseHealth();
      };
      call.on('cancelled', stop);
      call.on('close', stop);
      call.on('error', stop);
      send({ event: { $case: 'heartbeat', value: { timestampMs: Date.now() } } });
    },
  };
}
