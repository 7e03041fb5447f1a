// Keeps the tasks the UI knows about, fed by SSE `task` events and by 202 replies; lets a page
// wait for a task to finish (polls as a safety net, often while SSE is down). No Lit imports.
import type { TaskDto } from '@dto/tasks.js';
import { fetchTask, fetchTasks, taskDone } from '../api/tasks.js';
import { isStreamConnected, subscribeEvents } from './event-stream.js';

export const taskChanges = new EventTarget();
const tasks = new Map<string, TaskDto>();
let started = false;

/** Recent tasks, newest first. */
export function recentTasks(): TaskDto[] {
  return [...tasks.values()].sort((a, b) => b.createdAt.localeCompare(a.createdAt) || b.id.localeCompare(a.id));
}

export function trackTask(t: TaskDto): void {
  const prev = tasks.get(t.id);
  // A stale "running" reply must not undo a finish that arrived first over SSE.
  if (prev && taskDone(prev) && !taskDone(t)) return;
  tasks.set(t.id, { ...prev, ...t });
  taskChanges.dispatchEvent(new CustomEvent('change', { detail: t }));
}

/** Loads the recent task list and follows `task` events. */
export function startTaskTracking(): void {
  if (started) return;
  started = true;
  subscribeEvents('task', (d) => trackTask(d as TaskDto));
  fetchTasks()
    .then((list) => list.forEach(trackTask))
    .catch(() => undefined);
}

export function stopTaskTracking(): void {
  started = false;
  tasks.clear();
}

/** Resolves with the finished task; rejects with its error message when it failed. */
export function waitForTask(task: TaskDto, onUpdate?: (t: TaskDto) => void, signal?: AbortSignal): Promise<TaskDto> {
  trackTask(task);
  return new Promise((resolve, reject) => {
    const check = (t: TaskDto | undefined) => {
      if (!t || t.id !== task.id) return;
      onUpdate?.(t);
      if (!taskDone(t)) return;
      cleanup();
      if (t.status === 'succeeded') resolve(t);
      else reject(new Error(t.error || `Task ${t.kind} ${t.status}.`));
    };
    const onChange = () => check(tasks.get(task.id));
    const cleanup = () => {
      taskChanges.removeEventListener('change', onChange);
      clearInterval(timer);
    };
    taskChanges.addEventListener('change', onChange);
    let tick = 0;
    const timer = setInterval(() => {
      // SSE carries progress; polling is the safety net (every 1.5 s offline, every 6 s live).
      if (isStreamConnected() && ++tick % 4 !== 0) return;
      fetchTask(task.id).then(trackTask, () => undefined);
    }, 1500);
    signal?.addEventListener('abort', () => {
      cleanup();
      reject(new DOMException('aborted', 'AbortError'));
    });
    check(tasks.get(task.id));
  });
}
