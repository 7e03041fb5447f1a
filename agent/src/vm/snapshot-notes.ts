// What libvirt's snapshot XML cannot hold about a snapshot (whether the guest agent froze the
// filesystems for it), kept per VM in <dataDir>/snapshot-notes/<uuid>.json. Written atomically;
// one writer at a time per VM.
import { mkdir, readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { writeFileAtomic } from '@quantix/proto/fs/atomic-file.js';
import { isUuid } from '../validate/name.js';

export interface SnapshotNote {
  quiesced: boolean;
}

export class SnapshotNotes {
  private readonly chains = new Map<string, Promise<unknown>>();

  constructor(private readonly dir: string) {}

  /** Notes by snapshot name; {} when the VM has none (or its file is unreadable). */
  async read(uuid: string): Promise<Record<string, SnapshotNote>> {
    try {
      const parsed = JSON.parse(await readFile(this.file(uuid), 'utf8')) as unknown;
      return parsed && typeof parsed === 'object' ? (parsed as Record<string, SnapshotNote>) : {};
    } catch {
      return {};
    }
  }

  /** Records `note` for snapshot `name` of VM `uuid` (undefined removes it). */
  set(uuid: string, name: string, note: SnapshotNote | undefined): Promise<void> {
    return this.serial(uuid, async () => {
      const notes = await this.read(uuid);
      if (note) notes[name] = note;
      else delete notes[name];
      if (!Object.keys(notes).length) return rm(this.file(uuid), { force: true });
      await mkdir(this.dir, { recursive: true, mode: 0o700 });
      await writeFileAtomic(this.file(uuid), JSON.stringify(notes));
    });
  }

  private file(uuid: string): string {
    if (!isUuid(uuid)) throw new Error(`snapshot notes: "${uuid}" is not a UUID`);
    return join(this.dir, `${uuid.toLowerCase()}.json`);
  }

  private serial(uuid: string, work: () => Promise<void>): Promise<void> {
    const next = (this.chains.get(uuid) ?? Promise.resolve()).then(work, work);
    this.chains.set(
      uuid,
      next.catch(() => undefined),
    );
    return next;
  }
}
