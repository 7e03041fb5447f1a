// The events log and its webhook notifications (server/src/dto/events.ts). No Lit imports.
import type {
  EventDto,
  EventKind,
  EventSeverity,
  NotificationsDto,
  PutNotificationsDto,
  TestNotificationResultDto,
} from '@dto/events.js';
import { EVENT_KINDS, EVENT_SEVERITIES } from '@dto/events.js';
import { apiGet, apiPost, apiRequest } from './client.js';

export { EVENT_KINDS, EVENT_SEVERITIES };
export type { EventDto, EventKind, EventSeverity, NotificationsDto, PutNotificationsDto };

export interface EventQuery {
  severity?: EventSeverity | '';
  kind?: EventKind | '';
  target?: string;
}

export function fetchEvents(q: EventQuery, signal?: AbortSignal): Promise<EventDto[]> {
  const p = new URLSearchParams({ limit: '200' });
  if (q.severity) p.set('severity', q.severity);
  if (q.kind) p.set('kind', q.kind);
  if (q.target) p.set('target', q.target);
  return apiGet<EventDto[]>(`/event-log?${p.toString()}`, { signal });
}

/** Whether a live event belongs in a list filtered by `q` (as the server filters). */
export function eventMatches(e: EventDto, q: EventQuery): boolean {
  const needle = q.target?.toLowerCase();
  return (
    (!q.severity || EVENT_SEVERITIES.indexOf(e.severity) >= EVENT_SEVERITIES.indexOf(q.severity)) &&
    (!q.kind || e.kind === q.kind) &&
    (!needle || [e.target.id, e.target.name, e.target.hostName].some((s) => s.toLowerCase().includes(needle)))
  );
}

export const fetchNotifications = (signal?: AbortSignal) => apiGet<NotificationsDto>('/notifications', { signal });
export const saveNotifications = (body: PutNotificationsDto) =>
  apiRequest<NotificationsDto>('PUT', '/notifications', body);
export const testNotifications = () => apiPost<TestNotificationResultDto>('/notifications/test');
