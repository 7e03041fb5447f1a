// `qx ova import FILE --host H --pool P`: the OVA streamed to the server (which streams it to the
// host for conversion) and the import task followed; the result is the new template.
import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import { basename } from 'node:path';
import { parseArgs } from 'node:util';
import type { UploadDto } from '../dto/uploads.js';
import type { TaskDto } from '../dto/tasks.js';
import type { ApiConnection } from './api-connection.js';
import { findHost } from './lookup.js';
import { formatBytes, type Output } from './output.js';
import { watchTask } from './task-watch.js';

export const OVA_REMOTE_USAGE = '  qx ova import FILE.ova --host H --pool P [--name NAME]   through the vDC server';

export async function ovaUploadCommand(api: ApiConnection, argv: string[], out: Output): Promise<void> {
  const { positionals, values } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: { host: { type: 'string' }, pool: { type: 'string' }, name: { type: 'string' } },
  });
  if (positionals.length !== 1 || !values.host || !values.pool) throw new Error(`usage:\n${OVA_REMOTE_USAGE}`);
  const file = positionals[0]!;
  const info = await stat(file);
  if (!info.isFile()) throw new Error(`${file} is not a file`);
  const host = await findHost(api, values.host);
  const open = await api.json<UploadDto>('POST', '/api/v1/templates/uploads', {
    hostId: host.id,
    pool: values.pool,
    name: values.name,
    fileName: basename(file).slice(0, 255),
    sizeBytes: info.size,
  });
  out.progress(`Uploading ${basename(file)} (${formatBytes(info.size)}) to ${host.name}, pool ${values.pool}`);
  await api.upload<TaskDto>(open.uploadUrl, createReadStream(file), info.size);
  const task = await watchTask(api, open.task.id, out);
  out.result(task, () =>
    out.line(`Imported: template ${(task.result as { templateId?: string } | null)?.templateId ?? '?'}`),
  );
}
