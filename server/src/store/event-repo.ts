// The events log: appended to <dataDir>/history/events.jsonl (rotated), never changed; the
// newest entries are kept in memory for listing and older pages are read from the files. On an
// etcd control plane events are also shared (etcd-history.ts) and pages come from there, so the
// events the previous leader recorded are still listed after a failover.
import { join } from 'node:path';
import { log as logger } from '../log.js';
import { AppendLog } from './append-log.js';
import type { EventDto } from '../dto/events.js';
import type { EtcdHistory } from './etcd-history.js';
import { share } from './log-repo.js';

/** Events kept in memory (the log keeps more on disk). */
const TAIL = 2_000;
const MiB = 1024 * 1024;

export class EventRepo {
  private constructor(
    private readonly log: AppendLog<EventDto>,
    /** The newest events, oldest first, between TAIL and 2×TAIL long. */
    private readonly tail: EventDto[],
    private older: boolean,
    private readonly shared: EtcdHistory | undefined,
  ) {}

  static async open(dataDir: string, shared?: EtcdHistory): Promise<EventRepo> {
    const log = await AppendLog.open<EventDto>({
      dir: join(dataDir, 'history'),
      name: 'events',
      maxBytes: 8 * MiB,
      keep: 2,
    });
    const repo = new EventRepo(log, [], false, shared);
    for await (const e of log.records()) repo.keep(e);
    return repo;
  }

  async add(e: EventDto): Promise<void> {
    this.keep(e);
    await Promise.all([this.log.append(e), share(() => this.shared?.putEvent(e))]);
  }

  /**
   * Up to `limit` events matching `match`, newest first, older than the event `before` (or the
   * newest when absent). Served from memory unless the page reaches past the tail.
   */
  async page(limit: number, match: (e: EventDto) => boolean, before?: string): Promise<EventDto[]> {
    // Every server's events when etcd answers; this server's own otherwise.
    if (this.shared) {
      const page = await this.shared.page('events', limit, match, before).catch((err: Error) => {
        logger.warn('events of the other servers cannot be read', { error: err.message });
        return undefined;
      });
      if (page) return page;
    }
    const at = before ? this.tail.findIndex((e) => e.id === before) : this.tail.length;
    const out: EventDto[] = [];
    if (at >= 0) {
      for (let i = at - 1; i >= 0 && out.length < limit; i--) if (match(this.tail[i]!)) out.push(this.tail[i]!);
      if (out.length >= limit || !this.older) return out;
    }
    // Past the tail: scan the files, keeping the last `limit` matches seen before `before`.
    const ring: EventDto[] = [];
    for await (const e of this.log.records()) {
      if (e.id === before) break;
      if (!match(e)) continue;
      ring.push(e);
      if (ring.length > limit) ring.shift();
    }
    return ring.reverse();
  }

  close(): Promise<void> {
    return this.log.close();
  }

  private keep(e: EventDto): void {
    this.tail.push(e);
    if (this.tail.length >= 2 * TAIL) {
      this.tail.splice(0, this.tail.length - TAIL);
      this.older = true;
    }
  }
}
