// File uploads over XHR, because fetch cannot report upload progress. Sends the raw file as the
// body (streamed by the server) with the CSRF header; reports bytes sent.
import { errorFromBody, mutationHeaders, sessionEvents } from './client.js';

export interface UploadOptions {
  onProgress?: (sent: number, total: number) => void;
  signal?: AbortSignal;
}

/** Sends `file` as the raw body to `/api/v1${path}` and resolves with the parsed JSON reply. */
export function uploadFile<T>(method: 'POST' | 'PUT', path: string, file: Blob, opts: UploadOptions = {}): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const xhr = new XMLHttpRequest();
    xhr.open(method, `/api/v1${path}`);
    xhr.withCredentials = true;
    xhr.setRequestHeader('Content-Type', 'application/octet-stream');
    xhr.setRequestHeader('Accept', 'application/json');
    for (const [k, v] of Object.entries(mutationHeaders())) xhr.setRequestHeader(k, v);
    xhr.upload.onprogress = (e) => opts.onProgress?.(e.loaded, e.lengthComputable ? e.total : file.size);
    xhr.onload = () => {
      if (xhr.status >= 200 && xhr.status < 300) {
        resolve((xhr.responseText ? JSON.parse(xhr.responseText) : undefined) as T);
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
