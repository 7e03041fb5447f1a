// History and templates. Audit entries and task records live in append-only logs under
// <dataDir>/history/ (a request costs the same with any amount of history); templates stay in
// the db. Recent audit entries and all retained tasks are kept in memory for listing. On an etcd
// control plane they are also shared through etcd (etcd-history.ts), so that the history seen
// through the leader includes what other servers recorded.
import { join } from 'node:path';
import { log as logger } from '../log.js';
import { AppendLog } from './append-log.js';
import type { ConfigStore } from './config-store.js';
import type { EtcdHistory } from './etcd-history.js';
import type { AuditRecord, TaskRecord, TemplateRecord } from './records.js';

const MAX_TASKS = 2_000;
/** Audit entries kept in memory; older pages are read from the files. */
const AUDIT_TAIL = 2_000;
const MiB = 1024 * 1024;
const AUDIT_LOG = { name: 'audit', maxBytes: 8 * MiB, keep: 2 };
const TASK_LOG = { name: 'tasks', maxBytes: 8 * MiB, keep: 2 };

const historyDir = (dataDir: string) => join(dataDir, 'history');

/** Tasks: one record appended per state change (start, finish); the latest per id wins on load. */
export class TaskRepo {
  private constructor(
    private readonly log: AppendLog<TaskRecord>,
    /** By id, in order of creation, at most MAX_TASKS. */
    private tasks: Map<string, TaskRecord>,
    private readonly sharedHistory: EtcdHistory | undefined,
  ) {}

  static async open(dataDir: string, shared?: EtcdHistory): Promise<TaskRepo> {
    const tasks = new Map<string, TaskRecord>();
    const running = () => [...tasks.values()].filter((t) => t.status === 'running');
    const log = await AppendLog.open<TaskRecord>({ dir: historyDir(dataDir), ...TASK_LOG, carry: running });
    for await (const t of log.records()) keepTask(tasks, t);
    return new TaskRepo(log, tasks, shared);
  }

  /**
   * Takes in the tasks the other servers of the control plane recorded (this server has just
   * become the leader) and returns those still running there: their server no longer leads.
   */
  async adoptShared(): Promise<TaskRecord[]> {
    if (!this.sharedHistory) return [];
    const theirs = (await this.sharedHistory.tasks()).filter((t) => !this.tasks.has(t.id));
    const all = [...this.tasks.values(), ...theirs].sort((a, b) => a.createdAt.localeCompare(b.createdAt));
    this.tasks = new Map();
    for (const t of all) keepTask(this.tasks, t);
    return theirs.filter((t) => t.status === 'running' && this.tasks.has(t.id));
  }

  /** On an etcd control plane: the other servers see these tasks (and may follow them). */
  get shared(): boolean {
    return this.sharedHistory !== undefined;
  }
  list(): TaskRecord[] {
    return [...this.tasks.values()];
  }
  byId(id: string): TaskRecord | undefined {
    return this.tasks.get(id);
  }
  add(t: TaskRecord): Promise<void> {
    keepTask(this.tasks, t);
    return this.save(t);
  }
  /** `t` changed (status, result); appends its new state. */
  async save(t: TaskRecord): Promise<void> {
    await Promise.all([this.log.append(t), share(() => this.sharedHistory?.putTask(t))]);
  }
  close(): Promise<void> {
    return this.log.close();
  }
}

/** A later record of the same task replaces the earlier one in place (creation order stays). */
function keepTask(tasks: Map<string, TaskRecord>, t: TaskRecord): void {
  tasks.set(t.id, t);
  if (tasks.size > MAX_TASKS) tasks.delete(tasks.keys().next().value!);
}

/** Audit entries: appended, never changed. */
export class AuditRepo {
  private constructor(
    private readonly log: AppendLog<AuditRecord>,
    /** The newest entries, oldest first. */
    private readonly tail: AuditRecord[],
    /** Whether the files hold entries older than the tail. */
    private older: boolean,
    private readonly shared: EtcdHistory | undefined,
  ) {}

  static async open(dataDir: string, shared?: EtcdHistory): Promise<AuditRepo> {
    const log = await AppendLog.open<AuditRecord>({ dir: historyDir(dataDir), ...AUDIT_LOG });
    const tail: AuditRecord[] = [];
    let older = false;
    for await (const e of log.records()) {
      tail.push(e);
      if (tail.length >= 2 * AUDIT_TAIL) {
        tail.splice(0, tail.length - AUDIT_TAIL);
        older = true;
      }
    }
    if (tail.length > AUDIT_TAIL) {
      tail.splice(0, tail.length - AUDIT_TAIL);
      older = true;
    }
    return new AuditRepo(log, tail, older, shared);
  }

  async add(e: AuditRecord): Promise<void> {
    this.tail.push(e);
    if (this.tail.length >= 2 * AUDIT_TAIL) {
      this.tail.splice(0, this.tail.length - AUDIT_TAIL);
      this.older = true;
    }
    await Promise.all([this.log.append(e), share(() => this.shared?.putAudit(e))]);
  }

  /**
   * Up to `limit` entries, newest first, that came before the entry `before` (or the newest when
   * `before` is absent or unknown). Served from memory unless the page reaches past the tail.
   */
  async page(limit: number, before?: string): Promise<AuditRecord[]> {
    // Every server's entries when etcd answers; this server's own otherwise.
    if (this.shared) {
      const page = await this.shared
        .page<AuditRecord>('audit', limit, () => true, before)
        .catch((err: Error) => {
          logger.warn('audit entries of the other servers cannot be read', { error: err.message });
          return undefined;
        });
      if (page) return page;
    }
    const at = before ? this.tail.findIndex((e) => e.id === before) : -1;
    const end = at >= 0 ? at : before && this.older ? -1 : this.tail.length;
    if (end >= 0 && (end >= limit || !this.older)) return this.tail.slice(Math.max(0, end - limit), end).reverse();
    // Past the tail: scan the files, keeping the last `limit` entries seen before `before`.
    const ring: AuditRecord[] = [];
    for await (const e of this.log.records()) {
      if (e.id === before) break;
      ring.push(e);
      if (ring.length > limit) ring.shift();
    }
    return ring.reverse();
  }

  close(): Promise<void> {
    return this.log.close();
  }
}

let shareFailing = false;
/**
 * Shares a record through etcd when there is a control plane. Best effort: this server's own log
 * has it either way, and etcd without quorum must not stop tasks or auditing (said once per outage).
 */
export async function share(put: () => Promise<void> | undefined): Promise<void> {
  try {
    await put();
    shareFailing = false;
  } catch (err) {
    if (!shareFailing) logger.warn('history not shared with the other servers', { error: (err as Error).message });
    shareFailing = true;
  }
}

/**
 * Moves history out of an older db file (schema 3) into the logs. Entries already in a log (a
 * move interrupted before the db was written back) are not appended twice.
 */
export async function importHistory(
  dataDir: string,
  history: { audit: AuditRecord[]; tasks: TaskRecord[] },
): Promise<void> {
  for (const [opts, records] of [
    [AUDIT_LOG, history.audit],
    [TASK_LOG, history.tasks],
  ] as const) {
    if (!records.length) continue;
    const log = await AppendLog.open<{ id: string }>({ dir: historyDir(dataDir), ...opts });
    try {
      const present = new Set<string>();
      for await (const r of log.records()) present.add(r.id);
      await Promise.all(records.filter((r) => !present.has(r.id)).map((r) => log.append(r)));
    } finally {
      await log.close();
    }
  }
}

export class TemplateRepo {
  constructor(private readonly db: ConfigStore) {}

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
