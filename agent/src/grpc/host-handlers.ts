// HostService: host info, and the Watch stream that forwards the WatchBus (VM state events,
// pool/network changes) plus heartbeats and periodic metrics to each subscriber.
import type { ServerWritableStream } from '@grpc/grpc-js';
import type { HostServiceServer, WatchEvent, WatchRequest } from '@quantix/proto/v1/host.js';
import type { AgentContext } from '../context.js';
import { unary } from './unary.js';
import { readHostInfo } from './host-info.js';
import { sampleHostMetrics } from './host-metrics.js';
import { watchDomainEvents } from '../libvirt/domain-events.js';
import { VmStatsSampler } from '../libvirt/vm-stats.js';

const HEARTBEAT_MS = 2_000;
const DEFAULT_METRICS_MS = 5_000;

export function hostHandlers(ctx: AgentContext): HostServiceServer {
  return {
    getHostInfo: unary(() => readHostInfo(ctx)),
    watch: (call: ServerWritableStream<WatchRequest, WatchEvent>) => {
      const send = (event: WatchEvent) => {
        if (!call.cancelled && !call.writableEnded) call.write(event);
      };
      const heartbeat = setInterval(
        () => send({ event: { $case: 'heartbeat', value: { timestampMs: Date.now() } } }),
        HEARTBEAT_MS,
      );
      const metricsEvery = call.request.metricsIntervalMs || DEFAULT_METRICS_MS;
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
      const stop = () => {
        clearInterval(heartbeat);
        clearInterval(metrics);
        ctx.bus.off('event', send);
        void releaseVmEvents();
      };
      call.on('cancelled', stop);
      call.on('close', stop);
      call.on('error', stop);
      send({ event: { $case: 'heartbeat', value: { timestampMs: Date.now() } } });
    },
  };
}
