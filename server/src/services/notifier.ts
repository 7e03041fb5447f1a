// Notifications: each recorded event that a webhook's kinds and minimum severity select is POSTed
// to it as JSON, signed with HMAC-SHA256 when it has a secret; those the e-mail settings select
// are mailed (email-sender.ts). Each receiver (a webhook, the mailer) has its own bounded queue,
// delivered in order one at a time with a timeout and two retries with backoff, so a dead
// receiver delays only its own deliveries; failures are logged only (never turned into events,
// which would notify again). The SMTP password is stored in the configuration like the webhook
// secrets (root-only data disk) and never returned by the API.
import { createHmac, randomUUID } from 'node:crypto';
import {
  EVENT_SEVERITIES,
  type EventDto,
  type NotificationsDto,
  type PutNotificationsDto,
  type TestNotificationResultDto,
} from '../dto/events.js';
import type { ConfigStore } from '../store/config-store.js';
import type { EmailRecord, WebhookRecord } from '../store/records.js';
import type { EmailSettingsDto } from '../dto/events.js';
import { sendEventEmail, validateEmail } from './email-sender.js';
import { log } from '../log.js';

const TIMEOUT_MS = 5_000;
/** Deliveries waiting per receiver; past this the oldest is dropped (a dead one must not grow memory). */
const MAX_QUEUE = 200;
const RETRY_DELAYS_MS = [1_000, 4_000];
export const SIGNATURE_HEADER = 'X-Quantix-Signature';

type Delivery = { hook: WebhookRecord; event: EventDto } | { email: EmailRecord; event: EventDto };

/** What an appliance that never saved e-mail settings shows. */
const NO_EMAIL: EmailRecord = {
  enabled: false,
  host: '',
  port: 587,
  security: 'starttls',
  username: '',
  password: '',
  from: '',
  to: [],
  kinds: [],
  minSeverity: 'error',
  caCertificatePem: '',
};

/** Whether settings of `kinds` and `minSeverity` select `event`. */
function selects(s: { kinds: string[]; minSeverity: EventDto['severity'] }, event: EventDto): boolean {
  return (
    EVENT_SEVERITIES.indexOf(event.severity) >= EVENT_SEVERITIES.indexOf(s.minSeverity) &&
    (!s.kinds.length || s.kinds.includes(event.kind))
  );
}

export class Notifier {
  /** Per receiver (webhook URL, or the mailer): deliveries waiting; present while it is being drained. */
  private readonly queues = new Map<string, Delivery[]>();
  private stopped = false;

  constructor(private readonly db: ConfigStore) {}

  settings(): NotificationsDto {
    return {
      webhooks: this.db.data.notifications.webhooks.map((w) => ({
        url: w.url,
        kinds: w.kinds,
        minSeverity: w.minSeverity,
        hasSecret: w.secret !== '',
      })),
      email: this.emailDto(),
    };
  }

  private emailDto(): EmailSettingsDto {
    const { password, ...rest } = this.db.data.notifications.email ?? NO_EMAIL;
    return { ...rest, hasPassword: password !== '' };
  }

  /** Replaces the webhooks; a webhook sent without `secret` keeps the one its URL had. */
  async update(req: PutNotificationsDto): Promise<NotificationsDto> {
    const old = new Map(this.db.data.notifications.webhooks.map((w) => [w.url, w.secret]));
    this.db.data.notifications.webhooks = req.webhooks.map((w) => ({
      url: w.url,
      kinds: [...new Set(w.kinds)],
      minSeverity: w.minSeverity,
      secret: w.secret ?? old.get(w.url) ?? '',
    }));
    if (req.email) {
      const { password, ...rest } = req.email;
      const email: EmailRecord = {
        ...rest,
        host: rest.host.trim(),
        from: rest.from.trim(),
        to: [...new Set(rest.to.map((a) => a.trim()).filter(Boolean))],
        kinds: [...new Set(rest.kinds)],
        password: password ?? this.db.data.notifications.email?.password ?? '',
      };
      validateEmail(email);
      this.db.data.notifications.email = email;
    }
    await this.db.write();
    return this.settings();
  }

