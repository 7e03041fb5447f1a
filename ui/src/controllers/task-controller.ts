// Follows the tasks an element's actions started (202 + TaskDto) by id until they finish, over
// SSE with polling as the safety net (task-tracker.ts), and re-renders the element on progress.
// Stops following when the element goes away.
import type { ReactiveController, ReactiveControllerHost } from 'lit';
import type { TaskDto } from '@dto/tasks.js';
import { taskProgressText } from '../api/tasks.js';
import { waitForTask } from './task-tracker.js';

export class TaskController implements ReactiveController {
  /** The task followed last, as last seen (status, progress, phase, result). */
  task: TaskDto | undefined;
  private readonly host: ReactiveControllerHost;
  private abort = new AbortController();

  constructor(host: ReactiveControllerHost) {
    this.host = host;
    host.addController(this);
  }

  hostDisconnected(): void {
    this.abort.abort();
    this.abort = new AbortController();
  }

  /** Resolves with the finished task (its `result`); rejects with its error when it failed. */
  async follow(task: TaskDto): Promise<TaskDto> {
    const show = (t: TaskDto) => {
      this.task = t;
      this.host.requestUpdate();
    };
    show(task);
    const done = await waitForTask(task, show, this.abort.signal);
    show(done);
    return done;
  }

  /** "phase: 42%" while the followed task runs, '' otherwise. */
  get progressText(): string {
    return this.task?.status === 'running' ? taskProgressText(this.task) : '';
  }
}
