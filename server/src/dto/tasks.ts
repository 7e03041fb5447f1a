// Tasks: every long operation, kept in the db; progress and log lines stream over SSE ("task").
import { any, arr, bool, named, num, obj, oneOf, opt, orNull, str } from '../schema/schema.js';
import type { Infer } from '../schema/schema.js';
import type { Operation } from './operation.js';
import { limitProps, timestamp } from './common.js';
import { TASK_STATUSES } from './enums.js';

export type { TaskStatus } from './enums.js';

export const TaskDto = named(
  'TaskDto',
  obj({
    id: str(),
    kind: str({ description: 'e.g. "vm.start", "vm.create", "ova.import", "volume.upload"' }),
    target: obj({ type: str({ description: 'vm, host, pool, volume, template' }), id: str(), name: str() }),
    hostId: orNull(str()),
    status: oneOf(TASK_STATUSES),
    progress: orNull(num({ min: 0, max: 100, description: 'percent; null when unknown' })),
    phase: str(),
    detail: opt(
      any({ description: 'live figures, e.g. a migration: {diskPercent, memoryPercent, expectedDowntimeMs}' }),
    ),
    cancellable: opt(bool({ description: 'POST /api/v1/tasks/:id/cancel may stop it while it runs' })),
    log: arr(obj({ at: timestamp(), message: str() })),
    error: orNull(str()),
    result: orNull(any({ description: 'kind-specific, e.g. {vmId} or {templateId}' })),
    user: str(),
    createdAt: timestamp(),
    finishedAt: orNull(timestamp()),
  }),
);
export type TaskDto = Infer<typeof TaskDto>;

export const ListTasksQuery = obj({
  ...limitProps,
  status: opt(oneOf(TASK_STATUSES)),
});

export const taskOperations = [
  {
    id: 'listTasks',
    method: 'GET',
    path: '/api/v1/tasks',
    tag: 'tasks',
    role: 'viewer',
    query: ListTasksQuery,
    status: 200,
    response: arr(TaskDto),
    summary: 'Tasks, newest first',
  },
  {
    id: 'getTask',
    method: 'GET',
    path: '/api/v1/tasks/:id',
    tag: 'tasks',
    role: 'viewer',
    status: 200,
    response: TaskDto,
    summary: 'One task',
  },
] as const satisfies readonly Operation[];
