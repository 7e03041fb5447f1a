// `qx task watch ID`.
import type { ApiConnection } from './api-connection.js';
import type { Output } from './output.js';
import { watchTask } from './task-watch.js';

export const TASK_USAGE = '  qx task watch ID       follows a task to its end (exit code 1 if it fails)';

export async function taskCommand(api: ApiConnection, argv: string[], out: Output): Promise<void> {
  if (argv.length !== 2 || argv[0] !== 'watch') throw new Error(`usage:\n${TASK_USAGE}`);
  const task = await watchTask(api, argv[1]!, out);
  out.result(task, () => out.line(`${task.kind} ${task.target.name}: ${task.status}`));
}