  /** Queues the event for every webhook that selects it. */
  notify(event: EventDto): void {
    if (this.stopped) return;
    const deliveries: Delivery[] = this.db.data.notifications.webhooks
      .filter((hook) => selects(hook, event))
      .map((hook) => ({ hook, event }));
    const email = this.db.data.notifications.email;
    if (email?.enabled && selects(email, event)) deliveries.push({ email, event });
    for (const d of deliveries) {
      const to = 'hook' in d ? `webhook ${d.hook.url}` : 'e-mail';
      const queue = this.queues.get(to);
      if (!queue) {
        this.queues.set(to, [d]);
        void this.drain(to);
      } else {
        if (queue.length >= MAX_QUEUE) {
          const dropped = queue.shift()!;
          log.warn('notification queue full: dropped the oldest delivery', { to, event: dropped.event.id });
        }
        queue.push(d);
      }
    }
  }

  /** Sends a test event to every webhook at once (no retry) and reports each answer. */
  async test(): Promise<TestNotificationResultDto> {
    const event: EventDto = {
      id: randomUUID(),
      at: new Date().toISOString(),
      severity: 'info',
      kind: 'notification.test',
      target: { type: 'system', id: '', name: '', hostId: '', hostName: '' },
      message: 'A test notification from Quantix-vDC',
    };
    const results = await Promise.all(
      this.db.data.notifications.webhooks.map(async (hook) => {
        try {
          const status = await send(hook, event);
          return { url: hook.url, ok: status >= 200 && status < 300, status, error: '' };
        } catch (err) {
          return { url: hook.url, ok: false, status: 0, error: reason(err) };
        }
      }),
    );
    const email = this.db.data.notifications.email;
    const mailed = email?.enabled
      ? await sendEventEmail(email, event).then(
          () => ({ ok: true, error: '' }),
          (err: unknown) => ({ ok: false, error: reason(err) }),
        )
      : null;
    return { results, email: mailed };
  }

  stop(): void {
    this.stopped = true;
    for (const queue of this.queues.values()) queue.length = 0;
  }

  /** Delivers the receiver's queue in order; the queue goes once empty (the next event starts anew). */
  private async drain(to: string): Promise<void> {
    const queue = this.queues.get(to)!;
    try {
      for (let d = queue.shift(); d && !this.stopped; d = queue.shift()) await this.deliver(d);
    } finally {
      this.queues.delete(to);
    }
  }

  private async deliver(d: Delivery): Promise<void> {
    const event = d.event;
    for (let attempt = 0; ; attempt++) {
      let problem: string;
      try {
        if ('email' in d) {
          await sendEventEmail(d.email, event);
          return;
        }
        const status = await send(d.hook, event);
        if (status >= 200 && status < 300) return;
        problem = `HTTP ${status}`;
      } catch (err) {
        problem = reason(err);
      }
      const delay = RETRY_DELAYS_MS[attempt];
      if (delay === undefined || this.stopped) {
        const to = 'hook' in d ? { url: d.hook.url } : { email: d.email.to.join(', ') };
        log.warn('notification delivery failed', { ...to, event: event.id, attempts: attempt + 1, error: problem });
        return;
      }
      await new Promise((r) => setTimeout(r, delay).unref());
    }
  }
}

/** POSTs `{event}`; returns the status (redirects are not followed: the admin set the URL). */
async function send(hook: WebhookRecord, event: EventDto): Promise<number> {
  const body = JSON.stringify({ event });
  const headers: Record<string, string> = {
    'Content-Type': 'application/json',
    'User-Agent': 'Quantix-vDC',
    'X-Quantix-Event': event.kind,
  };
  if (hook.secret) headers[SIGNATURE_HEADER] = `sha256=${signature(hook.secret, body)}`;
  const res = await fetch(hook.url, {
    method: 'POST',
    headers,
    body,
    redirect: 'manual',
    signal: AbortSignal.timeout(TIMEOUT_MS),
  });
  // The answer's body is not needed: dropped unread so a large one costs nothing.
  await res.body?.cancel().catch(() => undefined);
  return res.status;
}

/** The hex HMAC-SHA256 of the body: a receiver recomputes it with the shared secret. */
export function signature(secret: string, body: string): string {
  return createHmac('sha256', secret).update(body).digest('hex');
}

function reason(err: unknown): string {
  const e = err as Error & { cause?: Error };
  if (e?.name === 'TimeoutError') return `no answer within ${TIMEOUT_MS / 1000} s`;
  return e?.cause?.message ? `${e.message}: ${e.cause.message}` : String(e?.message ?? err);
}
