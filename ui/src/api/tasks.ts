// Tasks: long operations the UI follows (202 + task, then SSE "task" updates). No Lit imports.
import { apiGet } from './client.js';

export const TASK_STATUSES = ['running', 'succeeded', 'failed'] as const;
export type TaskStatus = (typeof TASK_STATUSES)[number];

export interface TaskDto {
  id: string;
  kind: string;
  target: { type: string; id: string; name: string };
  hostId: string | null;
  status: TaskStatus;
  /** Percent; null when unknown. */
  progress: number | null;
  phase: string;
  log: { at: string; message: string }[];
  error: string | null;
  result: Record<string, unknown> | null;
  user: string;
  createdAt: string;
  finishedAt: string | null;
}

export const fetchTasks = (signal?: AbortSignal) => apiGet<TaskDto[]>('/tasks?limit=100', { signal });
export const fetchTask = (id: string, signal?: AbortSignal) => apiGet<TaskDto>(`/tasks/${encodeURIComponent(id)}`, { signal });

/** True for an object that looks like a task reply (202). */
export function isTask(x: unknown): x is TaskDto {
  return !!x && typeof x === 'object' && 'kind' in x && 'status' in x && 'id' in x && 'target' in x;
}

export function taskDone(t: TaskDto): boolean {
  return t.status !== 'running';
}

/** A short label for the task's target. */
export function taskTargetLabel(t: TaskDto): string {
  return t.target ? t.target.name || `${t.target.type} ${t.target.id}` : '';
}
