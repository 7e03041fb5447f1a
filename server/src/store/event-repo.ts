// The events log: appended to <dataDir>/history/events.jsonl (rotated), never changed; the
// newest entries are kept in memory for listing and older pages are read from the files.
import { join } from 'node:path';
import { AppendLog } from './append-log.js';
import type { EventDto } from '../dto/events.js';

/** Events kept in memory (the log keeps more on disk). */
const TAIL = 2_000;
const MiB = 1024 * 1024;

export class EventRepo {
  private constructor(
    private readonly log: AppendLog<EventDto>,
    /** The newest events, oldest first, between TAIL and 2×TAIL long. */
    private readonly tail: EventDto[],
    private older: boolean,
  ) {}

  static async open(dataDir: string): Promise<EventRepo> {
    const log = await AppendLog.open<EventDto>({
      dir: join(dataDir, 'history'),
      name: 'events',
      maxBytes: 8 * MiB,
      keep: 2,
    });
    const repo = new EventRepo(log, [], false);
    for await (const e of log.records()) repo.keep(e);
    return repo;
  }

  add(e: EventDto): Promise<void> {
    this.keep(e);
    return this.log.append(e);
  }

  /**
   * Up to `limit` events matching `match`, newest first, older than the event `before` (or the
   * newest when absent). Served from memory unless the page reaches past the tail.
   */
  async page(limit: number, match: (e: EventDto) => boolean, before?: string): Promise<EventDto[]> {
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
