// Tasks, audit entries and templates in the db. Tasks and audit are capped (oldest dropped).
import type { Db } from './db.js';
import type { AuditRecord, TaskRecord, TemplateRecord } from './records.js';

const MAX_TASKS = 2_000;
const MAX_AUDIT = 20_000;

export class TaskRepo {
  constructor(private readonly db: Db) {}

  list(): TaskRecord[] {
    return this.db.data.tasks;
  }
  byId(id: string): TaskRecord | undefined {
    return this.db.data.tasks.find((t) => t.id === id);
  }
  async add(t: TaskRecord): Promise<void> {
    const d = this.db.data;
    d.tasks.push(t);
    if (d.tasks.length > MAX_TASKS) d.tasks.splice(0, d.tasks.length - MAX_TASKS);
    await this.db.write();
  }
  /** The record was changed in place; persist it. */
  save(): Promise<void> {
    return this.db.write();
  }
}

export class AuditRepo {
  constructor(private readonly db: Db) {}

  list(): AuditRecord[] {
    return this.db.data.audit;
  }
  async add(e: AuditRecord): Promise<void> {
    const d = this.db.data;
    d.audit.push(e);
    if (d.audit.length > MAX_AUDIT) d.audit.splice(0, d.audit.length - MAX_AUDIT);
    await this.db.write();
  }
}

export class TemplateRepo {
  constructor(private readonly db: Db) {}

  list(): TemplateRecord[] {
    return this.db.data.templates;
  }
  byId(id: string): TemplateRecord | undefined {
    return this.db.data.templates.find((t) => t.id === id);
  }
  async add(t: TemplateRecord): Promise<void> {
    this.db.data.templates.push(t);
    await this.db.write();
  }
  async update(id: string, change: Partial<TemplateRecord>): Promise<TemplateRecord | undefined> {
    const t = this.byId(id);
    if (t) Object.assign(t, change);
    await this.db.write();
    return t;
  }
  async remove(id: string): Promise<void> {
    this.db.data.templates = this.db.data.templates.filter((t) => t.id !== id);
    await this.db.write();
  }
}
