// Follows a task to its end (`qx task watch`, and every command that starts one unless
// --no-wait): its phase and progress on stderr as they change; a failed task is an error.
import type { TaskDto } from '../dto/tasks.js';
import type { ApiConnection } from './api-connection.js';
import type { Output } from './output.js';

const POLL_MS = 1000;

export async function watchTask(api: ApiConnection, id: string, out: Output): Promise<TaskDto> {
  let shown = '';
  for (;;) {
    const task = await api.json<TaskDto>('GET', `/api/v1/tasks/${encodeURIComponent(id)}`);
    const now = `${task.kind} ${task.target.name}: ${task.phase || task.status}${task.progress === null ? '' : ` ${Math.round(task.progress)}%`}`;
    if (now !== shown) out.progress(now);
    shown = now;
    if (task.finishedAt !== null) {
      if (task.status !== 'succeeded') {
        throw new Error(
          `task ${task.id} (${task.kind} ${task.target.name}) ${task.status}: ${task.error ?? 'no reason given'}`,
        );
      }
      return task;
    }
    await new Promise((r) => setTimeout(r, POLL_MS));
  }
}
