// Fetches an update bundle from a URL an admin gives (#25) into a file, bounded: http(s) only, no
// credentials in the URL, at most 5 redirects and only to http(s), never from https down to http;
// a size cap on Content-Length and on the bytes; a stall timeout and an overall deadline. Only a
// status code and byte counts of a response reach the caller, never its contents.
import { createWriteStream } from 'node:fs';
import { request as httpRequest } from 'node:http';
import type { IncomingMessage } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { HttpError } from '../errors.js';

export interface DownloadLimits {
  maxBytes: number;
  /** No byte (or no answer) for this long ends the download. */
  stallMs: number;
  /** The whole download, redirects included. */
  totalMs: number;
  /** PEM CA(s) trusted for https instead of the system's (an internal mirror's own CA). */
  ca?: string;
}

export interface DownloadProgress {
  receivedBytes: number;
  /** From Content-Length, when the server sent one. */
  totalBytes?: number;
}

const MAX_REDIRECTS = 5;
const REDIRECTS = new Set([301, 302, 303, 307, 308]);

/** Why a download stopped; its message is safe to show (no response contents). */
export class DownloadError extends Error {
  override readonly name = 'DownloadError';
}

/** The URL field of a download request: absolute http(s), no user:password, at most 2 KiB. */
export function parseBundleUrl(text: string): URL {
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    throw new HttpError(400, 'not an absolute URL', 'url');
  }
  checkUrl(url, (m) => new HttpError(400, m, 'url'));
  return url;
}

function checkUrl(url: URL, fail: (message: string) => Error): void {
  if (url.protocol !== 'https:' && url.protocol !== 'http:') {
    throw fail(`only http and https URLs are fetched, not ${url.protocol.replace(/:$/, '')}`);
  }
  if (url.username || url.password) throw fail('a URL with a user name or password is refused');
}

/** The URL as shown in status and logs (no query string: it may carry a token). */
export const displayUrl = (url: URL) => `${url.origin}${url.pathname}`;

function get(
  url: URL,
  limits: DownloadLimits,
  signal: AbortSignal,
  onStall: (e: DownloadError) => void,
): Promise<IncomingMessage> {
  const { stallMs } = limits;
  return new Promise((resolve, reject) => {
    const request = url.protocol === 'https:' ? httpsRequest : httpRequest;
    const req = request(url, {
      method: 'GET',
      signal,
      timeout: stallMs,
      ...(limits.ca && url.protocol === 'https:' ? { ca: limits.ca } : {}),
      headers: { 'user-agent': 'quantix-vdc-update', accept: 'application/octet-stream' },
    });
    // The socket's idle timeout covers the answer and every later read of the body.
    req.on('timeout', () => {
      const e = new DownloadError(`${url.host} sent nothing for ${stallMs / 1000} s`);
      onStall(e);
      req.destroy(e);
    });
    req.on('error', reject);
    req.on('response', resolve);
    req.end();
  });
}

/**
 * Downloads `url` into `file` (created 0600, replaced). Resolves with the byte count; rejects with
 * a DownloadError saying why (the caller removes the file).
 */
export async function downloadTo(
  url: URL,
  file: string,
  limits: DownloadLimits,
  onProgress: (p: DownloadProgress) => void,
  cancel?: AbortSignal,
): Promise<number> {
  const deadline = AbortSignal.timeout(limits.totalMs);
  const signal = cancel ? AbortSignal.any([cancel, deadline]) : deadline;
  let current = url;
  let stalled: DownloadError | undefined;
  try {
    for (let hops = 0; ; hops++) {
      const res = await get(current, limits, signal, (e) => (stalled = e));
      const status = res.statusCode ?? 0;
      if (REDIRECTS.has(status)) {
        res.resume();
        if (hops === MAX_REDIRECTS) throw new DownloadError(`more than ${MAX_REDIRECTS} redirects`);
        const location = res.headers.location;
        if (!location) throw new DownloadError(`${current.host} answered ${status} without a Location`);
        const next = new URL(location, current);
        checkUrl(next, (m) => new DownloadError(`redirect refused: ${m}`));
        if (current.protocol === 'https:' && next.protocol !== 'https:') {
          throw new DownloadError('redirect refused: from https down to http');
        }
        current = next;
        continue;
      }
      if (status !== 200) {
        res.resume();
        throw new DownloadError(`${current.host} answered ${status} ${res.statusMessage ?? ''}`.trim());
      }
      const declared = res.headers['content-length'] ? Number(res.headers['content-length']) : undefined;
      if (declared !== undefined && declared > limits.maxBytes) {
        res.destroy();
        throw new DownloadError(`the bundle is ${declared} bytes, more than the ${limits.maxBytes} allowed`);
      }
      let received = 0;
      const progress: DownloadProgress = {
        receivedBytes: 0,
        ...(declared !== undefined ? { totalBytes: declared } : {}),
      };
      onProgress(progress);
      const counter = new Transform({
        transform(chunk: Buffer, _enc, done) {
          received += chunk.length;
          if (received > limits.maxBytes) {
            done(new DownloadError(`the bundle grew past the ${limits.maxBytes} bytes allowed`));
            return;
          }
          progress.receivedBytes = received;
          onProgress(progress);
          done(null, chunk);
        },
      });
      await pipeline(res, counter, createWriteStream(file, { mode: 0o600 }));
      if (declared !== undefined && received !== declared) {
        throw new DownloadError(`the download ended after ${received} of ${declared} bytes`);
      }
      return received;
    }
  } catch (err) {
    if (err instanceof DownloadError) throw err;
    if (stalled) throw stalled;
    if (cancel?.aborted) throw new DownloadError('cancelled');
    if (deadline.aborted) throw new DownloadError(`not finished within ${limits.totalMs / 60_000} min`);
    const e = err as NodeJS.ErrnoException;
    if (e.code && /CERT|SIGNATURE|ALTNAME/.test(e.code)) {
      throw new DownloadError(`${current.host}: its certificate is not trusted (${e.code}); give its CA`);
    }
    throw new DownloadError(`${current.host}: ${e.code ?? e.message}`);
  }
}
