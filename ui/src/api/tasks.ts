// Tasks: long operations the UI follows (202 + task, then SSE "task" updates). Shapes are the
// server's (server/src/dto/tasks.ts). No Lit imports.
import type { TaskDto } from '@dto/tasks.js';
import { apiGet, apiPost } from './client.js';

export const fetchTasks = (signal?: AbortSignal) => apiGet<TaskDto[]>('/tasks?limit=100', { signal });
export const fetchTask = (id: string, signal?: AbortSignal) =>
  apiGet<TaskDto>(`/tasks/${encodeURIComponent(id)}`, { signal });

/** Asks a running cancellable task (a migration) to stop; the answer is the task, now 'cancelling'. */
export const cancelTask = (id: string) => apiPost<TaskDto>(`/tasks/${encodeURIComponent(id)}/cancel`);

export function taskDone(t: TaskDto): boolean {
  return t.status !== 'running';
}

/** A short label for the task's target. */
export function taskTargetLabel(t: TaskDto): string {
  return t.target ? t.target.name || `${t.target.type} ${t.target.id}` : '';
}

/** The VM a finished vm.create / template deploy task made (its result `{vmId}`), '' if none. */
export function createdVmId(task: Partial<TaskDto> | undefined): string {
  const vmId = (task?.result as { vmId?: unknown } | null | undefined)?.vmId;
  return typeof vmId === 'string' ? vmId : '';
}

/** "phase: 42%" of a running task, for a status line. */
export function taskProgressText(t: TaskDto): string {
  return `${t.phase || t.kind}${t.progress !== null ? `: ${Math.round(t.progress)}%` : ''}`;
}
