// The worker threads that copy and hash a backup's files (qcow2-copy.ts, chunk-sums.ts), and
// waiting for a group of them. A failure or a cancel is reported only once every worker of the
// group has exited: until then one may still hold a file of the backup open, and on an NFS target
// removing an open file leaves it behind (.nfsXXXX), so the backup's temp dir could not go.

import { Worker } from 'node:worker_threads';

/**
 * Runs `source` (plain JS, eval'd so it needs no loader) in a worker thread. It posts
 * `{ done: n }` as it progresses and `{ result }` at the end. Settles once the thread has exited:
 * a cancel terminates it first.
 */
export function runWorker<T>(
  source: string,
  workerData: object,
  signal: AbortSignal,
  progress?: (done: number) => void,
): Promise<T> {
  return new Promise((resolve, reject) => {
    const worker = new Worker(source, { eval: true, workerData });
    const onAbort = () => void worker.terminate();
    signal.addEventListener('abort', onAbort, { once: true });
    let result: { value: T } | undefined;
    let error: unknown;
    worker.on('message', (m: { done?: number; result?: T }) => {
      if ('result' in m) result = { value: m.result as T };
      else progress?.(m.done ?? 0);
    });
    worker.once('error', (err) => (error = err));
    worker.once('exit', () => {
      signal.removeEventListener('abort', onAbort);
      if (error) reject(error as Error);
      else if (signal.aborted) reject(signal.reason as Error);
      else if (result) resolve(result.value);
      else reject(new Error('a backup worker thread ended without a result'));
    });
  });
}

/**
 * Tasks started over time that stop together: `signal` or the first task to fail aborts the
 * group's signal (no point finishing the others). `settled()` waits for every task, then gives
 * their results or that first failure.
 */
export class TaskGroup<T> {
  private readonly controller = new AbortController();
  private readonly tasks: Promise<T>[] = [];
  private failure: { error: unknown } | undefined;
  private readonly onAbort = () => this.fail(this.outer.reason);

  constructor(private readonly outer: AbortSignal) {
    if (outer.aborted) this.onAbort();
    else outer.addEventListener('abort', this.onAbort, { once: true });
  }

  get signal(): AbortSignal {
    return this.controller.signal;
  }

  add(task: Promise<T>): void {
    const tracked = task.catch((err: unknown) => {
      this.fail(err);
      throw err;
    });
    tracked.catch(() => undefined); // reported by settled()
    this.tasks.push(tracked);
  }

  /** Stops the group: what failed outside its tasks (their results are no use now). */
  fail(error: unknown): void {
    this.failure ??= { error };
    this.controller.abort(error);
  }

  async settled(): Promise<T[]> {
    const results = await Promise.allSettled(this.tasks);
    this.outer.removeEventListener('abort', this.onAbort);
    if (this.failure) throw this.failure.error;
    return results.map((r) => (r as PromiseFulfilledResult<T>).value);
  }
}

/** Runs `tasks` together as one TaskGroup: their results once all have ended, or the first failure once all have stopped. */
export function allOrNone<T>(
  signal: AbortSignal,
  tasks: readonly ((signal: AbortSignal) => Promise<T>)[],
): Promise<T[]> {
  const group = new TaskGroup<T>(signal);
  for (const task of tasks) group.add(task(group.signal));
  return group.settled();
}
