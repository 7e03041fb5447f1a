// Re-renders an element whenever a task the UI knows about changes (task lists, a VM's tasks tab).
import type { ReactiveController, ReactiveControllerHost } from 'lit';
import type { TaskDto } from '@dto/tasks.js';
import { recentTasks, taskChanges } from './task-tracker.js';

export class RecentTasksController implements ReactiveController {
  private readonly host: ReactiveControllerHost;
  private readonly onChange = () => this.host.requestUpdate();

  constructor(host: ReactiveControllerHost) {
    this.host = host;
    host.addController(this);
  }

  hostConnected(): void {
    taskChanges.addEventListener('change', this.onChange);
  }

  hostDisconnected(): void {
    taskChanges.removeEventListener('change', this.onChange);
  }

  /** Recent tasks, newest first. */
  get tasks(): TaskDto[] {
    return recentTasks();
  }
}
