// Routes: the events log and its webhook notifications.
import type { Services } from '../compose.js';
import type { eventOperations } from '../dto/events.js';
import type { HandlersOf } from './handler.js';

const limitOf = (q: { limit?: string }) => Math.min(1000, Number(q.limit ?? 100) || 100);

export function eventHandlers(s: Services): HandlersOf<typeof eventOperations> {
  return {
    listEventLog: ({ query }) =>
      s.eventLog.list(limitOf(query), query.before, {
        severity: query.severity,
        kind: query.kind,
        target: query.target,
        since: query.since,
      }),
    getNotifications: () => s.notifier.settings(),
    putNotifications: ({ body }) => s.notifier.update(body),
    testNotifications: () => s.notifier.test(),
  };
}
