// One-time tickets for the console, graphics and shell websockets: random, valid for 30 s, bound to the
// user and the target (VM or host); consumed on first use.
import { randomBytes } from 'node:crypto';

export type TicketKind = 'console' | 'graphics' | 'shell';

interface Ticket {
  userId: string;
  kind: TicketKind;
  targetId: string;
  expires: number;
}

export const TICKET_TTL_MS = 30_000;

export class TicketStore {
  private readonly tickets = new Map<string, Ticket>();

  issue(userId: string, kind: TicketKind, targetId: string): { ticket: string; expiresAt: string } {
    const now = Date.now();
    for (const [k, t] of this.tickets) if (t.expires < now) this.tickets.delete(k);
    const ticket = randomBytes(24).toString('base64url');
    this.tickets.set(ticket, { userId, kind, targetId, expires: now + TICKET_TTL_MS });
    return { ticket, expiresAt: new Date(now + TICKET_TTL_MS).toISOString() };
  }

  /** True once for a ticket issued to this user for this target and kind, within its lifetime. */
  consume(ticket: string, userId: string, kind: TicketKind, targetId: string): boolean {
    const t = this.tickets.get(ticket);
    this.tickets.delete(ticket);
    return !!t && t.userId === userId && t.kind === kind && t.targetId === targetId && t.expires >= Date.now();
  }
}
