// The explicit registry of gRPC services the agent serves: one line per service.
import type { Server } from '@grpc/grpc-js';
import { EnrollServiceService, HostServiceService } from '@quantix/proto/v1/host.js';
import type { AgentContext } from '../context.js';
import { enrollHandlers } from './enroll-handlers.js';
import { hostHandlers } from './host-handlers.js';
import { NetworkServiceService } from '@quantix/proto/v1/network.js';
import { networkHandlers } from './network-handlers.js';

export function registerServices(server: Server, ctx: AgentContext): void {
  server.addService(EnrollServiceService, enrollHandlers(ctx));
  server.addService(HostServiceService, hostHandlers(ctx));
  server.addService(NetworkServiceService, networkHandlers(ctx));
}
