// The source agent's migrations in flight and lately ended, by id: a MigrateOut call that breaks
// (the server's connection dropped) leaves the job running; the server follows it with
// GetOutgoing and stops it with CancelOutgoing. Ended jobs are remembered for a while.
import type { MigrateProgress, OutgoingStatus } from '@quantix/proto/v1/migration.js';
import { AgentError } from '../errors.js';

const KEEP_ENDED_MS = 30 * 60_000;

interface Job {
  abort: AbortController;
  progress: MigrateProgress | undefined;
  running: boolean;
  error: string;
  listeners: Set<(p: MigrateProgress) => void>;
  ended: Promise<MigrateProgress>;
}

export class OutgoingJobs {
  private readonly jobs = new Map<string, Job>();

  /** Starts `run` as job `id` (refused while one with that id runs). */
  start(
    id: string,
    run: (onProgress: (p: MigrateProgress) => void, signal: AbortSignal) => Promise<MigrateProgress>,
  ): Job {
    if (this.jobs.get(id)?.running) throw new AgentError('ALREADY_EXISTS', `migration ${id} is already running`);
    const abort = new AbortController();
    const job: Job = { abort, progress: undefined, running: true, error: '', listeners: new Set(), ended: undefined! };
    job.ended = run((p) => {
      job.progress = p;
      for (const l of job.listeners) l(p);
    }, abort.signal).then(
      (final) => {
        job.progress = final;
        return final;
      },
      (err: unknown) => {
        job.error = err instanceof Error ? err.message : String(err);
        throw err;
      },
    );
    job.ended
      .finally(() => {
        job.running = false;
        setTimeout(() => this.jobs.delete(id), KEEP_ENDED_MS).unref();
      })
      .catch(() => undefined);
    this.jobs.set(id, job);
    return job;
  }

  status(id: string): OutgoingStatus {
    const job = this.jobs.get(id);
    if (!job) return { known: false, running: false, progress: undefined, error: '' };
    return { known: true, running: job.running, progress: job.progress, error: job.error };
  }

  cancel(id: string): OutgoingStatus {
    this.jobs.get(id)?.abort.abort();
    return this.status(id);
  }
}
