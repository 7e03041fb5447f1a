// File uploads in the server's two steps: a JSON POST opens the upload (202: its task and a
// one-time upload URL), then the raw file is PUT to that URL over XHR, because fetch cannot report
// upload progress. The caller follows the task by its id from the start. No Lit imports.
import type { TaskDto } from '@dto/tasks.js';
import type { UploadDto } from '@dto/uploads.js';
import { apiPost, errorFromBody, mutationHeaders, sessionEvents } from './client.js';

export interface UploadOptions {
  /** Bytes of the file sent so far. */
  onProgress?: (sent: number, total: number) => void;
  /** The upload's task, as soon as it is opened (before any byte is sent). */
  onTask?: (task: TaskDto) => void;
  signal?: AbortSignal;
}

/**
 * Opens an upload at `/api/v1${openPath}` with `open` (plus the file's size), then sends `file`;
 * resolves with the upload's task once it ended well, rejects with its error otherwise.
 */
export async function uploadFile(
  openPath: string,
  open: object,
  file: Blob,
  opts: UploadOptions = {},
): Promise<TaskDto> {
  const { task, uploadUrl } = await apiPost<UploadDto>(
    openPath,
    { ...open, sizeBytes: file.size },
    { signal: opts.signal },
  );
  opts.onTask?.(task);
  return sendFile(uploadUrl, file, opts);
}

/** PUTs `file` as the raw body to `url` (an upload URL) and resolves with the finished task. */
function sendFile(url: string, file: Blob, opts: UploadOptions): Promise<TaskDto> {
  return new Promise<TaskDto>((resolve, reject) => {
    const xhr = new XMLHttpRequest();
    xhr.open('PUT', url);
    xhr.withCredentials = true;
    xhr.setRequestHeader('Content-Type', 'application/octet-stream');
    xhr.setRequestHeader('Accept', 'application/json');
    for (const [k, v] of Object.entries(mutationHeaders())) xhr.setRequestHeader(k, v);
    xhr.upload.onprogress = (e) => opts.onProgress?.(e.loaded, e.lengthComputable ? e.total : file.size);
    xhr.onload = () => {
      if (xhr.status >= 200 && xhr.status < 300) {
        resolve(JSON.parse(xhr.responseText) as TaskDto);
        return;
      }
      if (xhr.status === 401) sessionEvents.dispatchEvent(new Event('expired'));
      reject(errorFromBody(xhr.status, xhr.responseText, xhr.statusText));
    };
    xhr.onerror = () => reject(new Error('The upload failed: the connection to the server was lost.'));
    xhr.onabort = () => reject(new DOMException('Upload cancelled', 'AbortError'));
    opts.signal?.addEventListener('abort', () => xhr.abort(), { once: true });
    xhr.send(file);
  });
}
