// What the agent wrote each volume as: its format and, for a qcow2 overlay, its backing volume,
// kept beside the volumes in <pool dir>/.qx-volume-formats.json (hidden; written atomically,
// removed with the last record).
// A guest can rewrite its raw disk's header (say, qcow2 backed by another volume in the pool),
// so for a recorded volume this record, not the content, decides. Unrecorded volumes (files that
// were already there, or made outside the agent) are sniffed and their chain checked as before.
import { lstat, readFile, unlink } from 'node:fs/promises';
import { basename, join } from 'node:path';
import { failedPrecondition } from '../errors.js';
import { writeFileAtomic } from '@quantix/proto/fs/atomic-file.js';
import { KeyedLock } from './keyed-lock.js';

export const VOLUME_FORMATS_FILE = '.qx-volume-formats.json';

export type RecordedFormat = 'raw' | 'qcow2' | 'iso';

export interface VolumeFormatRecord {
  format: RecordedFormat;
  /** qcow2 overlays: the name of the backing volume, in the same pool directory. */
  backing?: string;
}

interface FormatsFile {
  version: 1;
  volumes: Record<string, VolumeFormatRecord>;
}

const lock = new KeyedLock();

function recordProblem(r: unknown): string | undefined {
  if (typeof r !== 'object' || r === null) return 'not an object';
  const { format, backing } = r as Partial<Record<keyof VolumeFormatRecord, unknown>>;
  if (format !== 'raw' && format !== 'qcow2' && format !== 'iso') return `unknown format ${JSON.stringify(format)}`;
  if (
    backing !== undefined &&
    (format !== 'qcow2' || typeof backing !== 'string' || !backing || basename(backing) !== backing)
  ) {
    return 'a backing that is not a volume name of a qcow2 overlay';
  }
  return undefined;
}

/** The records of one pool directory; none when the file does not exist. Fails closed otherwise. */
async function load(dir: string): Promise<Record<string, VolumeFormatRecord>> {
  const file = join(dir, VOLUME_FORMATS_FILE);
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'ENOTDIR') return {};
    throw err;
  }
  let parsed: FormatsFile;
  try {
    parsed = JSON.parse(text) as FormatsFile;
  } catch {
    throw failedPrecondition(`volume format records ${file} are not JSON; fix or remove the file`);
  }
  if (parsed?.version !== 1 || typeof parsed.volumes !== 'object' || parsed.volumes === null) {
    throw failedPrecondition(`volume format records ${file}: unknown version ${String(parsed?.version)}`);
  }
  const volumes: Record<string, VolumeFormatRecord> = Object.create(null) as Record<string, VolumeFormatRecord>;
  for (const [name, record] of Object.entries(parsed.volumes)) {
    const problem = recordProblem(record);
    if (problem) throw failedPrecondition(`volume format records ${file}: ${name}: ${problem}`);
    volumes[name] = record;
  }
  return volumes;
}

async function update(dir: string, change: (volumes: Record<string, VolumeFormatRecord>) => boolean): Promise<void> {
  await lock.with(dir, async () => {
    const volumes = await load(dir);
    if (!change(volumes)) return;
    const file = join(dir, VOLUME_FORMATS_FILE);
    if (Object.keys(volumes).length === 0) {
      // No volume of the agent's left: the directory is as it was before.
      await unlink(file).catch((err: NodeJS.ErrnoException) => {
        if (err.code !== 'ENOENT') throw err;
      });
      return;
    }
    const body: FormatsFile = { version: 1, volumes };
    await writeFileAtomic(file, `${JSON.stringify(body, null, 2)}\n`);
  });
}

/**
 * Records what the agent just wrote as volume `name` in pool directory `dir` (replacing any
 * earlier record of that name). Only regular files are recorded: a volume that is a device
 * (a logical pool's LV) has no pool directory of the agent's to keep a record in.
 */
export async function recordVolumeFormat(dir: string, name: string, record: VolumeFormatRecord): Promise<void> {
  const problem = recordProblem(record);
  if (problem) throw new Error(`volume ${join(dir, name)}: cannot record ${problem}`);
  const st = await lstat(join(dir, name));
  if (!st.isFile()) return;
  await update(dir, (volumes) => {
    volumes[name] = record.backing ? { format: record.format, backing: record.backing } : { format: record.format };
    return true;
  });
}

/** Drops the record of volume `name` (after the volume was deleted); no record is fine. */
export async function forgetVolumeFormat(dir: string, name: string): Promise<void> {
  await update(dir, (volumes) => {
    if (!(name in volumes)) return false;
    delete volumes[name];
    return true;
  });
}

/** What the agent wrote volume `name` in `dir` as, or undefined when it has no record. */
export async function recordedVolumeFormat(dir: string, name: string): Promise<VolumeFormatRecord | undefined> {
  return (await load(dir))[name];
}

/**
 * Refuses a recorded qcow2 volume whose backing file (qemu-img's full backing filename, or none)
 * is not the backing volume the agent gave it. `label` names the volume ("volume pool1/a.qcow2").
 */
export function checkRecordedBacking(
  dir: string,
  record: VolumeFormatRecord,
  backingFile: string | undefined,
  label: string,
): void {
  const expected = record.backing ? join(dir, record.backing) : undefined;
  if (backingFile === expected) return;
  throw failedPrecondition(
    `${label}: its backing file is ${backingFile ?? 'none'}, but the agent created it ${expected ? `backed by ${expected}` : 'without a backing file'}; ` +
      'its header was changed outside the agent, so it is not used',
  );
}
