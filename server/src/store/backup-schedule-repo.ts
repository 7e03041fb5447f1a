// Backup schedules (#24) in the configuration store: one record each (its own etcd key on the
// etcd backend), changed in place and written through ConfigStore.write().
import type { ConfigStore } from './config-store.js';
import type { BackupScheduleRecord } from './records.js';

export class BackupScheduleRepo {
  constructor(private readonly db: ConfigStore) {}

  list(): BackupScheduleRecord[] {
    return this.db.data.backupSchedules;
  }
  byId(id: string): BackupScheduleRecord | undefined {
    return this.db.data.backupSchedules.find((s) => s.id === id);
  }
  async add(s: BackupScheduleRecord): Promise<void> {
    this.db.data.backupSchedules.push(s);
    await this.db.write();
  }
  async update(id: string, change: Partial<BackupScheduleRecord>): Promise<BackupScheduleRecord | undefined> {
    const s = this.byId(id);
    if (!s) return undefined;
    Object.assign(s, change);
    await this.db.write();
    return s;
  }
  async remove(id: string): Promise<void> {
    this.db.data.backupSchedules = this.db.data.backupSchedules.filter((s) => s.id !== id);
    await this.db.write();
  }
}
