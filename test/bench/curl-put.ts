// Bodies sent with curl, for the benchmarks (#26): native TLS, as a browser's, so that the sender's
// own cost on this machine's two cores is no larger than a browser's would be (Node's https client
// costs more, and that cost counted against the server in the same run).
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import type { ApiClient, ApiResponse } from '../../server/src/test-support/api-client.js';
import type { UploadDto } from '../../server/src/dto/uploads.js';

/** PUTs `file` to `url` with curl (trusting `caFile`); the status and the answer's body. */
export async function curlPut(url: string, file: string, caFile: string, headers: string[] = []) {
  const args = ['-sS', '--http1.1', '--cacert', caFile, '-T', file, '-w', '\n%{http_code}'];
  for (const h of headers) args.push('-H', h);
  const { stdout } = await promisify(execFile)('curl', [...args, url], { maxBuffer: 1 << 20 });
  const at = stdout.lastIndexOf('\n');
  return { status: Number(stdout.slice(at + 1)), text: stdout.slice(0, at) };
}

/**
 * An upload as the UI makes it: POST `open` to `openPath` with `api`'s session (202: the upload
 * URL), then curl PUTs `file` there with the same session; `caFile` holds the server's certificate.
 */
export async function curlUpload(
  api: ApiClient,
  openPath: string,
  open: Record<string, unknown> & { sizeBytes: number },
  file: string,
  caFile: string,
): Promise<{ status: number; text: string }> {
  const opened: ApiResponse<UploadDto> = await api.request<UploadDto>('POST', openPath, { body: open });
  if (opened.status !== 202) return opened;
  return curlPut(new URL(opened.json.uploadUrl, api.base).href, file, caFile, [
    `Cookie: ${api.cookie}`,
    `X-CSRF-Token: ${api.csrf}`,
    'Content-Type: application/octet-stream',
  ]);
}
