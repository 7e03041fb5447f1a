// A rollback stack for multi-step operations: each step that changed the system pushes its
// inverse; on failure the inverses run newest first and their own failures are logged, so the
// original error is the one the caller sees.
import { log } from '../log.js';

export class Undo {
  private readonly steps: { what: string; fn: () => Promise<unknown> }[] = [];

  push(what: string, fn: () => Promise<unknown>): void {
    this.steps.push({ what, fn });
  }

  async rollback(): Promise<void> {
    while (this.steps.length) {
      const step = this.steps.pop()!;
      try {
        await step.fn();
      } catch (err) {
        log.error('rollback step failed', { step: step.what, error: err instanceof Error ? err.message : String(err) });
      }
    }
  }

  /** Runs `body`; on any error rolls back and rethrows. */
  static async run<T>(body: (undo: Undo) => Promise<T>): Promise<T> {
    const undo = new Undo();
    try {
      return await body(undo);
    } catch (err) {
      await undo.rollback();
      throw err;
    }
  }
}
