// Uploads (volumes, OVAs) in two steps: an operation opens one (202 + UploadDto: the task and a
// one-time URL), then the raw body is PUT to that URL and the reply is the task's outcome.
import { named, obj, str } from '../schema/schema.js';
import type { Infer } from '../schema/schema.js';
import type { Operation } from './operation.js';
import { TaskDto } from './tasks.js';

export const UploadDto = named(
  'UploadDto',
  obj({
    task: TaskDto,
    uploadUrl: str({ description: 'PUT the raw body here (one time, same user, Content-Length = sizeBytes)' }),
  }),
);
export type UploadDto = Infer<typeof UploadDto>;

export const uploadOperations = [
  {
    id: 'sendUpload',
    method: 'PUT',
    path: '/api/v1/uploads/:uploadId',
    tag: 'uploads',
    role: 'operator',
    body: 'stream',
    status: 200,
    response: TaskDto,
    summary:
      "The body of an opened upload (raw bytes, Content-Length equal to the declared sizeBytes), streamed to the host; replies with the finished task, or the task's error",
  },
] as const satisfies readonly Operation[];
