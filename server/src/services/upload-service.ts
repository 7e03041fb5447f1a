// Uploads in two steps, like every other long operation: opening one starts its task and hands
// out a one-time upload URL (202); the PUT of the body to that URL, by the same user, feeds the
// task and replies with its outcome. An upload whose body does not start in time fails its task.
import type { Readable } from 'node:stream';
import { randomBytes } from 'node:crypto';
import type { TaskDto } from '../dto/tasks.js';
import type { UploadDto } from '../dto/uploads.js';
import { HttpError, badRequest, notFound } from '../errors.js';
import type { TaskRecord } from '../store/records.js';
import { finished, type TaskContext, type TaskService, type TaskStart } from './task-service.js';

interface Pending {
  userId: string;
  sizeBytes: number;
  arrive(body: Readable): void;
  done: Promise<TaskRecord>;
}

export class UploadService {
  private readonly pending = new Map<string, Pending>();

  constructor(
    private readonly tasks: TaskService,
    /** How long an opened upload waits for its body (the streams' idle timeout). */
    private readonly waitMs: number,
  ) {}

  /**
   * Starts the task `info` for `userId`; `work` runs with the body once it arrives, `sizeBytes`
   * long. Resolves with the task and the URL to PUT the body to.
   */
  async open(
    info: TaskStart,
    userId: string,
    sizeBytes: number,
    work: (body: Readable, t: TaskContext) => Promise<unknown>,
  ): Promise<UploadDto> {
    const id = randomBytes(24).toString('base64url');
    let arrive!: (body: Readable) => void;
    let expire!: (err: Error) => void;
    const body = new Promise<Readable>((resolve, reject) => {
      arrive = resolve;
      expire = reject;
    });
    const timer = setTimeout(() => {
      this.pending.delete(id);
      expire(new HttpError(408, `the upload did not start within ${this.waitMs / 1000} s of being opened`));
    }, this.waitMs);
    timer.unref();
    const { dto, done } = await this.tasks.start(info, async (t) => {
      t.progress(0, 'waiting for the upload');
      return work(await body, t);
    });
    this.pending.set(id, {
      userId,
      sizeBytes,
      arrive: (b) => {
        clearTimeout(timer);
        arrive(b);
      },
      done,
    });
    return { task: dto, uploadUrl: `/api/v1/uploads/${id}` };
  }

  /**
   * The body of upload `id`, once, from the user who opened it, exactly as long as declared.
   * Resolves with the finished task; a failed task is this request's error.
   */
  async receive(id: string, userId: string, lengthBytes: number, body: Readable): Promise<TaskDto> {
    const p = this.pending.get(id);
    if (!p || p.userId !== userId) throw notFound(`upload ${id} (it is used, expired or not yours)`);
    if (lengthBytes !== p.sizeBytes) {
      throw badRequest(
        `Content-Length: ${lengthBytes} bytes sent, but the upload was opened for ${p.sizeBytes}`,
        'Content-Length',
      );
    }
    this.pending.delete(id);
    p.arrive(body);
    return finished(p.done);
  }
}
