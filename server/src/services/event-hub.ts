// Live events for SSE subscribers (names in dto/system.ts SSE_EVENTS). Producers publish
// plain DTOs; the events route serialises them. Never imports Koa.
import { EventEmitter } from 'node:events';
import type { SSE_EVENTS } from '../dto/system.js';

export type EventName = keyof typeof SSE_EVENTS;

export class EventHub extends EventEmitter<{ event: [EventName, unknown] }> {
  constructor() {
    super();
    this.setMaxListeners(0);
  }
  publish(name: EventName, data: unknown): void {
    this.emit('event', name, data);
  }
}
