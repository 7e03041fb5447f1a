// The events log (what happened to VMs, hosts, pools, networks and tasks, with a severity) and its
// notifications by webhook and e-mail (SMTP). The live stream of new events is the SSE event "event" (dto/system.ts).
import { arr, bool, int, named, obj, oneOf, opt, orNull, str } from '../schema/schema.js';
import type { Infer } from '../schema/schema.js';
import type { Operation } from './operation.js';
import { limitProps, timestamp } from './common.js';

export const EVENT_SEVERITIES = ['info', 'warning', 'error'] as const;
export type EventSeverity = (typeof EVENT_SEVERITIES)[number];
export const EVENT_KINDS = [
  'vm.state',
  'vm.crashed',
  'vm.stopped-unexpectedly',
  'host.online',
  'host.offline',
  'pool.failed',
  'pool.state',
  'network.stopped',
  'network.started',
  'task.failed',
  'backup.failed',
  'notification.test',
] as const;
export type EventKind = (typeof EVENT_KINDS)[number];

export const EventDto = named(
  'EventDto',
  obj({
    id: str(),
    at: timestamp(),
    severity: oneOf(EVENT_SEVERITIES),
    kind: oneOf(EVENT_KINDS),
    target: obj({
      type: str({ description: 'vm, host, pool, network, task' }),
      id: str(),
      name: str(),
      hostId: str({ description: 'the host concerned, empty when none' }),
      hostName: str(),
    }),
    message: str({ description: 'one sentence for the operator' }),
  }),
);
export type EventDto = Infer<typeof EventDto>;

export const ListEventsQuery = obj({
  ...limitProps,
  severity: opt(oneOf(EVENT_SEVERITIES, { description: 'this severity or worse' })),
  kind: opt(oneOf(EVENT_KINDS)),
  target: opt(str({ maxLength: 256, description: 'matches the target id, name or host name (substring)' })),
  since: opt(str({ format: 'date-time', description: 'only events at or after this time' })),
});

const webhookUrl = () =>
  str({
    minLength: 1,
    maxLength: 2048,
    pattern: '^https?://[^\\s]+$',
    description: 'http:// or https:// URL the event is POSTed to as JSON',
  });

export const WebhookDto = named(
  'WebhookDto',
  obj({
    url: webhookUrl(),
    kinds: arr(oneOf(EVENT_KINDS), { maxItems: EVENT_KINDS.length, description: 'empty: every kind' }),
    minSeverity: oneOf(EVENT_SEVERITIES),
    hasSecret: bool({ description: 'a secret signs the body (X-Quantix-Signature: sha256=<hex HMAC>)' }),
  }),
);
export type WebhookDto = Infer<typeof WebhookDto>;

const emailProps = {
  enabled: bool(),
  host: str({ maxLength: 253, description: 'the SMTP server' }),
  port: int({ min: 1, max: 65535, description: '587 with STARTTLS, 465 with TLS, 25' }),
  security: oneOf(['starttls', 'tls', 'none'] as const, {
    description:
      'starttls: upgrade after connecting (required); tls: TLS from the start; none: plain (loopback relays)',
  }),
  username: str({ maxLength: 256, description: 'empty: no authentication' }),
  from: str({ maxLength: 320, description: 'the sender address' }),
  to: arr(str({ maxLength: 320 }), { maxItems: 16 }),
  kinds: arr(oneOf(EVENT_KINDS), { maxItems: EVENT_KINDS.length, description: 'empty: every kind' }),
  minSeverity: oneOf(EVENT_SEVERITIES),
  caCertificatePem: str({
    maxLength: 16384,
    description:
      "PEM of the CA that signs the server's certificate when it is not a public one; empty: the system's CAs",
  }),
};

export const EmailSettingsDto = named(
  'EmailSettingsDto',
  obj({ ...emailProps, hasPassword: bool({ description: 'the password is never sent back' }) }),
);
export type EmailSettingsDto = Infer<typeof EmailSettingsDto>;

export const NotificationsDto = named('NotificationsDto', obj({ webhooks: arr(WebhookDto), email: EmailSettingsDto }));
export type NotificationsDto = Infer<typeof NotificationsDto>;

export const PutNotificationsDto = named(
  'PutNotificationsDto',
  obj({
    webhooks: arr(
      obj({
        url: webhookUrl(),
        kinds: arr(oneOf(EVENT_KINDS), { maxItems: EVENT_KINDS.length }),
        minSeverity: oneOf(EVENT_SEVERITIES),
        secret: opt(
          str({
            maxLength: 256,
            description: 'absent: the secret already set for this URL is kept; empty: no signature',
          }),
        ),
      }),
      { maxItems: 16 },
    ),
    email: opt(
      obj({
        ...emailProps,
        password: opt(str({ maxLength: 1024, description: 'absent: the password already set is kept; empty: none' })),
      }),
    ),
  }),
);
export type PutNotificationsDto = Infer<typeof PutNotificationsDto>;

export const TestNotificationResultDto = named(
  'TestNotificationResultDto',
  obj({
    results: arr(obj({ url: str(), ok: bool(), status: int(), error: str() })),
    email: orNull(obj({ ok: bool(), error: str() }, { description: 'null: e-mail is not enabled' })),
  }),
);
export type TestNotificationResultDto = Infer<typeof TestNotificationResultDto>;

export const eventOperations = [
  {
    id: 'listEventLog',
    method: 'GET',
    path: '/api/v1/event-log',
    tag: 'events',
    role: 'viewer',
    query: ListEventsQuery,
    status: 200,
    response: arr(EventDto),
    summary:
      'Events (VM state changes and crashes, hosts going offline/online, pools failing, networks stopping, failed tasks), newest first; /api/v1/events is their live stream',
  },
  {
    id: 'getNotifications',
    method: 'GET',
    path: '/api/v1/notifications',
    tag: 'events',
    role: 'viewer',
    status: 200,
    response: NotificationsDto,
    summary: 'Webhook targets and the e-mail (SMTP) settings notified of events',
  },
  {
    id: 'putNotifications',
    method: 'PUT',
    path: '/api/v1/notifications',
    tag: 'events',
    role: 'admin',
    body: PutNotificationsDto,
    status: 200,
    response: NotificationsDto,
    summary: 'Replace the webhook targets and (when sent) the e-mail settings',
  },
  {
    id: 'testNotifications',
    method: 'POST',
    path: '/api/v1/notifications/test',
    tag: 'events',
    role: 'admin',
    status: 200,
    response: TestNotificationResultDto,
    summary: 'Send a test event to every webhook and by e-mail at once and report each answer',
  },
] as const satisfies readonly Operation[];
