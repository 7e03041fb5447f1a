// The audit log: one entry per mutating request (who, what, target, when, result).
import { randomUUID } from 'node:crypto';
import type { AuditEntryDto } from '../dto/system.js';
import type { AuditRepo } from '../store/log-repo.js';

export interface AuditInput {
  user: string;
  action: string;
  method: string;
  path: string;
  target: string;
  status: number;
  detail: string;
  remote: string;
}

export class AuditService {
  constructor(private readonly repo: AuditRepo) {}

  record(e: AuditInput): Promise<void> {
    return this.repo.add({
      id: randomUUID(),
      at: new Date().toISOString(),
      result: e.status < 400 ? 'ok' : 'error',
      ...e,
    });
  }

  list(limit: number, before?: string): AuditEntryDto[] {
    const all = this.repo.list();
    let end = all.length;
    if (before) {
      const i = all.findIndex((t) => t.id === before);
      if (i >= 0) end = i;
    }
    return all.slice(Math.max(0, end - limit), end).reverse();
  }
}
