// Subscribes an element to server events while it is connected (unsubscribes when it leaves).
import type { ReactiveController, ReactiveControllerHost } from 'lit';
import { subscribeEvents, type EventHandler } from './event-stream.js';

export class EventsController implements ReactiveController {
  private readonly subs: [string, EventHandler][];
  private offs: (() => void)[] = [];

  constructor(host: ReactiveControllerHost, subs: Record<string, EventHandler>) {
    this.subs = Object.entries(subs);
    host.addController(this);
  }

  hostConnected(): void {
    this.offs = this.subs.map(([type, h]) => subscribeEvents(type, h));
  }

  hostDisconnected(): void {
    for (const off of this.offs) off();
    this.offs = [];
  }
}
