// Live events for SSE subscribers (names in dto/system.ts SSE_EVENTS). Producers publish
// plain DTOs; the events route serialises them. Never imports Koa.
import { EventEmitter } from 'node:events';
import type { SSE_EVENTS } from '../dto/system.js';

export type EventName = keyof typeof SSE_EVENTS;

/** `event`: published by this server; `remote`: another server's, relayed through etcd for SSE clients only. */
export class EventHub extends EventEmitter<{ event: [EventName, unknown]; remote: [EventName, unknown] }> {
  constructor() {
    super();
    this.setMaxListeners(0);
  }
  publish(name: EventName, data: unknown): void {
    this.emit('event', name, data);
  }
  /** Another server's event: reaches SSE subscribers, not this server's listeners that act on events. */
  publishRemote(name: EventName, data: unknown): void {
    this.emit('remote', name, data);
  }
}
