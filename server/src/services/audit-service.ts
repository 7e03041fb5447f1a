// The audit log: one entry per mutating request and per download of guest data (who, what,
// target, when, result). Text fields are cut to MAX_FIELD characters: a caller chooses the path.
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

/** Longest stored text field; longer ones keep their start and say how much was cut. */
export const MAX_FIELD = 512;

export class AuditService {
  constructor(private readonly repo: AuditRepo) {}

  record(e: AuditInput): Promise<void> {
    return this.repo.add({
      id: randomUUID(),
      at: new Date().toISOString(),
      result: e.status < 400 ? 'ok' : 'error',
      user: cut(e.user),
      action: e.action,
      method: e.method,
      path: cut(e.path),
      target: cut(e.target),
      status: e.status,
      detail: cut(e.detail),
      remote: cut(e.remote),
    });
  }

  list(limit: number, before?: string): Promise<AuditEntryDto[]> {
    return this.repo.page(limit, before);
  }
}

function cut(text: string): string {
  if (text.length <= MAX_FIELD) return text;
  const note = `… (${text.length} characters)`;
  return text.slice(0, MAX_FIELD - note.length) + note;
}
