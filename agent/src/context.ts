// What every gRPC handler module gets: configuration, identity, the libvirt connection and the
// event bus that feeds HostService/Watch. Built once in main.ts (and by tests).
import { EventEmitter } from 'node:events';
import type { AgentConfig } from './config.js';
import type { AgentIdentity } from './identity/agent-identity.js';
import type { VdcMembership } from './identity/vdc-membership.js';
import type { Virsh } from './libvirt/virsh.js';
import type { PoolManager } from './storage/pool-manager.js';
import type { Volumes } from './storage/volumes.js';
import type { WatchEvent } from '@quantix/proto/v1/host.js';

/** Typed event bus: producers emit WatchEvents, HostService/Watch forwards them to subscribers. */
export class WatchBus extends EventEmitter<{ event: [WatchEvent] }> {
  publish(event: WatchEvent): void {
    this.emit('event', event);
  }
}

export interface AgentContext {
  config: AgentConfig;
  identity: AgentIdentity;
  /** The vDC this host is joined to (its CA decides which client certificates are served). */
  membership: VdcMembership;
  virsh: Virsh;
  bus: WatchBus;
  /** The one volume layer: every pool and volume change goes through these (one lock per pool). */
  pools: PoolManager;
  volumes: Volumes;
}
